"""gdb's command line, and gdb run on the terminal: Ctrl-C reaches it alone, Ctrl-Z and `fg` work,
tried on a real pseudo-terminal; and a real gdb-multiarch on QEMU's gdb stub, halted before the
first instruction."""

import os
import subprocess
import sys

import pexpect

from helpers import ROOT, free_port
from rvbuild import gdb, qemu

# What call_on_terminal runs here in place of gdb: it waits for Ctrl-C, then for a line, and says
# when it is continued (after Ctrl-Z and `fg`).
CHILD = """
import signal
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGCONT})
print("child ready", flush=True)
while signal.sigwait({signal.SIGINT, signal.SIGCONT}) == signal.SIGCONT:
    print("child continued", flush=True)
print("child got Ctrl-C; line?", flush=True)
print("child read", input(), flush=True)
raise SystemExit(3)
"""
# scons' side: it counts the SIGINTs it gets while the child runs on the terminal.
PARENT = f"""
import signal, sys
from rvbuild import gdb
got = []
signal.signal(signal.SIGINT, lambda *args: got.append("SIGINT"))
status = gdb.call_on_terminal([sys.executable, "-c", {CHILD!r}], sys.stdin.fileno())
print("parent: status", status, "signals", got, flush=True)
"""


def spawn_on_terminal(program, *args):
    return pexpect.spawn(
        program,
        list(args),
        env=dict(os.environ, PYTHONPATH=f"{ROOT}/site_scons"),
        encoding="utf-8",
        timeout=30,
    )


def test_gdb_connects_to_loopback_and_may_load_the_scripts_beside_vmlinux():
    assert gdb.command("build/rv64-debug/linux/vmlinux", 1234) == [
        "gdb-multiarch",
        "-q",
        "-iex",
        f"add-auto-load-safe-path {os.getcwd()}/build/rv64-debug/linux",
        "-ex",
        "target remote 127.0.0.1:1234",
        f"{os.getcwd()}/build/rv64-debug/linux/vmlinux",
    ]
    assert "-iex" not in gdb.command("vmlinux", 1234, scripts=False)


def test_ctrl_c_on_the_terminal_reaches_gdb_and_not_scons():
    terminal = spawn_on_terminal(sys.executable, "-c", PARENT)
    terminal.expect("child ready")
    terminal.sendcontrol("c")
    terminal.expect("child got Ctrl-C; line?")
    terminal.sendline("hello")
    terminal.expect("child read hello")
    terminal.expect("parent: status 3 signals \\[\\]")
    terminal.expect(pexpect.EOF)


def test_ctrl_z_stops_gdb_and_scons_and_fg_gives_gdb_the_terminal_again(tmp_path):
    (tmp_path / "parent.py").write_text(PARENT)
    shell = spawn_on_terminal("bash", "--norc", "--noprofile", "-i")
    shell.sendline("PS1='$ '")
    shell.sendline(f"{sys.executable} {tmp_path / 'parent.py'}")
    shell.expect("child ready")
    shell.sendcontrol("z")
    shell.expect("Stopped")
    shell.sendline("fg")
    shell.expect("child continued")
    shell.sendcontrol("c")
    shell.expect("child got Ctrl-C; line?")
    shell.sendline("again")
    shell.expect("child read again")
    shell.expect("parent: status 3 signals \\[\\]")
    shell.sendline("exit")
    shell.expect(pexpect.EOF)


def test_qemu_waits_for_gdb_at_the_first_instruction_with_the_console_in_its_log(tmp_path):
    port, log, disk = free_port(), tmp_path / "console.log", tmp_path / "rootfs.ext4"
    disk.write_bytes(bytes(1 << 20))
    command = qemu.command(
        "qemu-system-riscv64",
        ["-bios", "none"],
        str(disk),
        free_port(),
        console_log=str(log),
        gdb_port=port,
        terminal=False,
    )
    machine = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        # gdb retries a refused connection while QEMU starts; `kill` ends QEMU.
        gdb_run = subprocess.run(
            [
                "gdb-multiarch",
                "-q",
                "-batch",
                "-ex",
                f"target remote 127.0.0.1:{port}",
                "-ex",
                "p/x $pc",
                "-ex",
                "kill",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert "$1 = 0x1000" in gdb_run.stdout, gdb_run.stdout + gdb_run.stderr
        assert machine.wait(timeout=30) == 0
    finally:
        machine.kill()
    assert b"Terminated via GDBstub" in machine.stdout.read()
    assert log.exists()
