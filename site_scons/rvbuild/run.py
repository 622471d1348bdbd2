"""Run a component's own build commands with their output in a log."""
import ctypes
import os
import signal
import subprocess
import time

from rvbuild import BuildError

PR_SET_PDEATHSIG = 1
TOOK = "# took "


def _die_with_parent():
    # If scons is killed, make gets SIGTERM: it stops its jobs and deletes half-written targets.
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def tail(path, lines=25):
    with open(path, errors="replace") as f:
        return "".join(f.readlines()[-lines:])


def run_logged(commands, log, cwd=None, extra_env=None):
    """Run `commands` (argument lists) one after another, appending all output to `log`."""
    os.makedirs(os.path.dirname(os.path.abspath(log)), exist_ok=True)
    env = dict(os.environ, LC_ALL="C", **(extra_env or {}))
    with open(log, "a") as out:
        for command in commands:
            out.write(f"\n$ {' '.join(command)}\n")
            out.flush()
            started = time.monotonic()
            status = subprocess.call(command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)
            out.write(f"{TOOK}{time.monotonic() - started:.2f} s, status {status}\n")
            if status != 0:
                raise BuildError(f"`{' '.join(command)}` failed (status {status}); "
                                 f"last lines of {log}:\n{tail(log)}")
