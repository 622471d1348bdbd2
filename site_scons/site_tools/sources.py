"""SCons tool: pinned sources, fetched into the shared cache and unpacked once for all variants.

env.SourceTree(source, name, subdir) -> Tree: the unpacked tree build/src/<name>, with
every *.patch of the component's directory applied in name order,
and the nodes other builders depend on: its anchor file and a Value naming exactly
what was unpacked (sha256, subdir, patches).

A user working on a component points it at their own tree with <component>_src=DIR
(env["LOCAL_SRC"]): then the nodes are one Value holding the tree's fingerprint,
so an edit there reruns the component's make, and nothing is hashed file by file.
"""
import os
from dataclasses import dataclass

from rvbuild import fetch, hosttools, unpack
from rvbuild.actions import action
from rvbuild.fingerprint import fingerprint

_trees = {}


@dataclass
class Tree:
    path: str
    nodes: list


def _fetch(target, source, env):
    fetch.fetch(env["RV_SOURCE"], os.path.dirname(target[0].abspath), progress=env["PROGRESS"])


def _unpack(target, source, env):
    spec = env["RV_UNPACK"]
    fetch.verify(source[0].abspath, env["RV_SOURCE"].sha256)  # the cached file may have changed since
    unpack.unpack(source[0].abspath, target[0].dir.abspath, spec["subdir"], spec["inner"],
                  [patch.abspath for patch in source[2:]], progress=env["PROGRESS"])


def _unpack_git(target, source, env):
    hosttools.require("git")
    git = env["RV_SOURCE"]
    repo = fetch.fetch_git(git, env.subst("$DL_DIR"))
    unpack.unpack_git(repo, git.commit, target[0].dir.abspath, [patch.abspath for patch in source[1:]])


def FetchSource(env, source):
    """The cached file of `source`, fetched and verified when missing."""
    archive = env.File(os.path.join(env.subst("$DL_DIR"), source.filename))
    if not archive.has_builder():
        pinned = env.Value(f"{source.filename} sha256={source.sha256}")
        env["RV_CACHE_ENV"].Command(archive, pinned, action(_fetch, "FETCH    $TARGET"),
                                    RV_SOURCE=source, PROGRESS=env["PROGRESS"])
        env.Precious(archive)
        env.NoClean(archive)
    return archive


def LocalTree(env, path):
    path = env.Dir(path).abspath
    return Tree(path, [env.Value(f"local tree {path} {fingerprint(path)}")])


def _patches(env):
    component_dir = env.Dir(".").srcnode()
    return [component_dir.File(name) for name in sorted(os.listdir(component_dir.abspath))
            if name.endswith(".patch")]


def SourceTree(env, source, name, subdir="", anchor="Makefile", inner=None):
    """`source` is a Source (an archive: `subdir` of it, `inner` tarball of a .deb) or a GitSource."""
    local = env.get("LOCAL_SRC", {}).get(env.get("COMPONENT"))
    if local:
        return LocalTree(env, local)
    tree_dir = env.Dir("$SRC_DIR").Dir(name)
    if tree_dir.abspath in _trees:
        return _trees[tree_dir.abspath]
    patches = _patches(env)
    patch_digests = [fetch.sha256_of(patch.abspath) for patch in patches]
    anchor_node = tree_dir.File(anchor)
    if isinstance(source, fetch.GitSource):
        identity = env.Value(" ".join([f"git {source.commit}"] + patch_digests))
        env["RV_CACHE_ENV"].Command(anchor_node, [identity] + patches, action(_unpack_git, "GIT      $TARGET.dir"),
                                    RV_SOURCE=source)
    else:
        identity = env.Value(" ".join([source.sha256, subdir, inner or ""] + patch_digests))
        env["RV_CACHE_ENV"].Command(anchor_node, [FetchSource(env, source), identity] + patches,
                                    action(_unpack, "UNPACK   $TARGET.dir"),
                                    RV_UNPACK={"subdir": subdir, "inner": inner}, RV_SOURCE=source,
                                    PROGRESS=env["PROGRESS"])
    env.NoClean(anchor_node)
    tree = _trees[tree_dir.abspath] = Tree(tree_dir.abspath, [anchor_node, identity])
    return tree


def generate(env):
    env.SetDefault(DL_DIR="#dl", SRC_DIR="#build/src", PROGRESS=True)
    # Cached files are written once, by rename: their timestamp is a safe and cheap signature.
    env["RV_CACHE_ENV"] = env.Clone()
    env["RV_CACHE_ENV"].Decider("content-timestamp")
    env.AddMethod(FetchSource)
    env.AddMethod(SourceTree)
    env.AddMethod(LocalTree)


def exists(env):
    return True
