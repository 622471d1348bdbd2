"""Packages and programs built with libraries (issue 18), in the booted rv64 image: Dropbear with
zlib negotiates compressed sessions, htop (on ncurses, with the image's terminfo) runs full-screen
on the serial console and over SSH, and programs of programs/ link zlib and json-c (built with CMake)."""

import re
import subprocess

import pexpect
import pytest

from guest import Guest
from helpers import ROOT, free_port, scons
from rvbuild import qemu

OPTIONS = ["variant=rv64"]
BUILD = f"{ROOT}/build/rv64"
KEY, KNOWN_HOSTS = f"{BUILD}/ssh/id_ed25519", f"{BUILD}/ssh/known_hosts"
# Its header meters and its function-key bar, whose keys and labels are drawn in their own colours.
HTOP_SCREEN = [re.escape("Tasks:"), re.escape("Load average:"), r"F10(\x1b\[[0-9;]*m|\x0f)*Quit"]


@pytest.fixture(scope="module")
def guest():
    scons("image", *OPTIONS, log=f"{ROOT}/build/test-scons.log")
    machine = Guest(OPTIONS, free_port())
    machine.login()
    yield machine
    machine.close()


def ssh_command(port, *remote):
    return qemu.ssh_command(KEY, KNOWN_HOSTS, port, *remote)


def test_an_ssh_session_negotiates_zlib_compression(guest):
    command = ssh_command(guest.ssh_port, "echo compressed")
    result = subprocess.run(
        [command[0], "-C", "-v", *command[1:]], capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "compressed\n"
    assert "compression: zlib@openssh.com" in result.stderr, result.stderr
    assert "Enabling compression at level" in result.stderr, result.stderr


def test_htop_runs_full_screen_on_the_console_and_quits_with_q(guest):
    console = guest.console
    console.sendline("TERM=vt100 htop")
    for text in HTOP_SCREEN:
        console.expect(text, timeout=60)
    console.send("q")
    status, output = guest.run("echo back at the shell")  # after what htop sends to restore the terminal
    assert status == 0 and output.endswith("back at the shell"), output


def test_htop_runs_full_screen_over_ssh(guest):
    command = ssh_command(guest.ssh_port, "htop")
    session = pexpect.spawn(
        command[0],
        ["-tt", *command[1:]],
        env={"TERM": "xterm-256color", "PATH": "/usr/bin:/bin"},
        encoding="utf-8",
        codec_errors="replace",
        timeout=60,
        dimensions=(40, 120),
    )
    try:
        for text in HTOP_SCREEN:
            session.expect(text)
        session.send("q")
        session.expect(pexpect.EOF)
    finally:
        session.close(force=True)
    assert session.exitstatus == 0, session.before


def test_a_program_of_the_project_links_zlib(guest):
    status, output = guest.run("zlib-roundtrip")
    assert status == 0, output
    assert output.startswith("zlib 1.2.13: 4096 bytes -> ") and output.endswith(" back, the same"), output


def test_a_program_of_the_project_links_json_c_built_with_cmake(guest):
    status, output = guest.run("""json-pretty '{"board":"virt","harts":[0,1]}'""")
    assert status == 0, output
    assert output.replace(" ", "").splitlines() == ["{", '"board":"virt",', '"harts":[', "0,", "1", "]", "}"], output
