"""Run host commands: a component's own build commands, so that none outlives the build, with
their output in a log if wanted; and short queries whose output we use. A failure is a one-line
BuildError."""

import os
import shlex
import signal
import subprocess
import tempfile
import time

from rvbuild import BUILD_EPOCH, BuildError, interrupt, jobserver, progress

TOOK = "# took "
POLL_SECONDS = 0.2
RUN_TOOLS = ("setpriv", "timeout")  # what run() needs on the host


def tail(path, lines=25):
    with open(path, errors="replace") as f:
        return "".join(f.readlines()[-lines:])


def output(command, binary=False):
    """The standard output of `command`; if it cannot run or fails, a BuildError naming it
    and quoting the last line it wrote to stderr."""
    return Started(command).output(binary)


class Started:
    """`command` started at once, in the background (in `cwd`); output() waits for it: what
    output(command) says."""

    def __init__(self, command, cwd=None):
        self.command, self.out, self.err = command, tempfile.TemporaryFile(), tempfile.TemporaryFile()
        try:
            self.process = subprocess.Popen(
                command, cwd=cwd, stdout=self.out, stderr=self.err, stdin=subprocess.DEVNULL
            )
        except OSError as error:
            raise BuildError(f"could not run `{shlex.join(command)}`: {error.strerror}") from None

    def output(self, binary=False):
        status = self.process.wait()
        with self.out, self.err:
            self.out.seek(0)
            self.err.seek(0)
            if status != 0:
                said = self.err.read().decode(errors="replace").strip().splitlines()
                raise BuildError(
                    f"`{shlex.join(self.command)}` failed (status {status})" + (f": {said[-1]}" if said else "")
                )
            result = self.out.read()
        return result if binary else result.decode(errors="replace")


def _die_with_scons(stop_signal):
    # `timeout 0` (no time limit) passes the signals it gets on to its whole process group: to
    # make and its compilers, to a configure script and the compiler it is waiting for. setpriv
    # has it signalled when scons dies, even by SIGKILL (make then stops its jobs and deletes the
    # targets it was writing), without running Python between fork and exec.
    return ["setpriv", "--pdeathsig", signal.Signals(stop_signal).name[3:], "--", "timeout", "0"]


def run(command, stop_signal=signal.SIGTERM, input=None, capture_output=False, **popen_args):
    """subprocess.run(command) for a build step, which reads no terminal (stdin is /dev/null
    unless `input` or stdin= is given). The command and every process it starts get
    `stop_signal` when scons dies, or when scons is told to stop (rvbuild.interrupt); then,
    once they have ended, this raises interrupt.Interrupted. The command holds a job slot of
    rvbuild.jobserver while it runs; a make in it shares the build's -j."""
    if capture_output:
        popen_args.update(stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    popen_args.setdefault("stdin", subprocess.DEVNULL if input is None else subprocess.PIPE)
    with jobserver.slot() as job:
        popen_args["env"] = {**(popen_args.get("env") or os.environ), **job["env"]}
        return _run_to_the_end(command, stop_signal, input, pass_fds=job["pass_fds"], **popen_args)


def _run_to_the_end(command, stop_signal, input, **popen_args):
    # A session of its own is a process group of its own, with no terminal: a command that
    # would ask there (git for a password, ssh about a host key) fails instead of waiting.
    with subprocess.Popen(
        _die_with_scons(stop_signal) + list(command), start_new_session=True, **popen_args
    ) as process:
        while True:
            try:
                stdout, stderr = process.communicate(input, timeout=POLL_SECONDS)
                return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)
            except subprocess.TimeoutExpired:
                input = None  # handed over already: communicate() goes on where it stopped
                if interrupt.requested():
                    process.send_signal(stop_signal)
                    process.communicate()
                    raise interrupt.Interrupted(f"`{shlex.join(command)}` stopped: the build was interrupted") from None


def logged_line(command, cwd=None, extra_env=None):
    """`command` as a shell takes it, in `cwd` with `extra_env`: copy, paste, rerun."""
    unset = [arg for name, value in (extra_env or {}).items() if value is None for arg in ("-u", name)]
    assign = [f"{name}={value}" for name, value in (extra_env or {}).items() if value is not None]
    prefix = ["env", *unset, *assign] if extra_env else []
    return (f"cd {shlex.quote(cwd)} && " if cwd else "") + shlex.join(prefix + list(command))


def parse_logged_line(line):
    """(command, cwd, extra_env) from a line logged_line wrote."""
    words, cwd, extra_env = shlex.split(line), None, {}
    if words[0] == "cd" and words[2] == "&&":
        cwd, words = words[1], words[3:]
    if words[0] == "env":
        words = words[1:]
        while words and (words[0] == "-u" or "=" in words[0]):
            if words[0] == "-u":
                extra_env[words[1]], words = None, words[2:]
            else:
                name, _, value = words[0].partition("=")
                extra_env[name], words = value, words[1:]
    return words, cwd, extra_env


def run_logged(commands, log, cwd=None, extra_env=None):
    """Run `commands` (argument lists) one after another, appending all output to `log`, each
    command first as a `$ ` line (logged_line); `extra_env` adds to the environment, or with None
    as the value, takes out."""
    os.makedirs(os.path.dirname(os.path.abspath(log)), exist_ok=True)
    env = dict(os.environ, LC_ALL="C", SOURCE_DATE_EPOCH=str(BUILD_EPOCH), **(extra_env or {}))
    env = {name: value for name, value in env.items() if value is not None}
    with open(log, "a") as out, progress.tracked(log, commands[0][-1]):
        for command in commands:
            out.write(f"\n$ {logged_line(command, cwd, extra_env)}\n")
            out.flush()
            started = time.monotonic()
            try:
                status = run(command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT).returncode
            except interrupt.Interrupted:
                out.write(f"{TOOK}{time.monotonic() - started:.2f} s, interrupted\n")
                raise
            out.write(f"{TOOK}{time.monotonic() - started:.2f} s, status {status}\n")
            if status != 0:
                raise BuildError(f"`{shlex.join(command)}` failed (status {status}); last lines of {log}:\n{tail(log)}")
