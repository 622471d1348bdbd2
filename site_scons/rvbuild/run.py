"""Run a component's own build commands with their output in a log."""
import os
import subprocess
import time

from rvbuild import BUILD_EPOCH, BuildError

TOOK = "# took "
# If scons is killed, the command gets SIGTERM (make then stops its jobs and deletes the targets
# it was writing). setpriv sets that up without running Python between fork and exec.
DIE_WITH_SCONS = ["setpriv", "--pdeathsig", "TERM", "--"]


def tail(path, lines=25):
    with open(path, errors="replace") as f:
        return "".join(f.readlines()[-lines:])


def run_logged(commands, log, cwd=None, extra_env=None):
    """Run `commands` (argument lists) one after another, appending all output to `log`."""
    os.makedirs(os.path.dirname(os.path.abspath(log)), exist_ok=True)
    env = dict(os.environ, LC_ALL="C", SOURCE_DATE_EPOCH=str(BUILD_EPOCH), **(extra_env or {}))
    with open(log, "a") as out:
        for command in commands:
            out.write(f"\n$ {' '.join(command)}\n")
            out.flush()
            started = time.monotonic()
            status = subprocess.call(DIE_WITH_SCONS + command, cwd=cwd, env=env, stdout=out,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            out.write(f"{TOOK}{time.monotonic() - started:.2f} s, status {status}\n")
            if status != 0:
                raise BuildError(f"`{' '.join(command)}` failed (status {status}); "
                                 f"last lines of {log}:\n{tail(log)}")
