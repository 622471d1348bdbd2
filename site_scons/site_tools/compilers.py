"""SCons tool: how compiles run. One GNU make jobserver for every make of the build (-j, or as
many jobs as the distcc hosts take), ccache in front of the compilers (ccache=), its remote
storage shared by a team (ccache_remote=), compiles spread over distcc hosts (distcc_hosts=), and
`scons ccache-stats`. The compilers themselves: rvbuild.toolchain.compile_with and host_compiler.
"""

import os
import subprocess
import sys

import SCons.Script

from build_action import action
from rvbuild import BuildError, buildlock, ccache_stats, hosttools, jobserver, sharing
from rvbuild import options as checked
from rvbuild.commands import BOOL, Command, Option
from rvbuild.explain import SUMMARY

COMMANDS = [
    Command("ccache-stats", "what ccache did in the last build (hits and misses, ccache's own view)", waits=False),
]
OPTIONS = [
    Option("ccache", "compile through ccache (the kernel, firmware and the GNU-toolchain userland)", True, kind=BOOL),
    Option(
        "ccache_remote",
        "ccache's remote storage, shared by a team: redis://HOST:PORT or http://HOST:PORT/PATH",
        check=checked.ccache_remote,
    ),
    Option(
        "distcc_hosts",
        "spread compiles over these distcc hosts (HOST[/JOBS] ..., through ccache); without -j, as many jobs "
        "as the hosts take",
        check=checked.distcc_hosts,
    ),
]


def _show_ccache_stats(target, source, env):
    hosttools.require("ccache")
    return subprocess.call(["ccache", "--show-log-stats"])


def generate(env):
    if (env["ccache_remote"] or env["distcc_hosts"]) and not env["ccache"]:
        raise BuildError("ccache_remote= and distcc_hosts= work through ccache; leave out ccache=0")
    if env["distcc_hosts"]:
        hosttools.require("distcc")
    # Independent components (the kernel, BusyBox, Dropbear) build side by side unless -j says
    # otherwise, and all their makes share those jobs.
    if SCons.Script.GetOption("num_jobs") == 1 and "-j" not in " ".join(sys.argv):
        SCons.Script.SetOption("num_jobs", sharing.default_jobs(os.cpu_count(), env["distcc_hosts"]))
    jobserver.start(SCons.Script.GetOption("num_jobs"))
    env["SPAWN"] = jobserver.spawn_in_slot(env["SPAWN"])
    # ccache sees paths relative to the checkout, so that another checkout of it hits the same cache;
    # each compile notes what ccache did in the stats log, which every build starts empty.
    stats_log = env.File("#build/.ccache-stats.log").abspath
    ccache = dict(CCACHE_BASEDIR=env.Dir("#").abspath, CCACHE_NOHASHDIR="1", CCACHE_STATSLOG=stats_log)
    # A kernel compile reads hundreds of headers: ccache remembers their hashes by inode between compiles.
    if not {"CCACHE_INODECACHE", "CCACHE_NOINODECACHE"} & set(os.environ):
        ccache["CCACHE_INODECACHE"] = "1"
    ccache.update(sharing.compile_environment(env["ccache_remote"], env["distcc_hosts"]))
    os.environ.update(ccache)
    env["ENV"].update(ccache)
    if buildlock.held():
        open(stats_log, "w").close()
        SUMMARY.closing_lines.append(lambda: ccache_stats.line(stats_log))
    env.AlwaysBuild(env.Alias("ccache-stats", [], action(_show_ccache_stats)))


def exists(env):
    return True
