"""Run host commands: a component's own build commands with their output in a log, and
short queries whose output we use. Either way a failure is a one-line BuildError."""
import os
import shlex
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


def output(command, binary=False):
    """The standard output of `command`; if it cannot run or fails, a BuildError naming it
    and quoting the last line it wrote to stderr."""
    shown = shlex.join(command)
    try:
        result = subprocess.run(command, capture_output=True, stdin=subprocess.DEVNULL)
    except OSError as error:
        raise BuildError(f"could not run `{shown}`: {error.strerror}") from None
    if result.returncode != 0:
        said = result.stderr.decode(errors="replace").strip().splitlines()
        raise BuildError(f"`{shown}` failed (status {result.returncode})" + (f": {said[-1]}" if said else ""))
    return result.stdout if binary else result.stdout.decode(errors="replace")


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
