"""One build at a time per checkout.

Two builds in one checkout would share the components' obj/ folders, the staging tree, temporary
names and build/.sconsign (last writer wins). A build takes an exclusive flock on build/.lock and
writes who it is into the file; the kernel drops the lock when the process ends, however it ends,
so a killed build never leaves a stale lock behind.
"""

import fcntl
import os
import time

from rvbuild import BuildError, diskspace

_held = None


def _holder(fd):
    os.lseek(fd, 0, os.SEEK_SET)
    return os.read(fd, 4096).decode(errors="replace").strip() or "a build that has just started"


def acquire(path, command, wait=False, say=print):
    """Hold the lock at `path` for this process; `command` says who holds it, for whoever comes next.
    Busy: fail at once, naming the holder, or with `wait`, say so and wait for it."""
    global _held
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _holder(fd)
        if not wait:
            os.close(fd)
            raise BuildError(
                f"another build is running in this checkout ({holder}); "
                f"let it finish, or add wait=1 to start when it has"
            ) from None
        say(f"rvbuild: waiting for the build running in this checkout ({holder})")
        fcntl.flock(fd, fcntl.LOCK_EX)
    os.ftruncate(fd, 0)
    try:
        os.pwrite(fd, f"pid {os.getpid()}: {command}, since {time.strftime('%H:%M:%S')}\n".encode(), 0)
    except OSError as error:
        if diskspace.is_disk_full(error):
            raise BuildError(diskspace.full_disk_message([path], str(error))) from None
        raise
    _held = fd


def release():
    """Let the next build in (`scons boot` does, once the build is done and QEMU starts)."""
    global _held
    if _held is not None:
        os.close(_held)
        _held = None


def held():
    """Whether this process holds the lock: it is the build, not a reader (`scons info`)."""
    return _held is not None
