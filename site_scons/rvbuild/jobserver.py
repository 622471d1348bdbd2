"""One GNU make jobserver for the whole build (make 4.3's pipe protocol), so that all the makes
scons runs side by side share its -j, and the machine never runs more jobs than -j says.

The pipe holds one token per job. Every command rvbuild runs holds one while it runs (for a
make, the job it counts as its own); a make takes more from the same pipe for its parallel
jobs and gives them back as they end.
"""

import contextlib
import os
import select

from rvbuild import interrupt

_tokens = None  # (read end, write end, a non-blocking read end of our own, jobs)


def start(jobs):
    """Fill the pipe for `jobs` jobs; call it once, before the build (SConstruct)."""
    global _tokens
    read_end, write_end = os.pipe()
    os.write(write_end, b"+" * jobs)
    # A second open of the same pipe, non-blocking for us alone (the makes expect a blocking
    # one): waiting for a token can then notice an interrupt.
    own_read_end = os.open(f"/proc/self/fd/{read_end}", os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    _tokens = (read_end, write_end, own_read_end, jobs)


def _take():
    _, _, own_read_end, _ = _tokens
    while True:
        interrupt.check("waiting for a job slot")
        select.select([own_read_end], [], [], 0.2)
        try:
            token = os.read(own_read_end, 1)
        except BlockingIOError:
            continue  # another process took it first
        if token:
            return token


@contextlib.contextmanager
def slot():
    """Hold one job slot while the body runs; yields what a command started in it needs:
    {"env": {"MAKEFLAGS": ...}, "pass_fds": ...} (empty before start())."""
    if _tokens is None:
        yield {"env": {}, "pass_fds": ()}
        return
    read_end, write_end, _, jobs = _tokens
    token = _take()
    try:
        yield {
            "env": {"MAKEFLAGS": f"-j{jobs} --jobserver-auth={read_end},{write_end}"},
            "pass_fds": (read_end, write_end),
        }
    finally:
        os.write(write_end, token)


def spawn_in_slot(spawn):
    """SCons' SPAWN, holding a job slot: the commands SCons runs itself (its C builders) count too."""

    def spawn_holding_a_slot(sh, escape, cmd, args, env):
        with slot():
            return spawn(sh, escape, cmd, args, env)

    return spawn_holding_a_slot
