"""Work shared between checkouts and machines: ccache's remote storage (ccache_remote=), compiles
spread over distcc hosts (distcc_hosts=), and signatures that do not name the checkout's path, so
that SCons' CacheDir (cache_dir=) serves a clone of the same layout anywhere."""

import re

# What a distcc host without /LIMIT gets, as distcc(1) says: four jobs, two for localhost.
DEFAULT_SLOTS = 4
LOCALHOST_SLOTS = 2
LIMIT = re.compile(r"/([0-9]+)")


def distcc_slots(hosts):
    """How many compiles distcc may run at once over `hosts` (DISTCC_HOSTS' syntax)."""
    slots = 0
    for host in hosts.split():
        if host.startswith("--"):  # --randomize, --localslots=N: options, not hosts
            continue
        limit = LIMIT.search(host)
        name = re.split(r"[:/,]", host.lstrip("@"), maxsplit=1)[0]
        slots += int(limit[1]) if limit else LOCALHOST_SLOTS if name == "localhost" else DEFAULT_SLOTS
    return slots


def default_jobs(cpus, hosts):
    """scons' -j when none is given: one per core, or as many as the distcc hosts take, if more."""
    return max(cpus, distcc_slots(hosts)) if hosts else cpus


def compile_environment(remote="", hosts=""):
    """The environment that sends compiles through ccache to its remote storage and to distcc
    (distcc's plain mode: it preprocesses here and ships the result)."""
    env = {}
    if remote:
        env["CCACHE_REMOTE_STORAGE"] = remote
    if hosts:
        env.update(CCACHE_PREFIX="distcc", DISTCC_HOSTS=hosts)
    return env


def checkout_relative(text, checkout):
    """`text` with the checkout's path written as SCons' `#`: what goes into a signature, so that
    a clone at another path, of the same layout, has the same signatures."""
    return text.replace(checkout.rstrip("/") + "/", "#/")
