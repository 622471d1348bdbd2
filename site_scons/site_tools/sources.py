"""SCons tool: pinned sources, fetched into the shared cache and unpacked once for all variants.

env.FetchSource(source) -> the file in the cache ($DL_DIR): an archive, verified by its sha256,
or for a git source, the pinned commit's tree as a tar made from a bare clone kept beside it.
Each is part of the `fetch` alias: `scons fetch` downloads everything the build needs, and
builds nothing, so that the build can then run offline.

env.SourceTree(source, name, subdir) -> Tree: the unpacked tree build/src/<name>, with
every *.patch of the component's directory applied in name order, made of hard links to
the same tree kept once in $DL_DIR/unpacked/ (rvbuild.unpack),
and the nodes other builders depend on: its anchor file and a Value naming exactly
what was unpacked (sha256 or commit, subdir, patches). A tree edited since it was unpacked
stops the build, naming what was edited and how to build it: as <component>_src=.

A user working on a component points it at their own tree with <component>_src=DIR
(env["LOCAL_SRC"]): then the nodes are one Value holding the tree's fingerprint,
so an edit there reruns the component's make, and nothing is hashed file by file.
"""

import os
from dataclasses import dataclass

from build_action import action, label
from rvbuild import BuildError, fetch, hosttools, sharing, unpack
from rvbuild.fingerprint import fingerprint

_trees = {}


@dataclass
class Tree:
    path: str
    nodes: list
    unpack: dict = None  # how it was unpacked: rvbuild.unpack.unpack's arguments after the archive

    def content(self):
        """What an unpacked tree holds (sha256 or commit, patches); "" for the user's own tree."""
        return self.unpack["key"] if self.unpack else ""


def _fetch(target, source, env):
    fetch.fetch(env["RV_SOURCE"], target[0].dir.abspath, progress=env["PROGRESS"])


def _fetch_git(target, source, env):
    hosttools.require("git")
    fetch.fetch_git_archive(env["RV_SOURCE"], target[0].dir.abspath)


def _unpack(target, source, env):
    if env["RV_SHA256"]:
        fetch.verify(source[0].abspath, env["RV_SHA256"])  # the cached file may have changed since
    try:
        unpack.unpack(source[0].abspath, target[0].dir.abspath, progress=env["PROGRESS"], **env["RV_UNPACK"])
    except unpack.TreeEdited as edited:
        raise BuildError(_edited_tree(edited, env["RV_LOCAL_OPTION"])) from None


def _edited_tree(edited, local_option):
    tree = os.path.relpath(edited.tree)
    paths = [os.path.normpath(os.path.join(tree, path)) for path in edited.paths]
    files = [path for path in paths if not os.path.isdir(path)]
    what = f"{files[0]} was edited" if files else f"{paths[0]}/ had files added, removed or renamed"
    more = f" (and {len(paths) - 1} more)" if len(paths) > 1 else ""
    reached = "; the download cache's copy changed too, and is unpacked anew" if edited.store_dropped else ""
    return (
        f"{what}{more}, but {tree} is rvbuild's copy of the verified sources{reached}: to build your "
        f"edit, copy the tree (cp -a {tree} DIR) and pass {local_option}=DIR; to drop it, delete {tree}"
    )


def FetchSource(env, source):
    """The cached file of `source` (a Source or a GitSource), fetched and verified when missing."""
    archive = env.File(os.path.join(env.subst("$DL_DIR"), source.filename))
    if not archive.has_builder():
        if isinstance(source, fetch.GitSource):
            pinned, fetch_action = f"commit={source.commit}", action(_fetch_git, label(env["RV_CACHE_ENV"], "GIT"))
        else:
            pinned, fetch_action = f"sha256={source.sha256}", action(_fetch, label(env["RV_CACHE_ENV"], "FETCH"))
        env["RV_CACHE_ENV"].Command(
            archive, env.Value(f"{source.filename} {pinned}"), fetch_action, RV_SOURCE=source, PROGRESS=env["PROGRESS"]
        )
        env.Precious(archive)
        env.NoClean(archive)
        env.Alias("fetch", archive)
    return archive


def LocalTree(env, path):
    path = env.Dir(path).abspath
    identity = sharing.checkout_relative(f"local tree {path} {fingerprint(path)}", env.Dir("#").abspath)
    return Tree(path, [env.Value(identity)])


def _patches(env):
    component_dir = env.Dir(".").srcnode()
    return [component_dir.File(name) for name in sorted(os.listdir(component_dir.abspath)) if name.endswith(".patch")]


def SourceTree(env, source, name, subdir="", anchor="Makefile", inner=None):
    """`source` is a Source (an archive: `subdir` of it, `inner` tarball of a .deb) or a GitSource."""
    local = env.get("LOCAL_SRC", {}).get(env.get("COMPONENT"))
    if local:
        return LocalTree(env, local)
    tree_dir = env.Dir("$SRC_DIR").Dir(name)
    if tree_dir.abspath in _trees:
        return _trees[tree_dir.abspath]
    patches = _patches(env)
    git = ["git"] if isinstance(source, fetch.GitSource) else []
    hosttools.require(*git, *unpack.host_tools(source.filename, inner, patches))
    patch_digests = [fetch.sha256_of(patch.abspath) for patch in patches]
    anchor_node = tree_dir.File(anchor)
    record_node = tree_dir.dir.File(os.path.basename(unpack.record_path(tree_dir.abspath)))
    if isinstance(source, fetch.GitSource):
        identity = env.Value(" ".join([f"git {source.commit}"] + patch_digests))
        sha256, subdir, inner = None, source.name, None
    else:
        identity = env.Value(" ".join([source.sha256, subdir, inner or ""] + patch_digests))
        sha256 = source.sha256
    # rvbuild.unpack.unpack's arguments after the archive and the tree
    unpacked = dict(
        subdir=subdir,
        inner=inner,
        patches=[patch.abspath for patch in patches],
        store=env.Dir("$DL_DIR").Dir("unpacked").abspath,
        key=identity.value,
    )
    # An edited tree reruns the unpack, which stops the build and says what was edited. The search
    # runs while scons reads on, and is read when scons first needs the Value.
    edits = env.Value(unpack.EditSearch(tree_dir.abspath), name=f"edits of {name}")
    env["RV_CACHE_ENV"].Command(
        [anchor_node, record_node],
        [FetchSource(env, source), identity, env.Value(unpack.STORE_LAYOUT), edits] + patches,
        action(_unpack, label(env["RV_CACHE_ENV"], "UNPACK", "$TARGET.dir")),
        RV_UNPACK=unpacked,
        RV_SHA256=sha256,
        RV_LOCAL_OPTION=f"{env['COMPONENT']}_src",
        PROGRESS=env["PROGRESS"],
    )
    env.NoClean(anchor_node, record_node)
    env.Precious(anchor_node, record_node)  # the unpack looks at the tree before it replaces it
    tree = _trees[tree_dir.abspath] = Tree(tree_dir.abspath, [anchor_node, identity], unpacked)
    return tree


def generate(env):
    env.SetDefault(DL_DIR="#dl", SRC_DIR="#build/src", PROGRESS=True)
    env.Alias("fetch", [])  # even when every component is a tree of the user's own
    # Cached files are written once, by rename: their timestamp is a safe and cheap signature.
    env["RV_CACHE_ENV"] = env.Clone()
    env["RV_CACHE_ENV"].Decider("content-timestamp")
    env.AddMethod(FetchSource)
    env.AddMethod(SourceTree)
    env.AddMethod(LocalTree)


def exists(env):
    return True
