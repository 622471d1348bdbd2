"""SCons tool: pinned sources, fetched into the shared cache and unpacked once for all variants.

env.FetchSource(source) -> the file in the download cache (dl=): an archive, verified by its sha256,
or for a git source, the pinned commit's tree as a tar made from a bare clone kept beside it.
Each is part of the `fetch` alias: `scons fetch` downloads everything the build needs, and
builds nothing, so that the build can then run offline.

env.SourceTree(source, name, subdir) -> Tree: the unpacked tree build/src/<name> (of the source
or of the alternative fetch.choose takes), with
every *.patch of the component's directory applied in name order, made of hard links to
the same tree kept once in the cache's unpacked/ (rvbuild.unpack),
and the nodes other builders depend on: its anchor file and a Value naming exactly
what was unpacked (sha256 or commit, subdir, patches). A tree edited since it was unpacked
stops the build, naming what was edited and how to build it: as <component>_src=.

A user working on a component points it at their own tree with <component>_src=DIR: then
the nodes are one Value holding the tree's fingerprint,
so an edit there reruns the component's make, and nothing is hashed file by file; the
build's summary names the files changed since the last build (kept in build/.local-trees/).
"""

import hashlib
import os
from dataclasses import dataclass

from build_action import action, label
from rvbuild import BuildError, fetch, hosttools, sharing, unpack
from rvbuild import fingerprint as listing
from rvbuild.commands import DIR, PATH, Command, Option
from rvbuild.explain import SUMMARY

COMMANDS = [
    Command(
        "fetch",
        "download and verify every source the variant(s) need, build nothing (a build afterwards needs no network)",
    )
]
OPTIONS = [
    Option("dl", "download cache, shared by all variants", "dl", kind=PATH),
    Option(
        "<component>_src",
        "build <component> (the kernel, a firmware or a package) from this source tree of yours instead",
        kind=DIR,
        each=("kernel", "firmware", "package"),
    ),
]
_trees = {}
_loaded_into = _cache_env = None  # the environment this tool was loaded into; its clone


@dataclass
class Tree:
    path: str
    nodes: list
    unpack: dict = None  # how it was unpacked: rvbuild.unpack.unpack's arguments after the archive
    source: object = None  # the Source it was unpacked from: one of its alternatives, maybe

    def content(self):
        """What an unpacked tree holds (sha256 or commit, patches); "" for the user's own tree."""
        return self.unpack["key"] if self.unpack else ""


def _fetch(target, source, env, wanted):
    fetch.fetch(wanted, target[0].dir.abspath, progress=env["progress"])


def _fetch_git(target, source, env, wanted):
    hosttools.require("git")
    fetch.fetch_git_archive(wanted, target[0].dir.abspath)


def _unpack(target, source, env, sha256, how, local_option):
    if sha256:
        fetch.verify(source[0].abspath, sha256)  # the cached file may have changed since
    try:
        unpack.unpack(source[0].abspath, target[0].dir.abspath, progress=env["progress"], owner=local_option, **how)
    except unpack.TreeEdited as edited:
        raise BuildError(_edited_tree(edited, local_option)) from None


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


def _cache_environment():
    """The environment of the download cache's files and the unpacked trees: they are written once,
    by rename, so their timestamp is a safe and cheap signature. A clone of the environment this
    tool was loaded into, with all its tools (not a component's: no cache_dir= for downloads)."""
    global _cache_env
    if _cache_env is None:
        _cache_env = _loaded_into.Clone()
        _cache_env.Decider(SUMMARY.decider(lambda dependency, *args: dependency.changed_timestamp_then_content(*args)))
    return _cache_env


def FetchSource(env, source):
    """The cached file of `source` (a Source or a GitSource), fetched and verified when missing."""
    archive = env.File(os.path.join(env["dl"], source.filename))
    if not archive.has_builder():
        cache_env = _cache_environment()
        if isinstance(source, fetch.GitSource):
            pinned, fetch_action = f"commit={source.commit}", action(_fetch_git, label(cache_env, "GIT"), wanted=source)
        else:
            pinned, fetch_action = f"sha256={source.sha256}", action(_fetch, label(cache_env, "FETCH"), wanted=source)
        cache_env.Command(archive, env.Value(f"{source.filename} {pinned}"), fetch_action)
        env.Precious(archive)
        env.NoClean(archive)
        env.Alias("fetch", archive)
    return archive


class _Identity:
    """What a tree of the user's own holds, as a Value: its fingerprint is taken (the listing read)
    only when SCons first needs it, after the components are read. `edited`: its files changed
    since the last build listed it (rvbuild.explain names them)."""

    def __init__(self, path, checkout, kept):
        self.path, self.checkout, self.kept, self.text, self.edited = path, checkout, kept, None, []

    def __str__(self):
        if self.text is None:
            digest, changed = listing.changed_files(self.path, self.kept)
            paths = [os.path.join(self.path, name) for name in changed]
            self.edited = [path.removeprefix(self.checkout.rstrip("/") + "/") for path in paths]
            self.text = sharing.checkout_relative(f"local tree {self.path} {digest}", self.checkout)
        return self.text


def LocalTree(env, path):
    path = env.Dir(path).abspath
    kept = env.File(f"#build/.local-trees/{hashlib.sha256(path.encode()).hexdigest()[:16]}").abspath
    identity = env.Value(_Identity(path, env.Dir("#").abspath, kept), name=f"the tree {path}")
    return Tree(path, [identity])


def _patches(env):
    component_dir = env.Dir(".").srcnode()
    return [component_dir.File(name) for name in sorted(os.listdir(component_dir.abspath)) if name.endswith(".patch")]


def SourceTree(env, source, name, subdir="", anchor="Makefile", inner=None, generate=()):
    """`source` is a Source (an archive: `subdir` of it, `inner` tarball of a .deb) or a GitSource;
    `generate`: a command run in the tree once unpacked and patched (["autoreconf", "-fi"])."""
    local = env.get(f"{env.get('COMPONENT')}_src")
    if local:
        return LocalTree(env, local)
    tree_dir = env.Dir("$SRC_DIR").Dir(name)
    if tree_dir.abspath in _trees:
        return _trees[tree_dir.abspath]
    if isinstance(source, fetch.Source):
        source = fetch.choose(source, env["dl"])
        subdir = source.subdir or subdir
    patches = _patches(env)
    git = ["git"] if isinstance(source, fetch.GitSource) else []
    hosttools.require(*git, *unpack.host_tools(source.filename, inner, patches, list(generate)))
    patch_digests = [fetch.sha256_of(patch.abspath) for patch in patches]
    anchor_node = tree_dir.File(anchor)
    record_node = tree_dir.dir.File(os.path.basename(unpack.record_path(tree_dir.abspath)))
    if isinstance(source, fetch.GitSource):
        identity = env.Value(" ".join([f"git {source.commit}", *patch_digests, *generate]))
        sha256, subdir, inner = None, source.name, None
    else:
        identity = env.Value(" ".join([source.sha256, subdir, inner or "", *patch_digests, *generate]))
        sha256 = source.sha256
    # rvbuild.unpack.unpack's arguments after the archive and the tree
    unpacked = dict(
        subdir=subdir,
        inner=inner,
        patches=[patch.abspath for patch in patches],
        store=os.path.join(env["dl"], "unpacked"),
        key=identity.value,
        generate=list(generate),
    )
    # An edited tree reruns the unpack, which stops the build and says what was edited. The search
    # runs while scons reads on, and is read when scons first needs the Value.
    edits = env.Value(unpack.edit_search(tree_dir.abspath), name=f"edits of {name}")
    cache_env = _cache_environment()
    cache_env.Command(
        [anchor_node, record_node],
        [FetchSource(env, source), identity, env.Value(unpack.STORE_LAYOUT), edits] + patches,
        action(
            _unpack,
            label(cache_env, "UNPACK", "$TARGET.dir"),
            sha256=sha256,
            how=unpacked,
            local_option=f"{env['COMPONENT']}_src",
        ),
    )
    env.NoClean(anchor_node, record_node)
    env.Precious(anchor_node, record_node)  # the unpack looks at the tree before it replaces it
    tree = _trees[tree_dir.abspath] = Tree(tree_dir.abspath, [anchor_node, identity], unpacked, source)
    return tree


def generate(env):
    global _loaded_into
    _loaded_into = env
    env["dl"] = env.Dir(env["dl"]).abspath  # read in the components' SConscripts, from their own folders
    env.SetDefault(SRC_DIR="#build/src")
    for key, value in env.Dictionary().items():  # trees of the user's own: listed while scons reads on
        if key.endswith("_src") and value and isinstance(value, str):
            env[key] = env.Dir(value).abspath  # as given from here, not from a component's folder
            listing.start(env[key])
    env.Alias("fetch", [])  # even when every component is a tree of the user's own
    env.AddMethod(FetchSource)
    env.AddMethod(SourceTree)
    env.AddMethod(LocalTree)


def exists(env):
    return True
