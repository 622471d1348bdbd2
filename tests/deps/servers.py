"""Private servers for the sharing tests (redis for ccache's remote storage, distccd): started on
a free port of 127.0.0.1, stopped when the test ends, whatever its outcome."""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

from helpers import free_port


def _wait_for_port(port, process, seconds=10):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{process.args[0]} ended (status {process.returncode}) before it listened")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.1)
    raise AssertionError(f"{process.args[0]} did not listen on 127.0.0.1:{port} within {seconds} s")


@contextlib.contextmanager
def server(command, package, log):
    """Run `command` (its port as {port}) with its output in `log`; yields the port. Skips, naming
    the Debian package, only if the server is not installed (`./setup tests` installs it)."""
    if shutil.which(command[0]) is None:
        pytest.skip(f"{command[0]} is not installed (Debian package {package}; ./setup tests installs it)")
    port = free_port()
    with open(log, "w") as out:
        # A process group of its own: distccd's preforked children go with it.
        process = subprocess.Popen(
            [arg.format(port=port) for arg in command],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            start_new_session=True,
        )
    try:
        _wait_for_port(port, process)
        yield port
    finally:
        _signal_group(process, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            _signal_group(process, signal.SIGKILL)
            process.wait()


def _signal_group(process, signum):
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signum)


@contextlib.contextmanager
def redis(log):
    """A redis that keeps nothing on disk. Without Debian's redis-server package (it runs a service),
    redis-tools' redis-check-rdb is the server when run as redis-server: redis picks its part by the
    name it is run as, and Debian's redis-server program is only a link to it."""
    with tempfile.TemporaryDirectory(prefix="rvbuild-redis-") as private:
        program, rdb = shutil.which("redis-server"), shutil.which("redis-check-rdb")
        if program is None and rdb:
            program = os.path.join(private, "redis-server")
            os.symlink(rdb, program)
        options = ["--port", "{port}", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        with server([program or "redis-server", *options], "redis-tools", log) as port:
            yield port


def distccd(log):
    """A distccd serving 127.0.0.1 alone, logging every job it runs."""
    return server(
        [
            "distccd",
            "--daemon",
            "--no-detach",
            "--log-stderr",
            "--log-level=info",
            "--listen=127.0.0.1",
            "--allow=127.0.0.1",
            "--port={port}",
            "--jobs=2",
        ],
        "distcc",
        log,
    )
