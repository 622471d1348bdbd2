"""gdb on the rv64 kernel through the real `scons debug`: with debug=1, gdb-multiarch stops in
start_kernel at its source line, reads kernel variables and runs the kernel's gdb scripts, at the
start and on the running system; gdb started by scons on the terminal, where Ctrl-C stops the guest
and not scons; without debug=1, the symbols alone.

gdb=0 prints gdb's command line, which the tests run with -batch and commands of their own."""

import io
import os
import re
import shlex
import subprocess
import sys
import time

import pexpect
import pytest
from test_guest_access import listeners

from helpers import ROOT, free_port, scons
from rvbuild import qemu

OPTIONS = ["variant=rv64"]
LOG = f"{ROOT}/build/test-scons.log"


class Halted:
    """`scons debug gdb=0`: QEMU on the console, halted until gdb connects; gdb's command line."""

    def __init__(self, *options):
        self.gdb_port = free_port()
        self.console = pexpect.spawn(
            sys.executable,
            ["-m", "SCons", "-Q", "debug", "gdb=0", f"gdb_port={self.gdb_port}", f"ssh_port={free_port()}"]
            + OPTIONS
            + list(options),
            cwd=ROOT,
            encoding="utf-8",
            codec_errors="replace",
            timeout=600,
        )
        try:
            self.console.expect(r"gdb, from another terminal:\r\n(.*)\r\n")
        except BaseException:
            self.close()
            raise
        self.printed = self.console.before
        self.gdb_command = shlex.split(self.console.match[1])

    def gdb(self, *commands):
        """gdb's output (stdout and stderr) running `commands` in batch mode; at the end it detaches."""
        result = subprocess.run(
            [*self.gdb_command, "-batch", *(arg for command in commands for arg in ("-ex", command))],
            capture_output=True,
            text=True,
            timeout=300,
            stdin=subprocess.DEVNULL,
        )
        return result.stdout + result.stderr

    def close(self):
        if self.console.isalive():
            self.console.terminate(force=True)


def wait_for_listener(port, timeout=60):
    deadline = time.monotonic() + timeout
    while not listeners(port) and time.monotonic() < deadline:
        time.sleep(0.1)
    return listeners(port)


@pytest.fixture(scope="module")
def debug_build():
    scons("image", *OPTIONS, "debug=1", log=LOG)


@pytest.fixture(scope="module")
def halted(debug_build):
    machine = Halted("debug=1")
    yield machine
    machine.close()


@pytest.fixture(scope="module")
def at_start_kernel(halted):
    """What gdb says, connected at QEMU's first instruction, once the guest stops in start_kernel."""
    return halted.gdb(
        "break start_kernel",
        "continue",
        "list start_kernel",
        "p init_uts_ns.name.sysname",
        "p linux_banner",
        "lx-version",
    )


@pytest.fixture(scope="module")
def running(halted, at_start_kernel):
    """What the kernel's gdb scripts say about the guest once it is up (gdb let it go on)."""
    halted.console.expect("login:", timeout=180)
    return halted.gdb("lx-dmesg", "lx-ps", "lx-symbols")


def test_gdb_stub_listens_on_loopback_only(halted):
    assert wait_for_listener(halted.gdb_port) == ["0100007F"]  # 127.0.0.1, and nothing on IPv6


def test_gdb_stops_in_start_kernel_at_its_source_line(at_start_kernel):
    assert re.search(r"Breakpoint 1, start_kernel \(\) at \S*init/main\.c:\d+", at_start_kernel), at_start_kernel
    assert "start_kernel(void)" in at_start_kernel  # its source, listed


def test_gdb_reads_kernel_variables(at_start_kernel):
    assert '= "Linux", ' in at_start_kernel
    assert '<linux_banner> "Linux version 6.1.' in at_start_kernel


def test_kernel_gdb_scripts_work_from_the_start(at_start_kernel):
    assert re.search(r"^Linux version 6\.1\.\S+ \(rvbuild@rvbuild\)", at_start_kernel, re.MULTILINE), at_start_kernel


def test_kernel_gdb_scripts_read_the_running_kernel(running):
    assert re.search(r"^\[ +0\.0+\] Linux version 6\.1\.", running, re.MULTILINE), running
    assert re.search(r"^0x[0-9a-f]+ +1 +init$", running, re.MULTILINE), running
    assert "loading vmlinux" in running


def test_without_debug_gdb_has_the_symbols_and_says_what_debug_gives():
    scons("image", *OPTIONS, log=LOG)
    machine = Halted()
    try:
        assert "vmlinux has symbols only: debug=1 gives source-level debugging" in machine.printed
        said = machine.gdb("break start_kernel", "continue", "p/x $pc - (long)&start_kernel")
    finally:
        machine.close()
    assert re.search(r"Breakpoint 1, 0x[0-9a-f]+ in start_kernel \(\)", said), said
    assert "= 0x0" in said


def test_scons_debug_runs_gdb_on_the_terminal_where_ctrl_c_stops_the_guest_not_scons(debug_build):
    gdb_port = free_port()
    session = pexpect.spawn(
        sys.executable,
        ["-m", "SCons", "-Q", "debug", "debug=1", f"gdb_port={gdb_port}", f"ssh_port={free_port()}", *OPTIONS],
        cwd=ROOT,
        env=dict(os.environ, TERM="dumb"),  # gdb's output without colours
        encoding="utf-8",
        codec_errors="replace",
        timeout=300,
    )
    session.logfile_read = transcript = io.StringIO()
    try:
        session.expect(r"\(gdb\) ")
        session.sendline("break start_kernel")
        session.expect(r"\(gdb\) ")
        session.sendline("continue")
        session.expect(r"Breakpoint 1, start_kernel \(\)\s+at ")  # gdb wraps lines at 80 columns
        session.expect(r"\(gdb\) ")
        session.sendline("lx-version")
        session.expect(r"Linux version 6\.1\.")
        session.expect(r"\(gdb\) ")
        session.sendline("continue")
        session.expect("Continuing.")
        time.sleep(2)
        session.sendcontrol("c")
        session.expect("received signal SIGINT")
        session.expect(r"\(gdb\) ")
        session.sendline("quit")
        session.expect(r"\(y or n\) ")
        session.sendline("y")
        session.expect(pexpect.EOF)
    finally:
        session.close(force=True)
    assert session.exitstatus == 0, transcript.getvalue()
    assert "interrupted" not in transcript.getvalue()
    qemu.require_free_port(gdb_port, "gdb", "gdb_port")  # QEMU ended with gdb
