"""SCons tool: what the terminal shows of a build. Every action, as it starts, is noted with the
reason it runs; on a terminal (progress=1), each running component draws a bar of its compiles
(rvbuild.progress); the build ends with one line saying what was rebuilt and why (explain=1: the
reason under every step).

It also decides which stored hashes SCons may reuse (max_drift, times below a second)."""

import atexit
import sys

import SCons.Node.FS
import SCons.Script

from rvbuild import diskspace, progress
from rvbuild.commands import BOOL, Option
from rvbuild.explain import SUMMARY

OPTIONS = [
    Option(
        "progress",
        "progress bars: downloads, unpacking, and each component's compiles against its last build's, with the "
        "time left (default: on a terminal)",
        sys.stderr.isatty(),
        kind=BOOL,
    ),
    Option("explain", "say in full why each target is rebuilt", False, kind=BOOL),
]

_hashed_this_run = set()


def _changed_content(dependency, target, prev_ni, repo_node):
    # generate() lets SCons reuse a built file's stored hash while its time has not changed
    # (max_drift): hashing the large files our builders write (images, vmlinux) was most of a null
    # build. A file a user may edit is hashed anew all the same, once a run: a rewrite within one
    # tick of the clock still counts.
    if isinstance(dependency, SCons.Node.FS.File) and not dependency.has_builder():
        if dependency not in _hashed_this_run:
            dependency.get_ninfo().csig = dependency.get_content_hash()
            _hashed_this_run.add(dependency)
        return getattr(prev_ni, "csig", None) != dependency.get_ninfo().csig
    return dependency.changed_content(target, prev_ni, repo_node)


def _dependencies_added_and_removed(node):
    """The files `node` depends on now and did not when last built, and the other way round (a Value
    whose content changed would look like one of each: the deciders say it changed)."""

    def files(binfo):
        return [str(n) for n in binfo.bsources + binfo.bdepends + binfo.bimplicit if isinstance(n, SCons.Node.FS.Base)]

    old = node.get_stored_info().binfo
    try:
        old.prepare_dependencies()
        before = files(old)
    except AttributeError:
        return (), ()
    now = files(node.get_binfo())
    return [path for path in now if path not in before], [path for path in before if path not in now]


def generate(env):
    summary = SUMMARY

    def print_and_record(line, target, source, env):
        before = getattr(target[0].get_stored_info().binfo, "bactsig", None)
        steps_changed = before is not None and before != target[0].get_binfo().bactsig
        added, removed = _dependencies_added_and_removed(target[0]) if before is not None else ((), ())
        retrieved = line.startswith("Retrieved `")  # SCons' words for a copy from cache_dir=
        why = summary.record(target[0], before is not None, steps_changed, added, removed, retrieved)
        # One write per line: with -j, actions start from several threads.
        progress.say(line + (f"\n         because {why}" if env.get("explain") else ""))

    env["PRINT_CMD_LINE_FUNC"] = print_and_record
    progress.configure(env["progress"], env.File("#build/.compiles.json").abspath)
    SCons.Script.SetOption("max_drift", 1)  # a file untouched for a second keeps its stored hash...
    # ..."untouched" to the microsecond, not in SCons' whole seconds: a built file replaced within
    # the second it was written does not keep the old file's hash.
    SCons.Node.FS.Base.getmtime = lambda node: node.stat() and node.stat().st_mtime
    env.Decider(summary.decider(_changed_content))
    if not SCons.Script.GetOption("help") and not SCons.Script.GetOption("clean"):
        atexit.register(_print_closing_line, summary)


def _print_closing_line(summary):
    failures = SCons.Script.GetBuildFailures()
    line = summary.line([str(failure.node) for failure in failures])
    if line:
        print(line, flush=True)
        # SCons' own builders (a program's compile and link) leave what the compiler said on stderr.
        full = diskspace.full_disk_message([f.node.abspath for f in failures if hasattr(f.node, "abspath")])
        if full:
            print(f"rvbuild: {full}", flush=True)
        for more in filter(None, (closing() for closing in summary.closing_lines)):
            print(more, flush=True)


def exists(env):
    return True
