"""A guest to run commands in over SSH, for `scons run` and `scons test`: the one `scons boot` is
running, if it booted the very files just built, or else one booted in the background for the
time they need it.

`scons boot` finds its guest a record, build/<variant>/guest.json, for as long as QEMU runs: its
pid and command line (a pid alone could be a later process's), its SSH port, and the sha256 of the
firmware and image it booted. A record left by a `scons boot` that was killed names no running
QEMU and is removed by the next reader.
"""

import contextlib
import functools
import json
import os
import shlex
import subprocess
import tempfile
import time

from rvbuild import BuildError, interrupt, qemu
from rvbuild.fetch import sha256_of

RECORD = "guest.json"
VERDICT = "verdict.json"  # what the last `scons run` or `scons test` concluded, beside RECORD
SSH_WAIT_SECONDS = 180  # a boot under TCG takes 10-30 s, more on a busy machine
# What the image's rcS prints once Dropbear listens. An ssh tried before the guest's network is up
# waits in QEMU's user network for its retries (5-6 s after the guest was ready); a guest whose
# init never says it (an overlay's own rcS) is tried anyway after READY_WAIT_SECONDS.
READY_LINE = b"rvbuild: SSH server started"
READY_WAIT_SECONDS = 30
POWEROFF_SECONDS = 60
POLL_SECONDS = 0.2
# QEMU and ssh get SIGTERM when scons dies, even by SIGKILL: nothing outlives it.
DIE_WITH_SCONS = ["setpriv", "--pdeathsig", "TERM", "--"]


def _say(line):
    print(line, flush=True)  # before what ssh prints


def remote_command(value):
    """The cmd= of `scons run`: a shell command line, not blank."""
    if not value.strip():
        raise BuildError("scons run needs the command to run in the guest: add cmd=, e.g. scons run cmd='uname -a'")
    return value


def digests(paths):
    """{path: sha256} of the files a guest boots."""
    return {path: sha256_of(path) for path in paths}


def _write_record(record, facts):
    partial = f"{record}.{os.getpid()}.partial"
    with open(partial, "w") as f:
        json.dump(facts, f, indent=1)
    os.replace(partial, record)


def _read_record(record):
    try:
        with open(record) as f:
            return json.load(f)
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def _remove_record(record, pid):
    """Remove `record` if it is still the one of process `pid` (another `scons boot` may have replaced it)."""
    facts = _read_record(record)
    if facts and facts["pid"] == pid:
        with contextlib.suppress(FileNotFoundError):
            os.remove(record)


def _runs(facts):
    """The recorded QEMU runs: its pid has the recorded command line (a zombie has none, nor has a
    process for a moment during its exec)."""
    try:
        with open(f"/proc/{facts['pid']}/cmdline", "rb") as f:
            return f.read().split(b"\0")[:-1] == [os.fsencode(arg) for arg in facts["command"]]
    except OSError:
        return False


def call_recorded(command, record, ssh_port, booted):
    """subprocess.call(command), QEMU for `scons boot`, with `record` saying how to reach its guest
    (on 127.0.0.1:`ssh_port`) and what it booted (the files at the paths `booted`) while it runs."""
    facts = dict(ssh_port=int(ssh_port), booted=digests(booted), command=command)
    with subprocess.Popen(command) as process:
        try:
            _write_record(record, dict(pid=process.pid, **facts))
            return process.wait()
        except BaseException:
            process.kill()
            raise
        finally:
            _remove_record(record, process.pid)


def booted_by_scons_boot(record, booted, say=_say):
    """The record of the guest `scons boot` is running, if it booted files with these digests
    (`booted`, as digests() gives them); else None."""
    facts = _read_record(record)
    if facts is None:
        return None
    if not _runs(facts):
        if not os.path.exists(f"/proc/{facts['pid']}"):  # left by a `scons boot` that was killed
            _remove_record(record, facts["pid"])
        return None
    if facts["booted"] != booted:
        say(
            f"rvbuild: not using the guest that `scons boot` is running (QEMU pid {facts['pid']}): "
            f"it booted files that have been rebuilt since"
        )
        return None
    return facts


def finish(command, timeout=None, capture_output=False, **popen_args):
    """subprocess.run(command, ...), which also ends, raising interrupt.Interrupted, when scons is
    told to stop, and at `timeout` seconds, raising subprocess.TimeoutExpired."""
    deadline = None if timeout is None else time.monotonic() + timeout
    if capture_output:
        popen_args.update(stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    with subprocess.Popen(DIE_WITH_SCONS + list(command), **popen_args) as process:
        while True:
            try:
                stdout, stderr = process.communicate(timeout=POLL_SECONDS)
                break
            except subprocess.TimeoutExpired:
                if interrupt.requested() or (deadline and time.monotonic() > deadline):
                    process.kill()
                    stdout, stderr = process.communicate()
                    if not interrupt.requested():
                        raise subprocess.TimeoutExpired(command, timeout, stdout, stderr) from None
                    break
    # A Ctrl-C reaches ssh too, which then ends as if the command had failed.
    interrupt.check(f"`{shlex.join(command)}`")
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def _said_ready(console_log):
    try:
        with open(console_log, "rb") as f:
            return READY_LINE in f.read()
    except FileNotFoundError:
        return False


def wait_for_ssh(remote, gone, console_log, timeout=SSH_WAIT_SECONDS, booting=False):
    """Wait until `remote("true")` (an ssh command line) succeeds; `gone()` says why the guest will
    never answer (its QEMU ended), or None. A guest still `booting` is first given the time to say
    on its console (`console_log`) that its SSH server started."""
    started = time.monotonic()
    deadline = started + timeout
    while booting and not _said_ready(console_log) and time.monotonic() < started + READY_WAIT_SECONDS:
        if gone():
            break  # said below
        interrupt.check("waiting for the guest to boot")
        time.sleep(POLL_SECONDS / 4)
    while True:
        try:
            if finish(remote("true"), timeout=30, stdin=subprocess.DEVNULL, capture_output=True).returncode == 0:
                return
        except subprocess.TimeoutExpired:
            pass
        why = gone()
        if why:
            raise BuildError(f"{why} before the guest answered SSH; {console_log} shows how far it got")
        if time.monotonic() > deadline:
            raise BuildError(
                f"the guest did not answer SSH within {timeout} s; {console_log} shows how far it got "
                f"(a busy machine may need another try)"
            )
        time.sleep(0.5)


def background_console(console_log):
    """QEMU options for a guest with no terminal: the serial console goes to `console_log` alone."""
    path = qemu.option_value(console_log)
    return ["-chardev", f"file,id=console,path={path}", "-serial", "chardev:console", "-monitor", "none"]


def _stop(process, remote):
    """Power the guest off over SSH (`remote` None: it never answered), or kill its QEMU if it
    does not stop in time or scons is being stopped. It writes to a throwaway snapshot: its
    kernel powers off at once, without init's shutdown (2 s of BusyBox's pauses)."""
    if remote and process.poll() is None and not interrupt.requested():
        with contextlib.suppress(subprocess.TimeoutExpired, interrupt.Interrupted):
            finish(remote("poweroff -f"), timeout=30, stdin=subprocess.DEVNULL, capture_output=True)
            process.wait(timeout=POWEROFF_SECONDS)
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def _own_guest(boot_command, port, remote, console_log):
    os.makedirs(os.path.dirname(console_log), exist_ok=True)
    open(console_log, "wb").close()  # QEMU empties it too, but maybe not before the last boot's is read
    command = DIE_WITH_SCONS + boot_command(port) + background_console(console_log)
    # A session of its own: a Ctrl-C on the terminal is scons' to handle, which then stops the guest.
    with (
        tempfile.TemporaryFile() as errors,
        subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errors, start_new_session=True
        ) as process,
    ):

        def gone():
            if process.poll() is None:
                return None
            errors.seek(0)
            said = errors.read().decode(errors="replace").strip().splitlines()
            return f"QEMU ended (status {process.returncode}{': ' + said[-1] if said else ''})"

        answered = False
        try:
            wait_for_ssh(remote, gone, console_log, booting=True)
            answered = True
            yield
        finally:
            _stop(process, remote if answered else None)


@contextlib.contextmanager
def connected(record, booted, ssh, boot_command, console_log, port=None, say=_say):
    """Yields `remote`: remote(command) is the ssh command line that runs `command` in a guest of the
    files at the paths `booted` (firmware and image). That is the guest `scons boot` is running
    (`record` says), if it booted these very files; else one booted here by `boot_command(port)`,
    its console in `console_log`, on `port` (default: a free one), and powered off afterwards
    (killed if it does not stop, or if scons is being stopped). `ssh(port, *remote)` is the ssh
    command line."""
    running = booted_by_scons_boot(record, digests(booted), say)
    if running:
        say(f"rvbuild: using the guest that `scons boot` is running (QEMU pid {running['pid']})")
        remote = functools.partial(ssh, running["ssh_port"])
        wait_for_ssh(remote, lambda: None if _runs(running) else "its QEMU ended", console_log)
        yield remote
        return
    port = port or qemu.free_port()
    qemu.require_free_port(port)
    say(f"rvbuild: booting a guest in the background; its console is copied to {console_log}")
    remote = functools.partial(ssh, port)
    with _own_guest(boot_command, port, remote, console_log):
        yield remote
