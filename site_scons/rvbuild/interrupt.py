"""Notice, from any thread, that scons was told to stop (SIGINT, SIGTERM, SIGHUP).

While targets build, SCons' own handlers for these signals only keep it from starting new
actions; the running ones would go on to their end (a kernel make: minutes). SCons installs
those handlers when the build starts and restores the previous ones after it, so ours would
not be called. Instead, `watch()` has Python write the number of every signal it handles to
a pipe (signal.set_wakeup_fd, which is independent of the handlers), and `requested()` reads
that pipe wherever an action waits: rvbuild.run stops the commands it runs, and downloads and
unpacking stop between chunks, by raising Interrupted. SCons then reports the build as
interrupted and exits with status 2.
"""

import os
import signal
import threading

from rvbuild import BuildError

STOP_SIGNALS = frozenset({signal.SIGINT, signal.SIGTERM, signal.SIGHUP})

_wakeup = None  # read end of the pipe the signals are written to
_stopping = threading.Event()


class Interrupted(BuildError):
    """Raised in an action that stopped because scons was told to stop."""


def watch():
    """Start noticing stop signals; call it from the main thread before the build (SConstruct)."""
    global _wakeup
    if _wakeup is None:
        read, write = os.pipe()
        os.set_blocking(read, False)
        os.set_blocking(write, False)
        signal.set_wakeup_fd(write, warn_on_full_buffer=False)
        _wakeup = read


def requested():
    """True once scons got a stop signal (after watch())."""
    if not _stopping.is_set() and _wakeup is not None:
        try:
            received = os.read(_wakeup, 256)
        except BlockingIOError:
            received = b""
        if STOP_SIGNALS & set(received):
            _stopping.set()
    return _stopping.is_set()


def check(doing):
    """Raise Interrupted if scons was told to stop; `doing` says what stops, e.g. "download of x"."""
    if requested():
        raise Interrupted(f"{doing} stopped: the build was interrupted")
