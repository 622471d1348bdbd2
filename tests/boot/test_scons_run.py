"""`scons run` and `scons test` on the real rv64 build: a command's output and exit status passed
through, in a guest booted for it and powered off afterwards, or in the guest `scons boot` is
running; the shipped guest tests pass, and a wrong one fails with a diff and a JUnit failure.

Two boots: one by `scons run` itself, then one by `scons boot`, which every other test here uses.
"""

import os
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import pytest

from guest import Guest
from helpers import ROOT, free_port, scons, scons_without_terminal
from rvbuild import components

OPTIONS = ["variant=rv64"]
BUILD = f"{ROOT}/build/rv64"
RECORD = f"{BUILD}/guest.json"
REPORT = f"{BUILD}/guest-tests.xml"
HELLO = "Hello from riscv64, built by rvbuild!"
COMPONENTS = len(components.listed(components.for_image(components.discover(ROOT), "opensbi")))


def scons_guest(*args):
    """A real `scons run` or `scons test`, with no terminal."""
    return scons_without_terminal(*args, *OPTIONS)


def guests_of_this_build():
    """The pids of the QEMUs booting this checkout's build/rv64."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                args = f.read().decode(errors="replace").split("\0")
        except OSError:
            continue
        if args[0].startswith("qemu-system") and any(arg.startswith(f"{BUILD}/") for arg in args):
            found.append(int(pid))
    return found


def read(path):
    with open(path, errors="replace") as f:
        return f.read()


@pytest.fixture(scope="module")
def built():
    scons("image", *OPTIONS, log=f"{ROOT}/build/test-scons.log")


@pytest.fixture(scope="module")
def booted(built):
    """The guest of a real `scons boot`, logged in on its console."""
    machine = Guest(OPTIONS, free_port())
    machine.login()
    yield machine
    machine.close()


def test_help_lists_run_test_and_their_options():
    helped = scons("-h").stdout
    for line in ("  run  ", "  test  ", "  cmd=  ", "the command `scons run` runs", "  guest_tests=tests/guest\n"):
        assert line in helped


@pytest.mark.parametrize("command", [[], ["cmd="], ["cmd=  "]])
def test_run_without_a_command_fails_in_one_line(command):
    result = scons_guest("run", *command)
    assert result.returncode == 2
    assert result.stderr == (
        "rvbuild: error: scons run needs the command to run in the guest: add cmd=, e.g. scons run cmd='uname -a'\n"
    )


def test_run_boots_a_guest_passes_output_and_status_through_and_leaves_nothing_running(built):
    if guests_of_this_build():
        pytest.skip(f"a guest of {BUILD} is running already (yours?): scons run would use it")
    result = scons_guest("run", "cmd=hello; echo to stderr >&2; exit 3")
    assert result.returncode == 3, result.stderr
    assert result.stdout.splitlines() == [
        f"rvbuild: nothing to rebuild; {COMPONENTS} up to date",
        f"rvbuild: booting a guest in the background; its console is copied to {BUILD}/logs/console.log",
        HELLO,
    ]
    assert result.stderr.splitlines() == [
        "to stderr",
        "rvbuild: `hello; echo to stderr >&2; exit 3` ended with status 3 in the guest",
    ]
    console = read(f"{BUILD}/logs/console.log")
    # It waited for the guest to say its SSH server started, and powered it off, not killed it.
    assert "rvbuild: SSH server started" in console and "reboot: Power down" in console
    assert guests_of_this_build() == [] and not os.path.exists(RECORD)


@pytest.mark.parametrize("how", ["Ctrl-C", "SIGKILL"])
def test_a_guest_of_its_own_ends_with_an_interrupted_scons_run(built, how):
    if guests_of_this_build():
        pytest.skip(f"a guest of {BUILD} is running already (yours?): scons run would use it")
    run = subprocess.Popen(
        [sys.executable, "-m", "SCons", "-Q", "run", "cmd=sleep 600", *OPTIONS],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        assert "booting a guest in the background" in run.stdout.readline() + run.stdout.readline()
        while not guests_of_this_build():
            time.sleep(0.1)
        if how == "Ctrl-C":
            os.killpg(run.pid, signal.SIGINT)  # as a terminal sends it: to scons and what it started
            assert run.wait(timeout=60) == 2
        else:
            run.kill()
            run.wait()
        for _ in range(100):
            if not guests_of_this_build():
                break
            time.sleep(0.1)
        assert guests_of_this_build() == [] and not os.path.exists(RECORD)
    finally:
        run.kill()
        run.communicate()


def test_run_uses_the_guest_scons_boot_is_running(booted):
    running = guests_of_this_build()
    assert len(running) == 1 and os.path.exists(RECORD)
    assert booted.run("echo left by the console > /tmp/marker") == (0, "")
    result = scons_guest("run", "cmd=cat /tmp/marker")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1:] == [
        f"rvbuild: using the guest that `scons boot` is running (QEMU pid {running[0]})",
        "left by the console",
    ]
    # No second QEMU came and went: the guest of `scons boot` is the only one, and still serves.
    assert guests_of_this_build() == running and booted.run("echo still here") == (0, "still here")


def test_the_shipped_guest_tests_pass(booted):
    result = scons_guest("test")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[1] == "SKIP uname-m-rv32 (for rv32* only)"
    assert [line.split(" (")[0] for line in lines[3:6]] == ["PASS hello", "PASS rootfs-ext4", "PASS uname-m-rv64"]
    assert lines[6] == "rvbuild: 3 guest tests passed on rv64; the report is build/rv64/guest-tests.xml"
    suite = ET.parse(REPORT).getroot()
    assert [suite.get(key) for key in ("tests", "failures", "skipped")] == ["4", "0", "1"]


def test_a_wrong_guest_test_fails_with_a_diff_and_a_junit_failure(booted, tmp_path):
    shutil.copy(f"{ROOT}/tests/guest/hello.test", tmp_path)
    (tmp_path / "wrong.test").write_text("command: printf 'one\\ntwo\\nthree\\n'\n---\none\n2\nthree\n")
    result = scons_guest("test", f"guest_tests={tmp_path}")
    assert result.returncode == 2
    assert result.stderr == (
        "scons: *** [test] 1 of 2 guest tests failed on rv64 (wrong); the report is build/rv64/guest-tests.xml\n"
    )
    printed = result.stdout.split("\n", 2)[2]  # after the build's line and the guest's
    assert printed.startswith("PASS hello (")
    assert printed.split("\n", 1)[1] == "\n".join(
        [
            "FAIL wrong: output differs",
            f"    --- expected ({tmp_path}/wrong.test)",
            "    +++ output",
            "    @@ -1,3 +1,3 @@",
            "     one",
            "    -2",
            "    +two",
            "     three",
            "",
        ]
    )
    failures = ET.parse(REPORT).getroot().findall("testcase/failure")
    assert [failure.get("message") for failure in failures] == ["output differs"]
    assert "-2\n+two" in failures[0].text


def test_the_record_goes_when_the_guest_of_scons_boot_ends(booted):
    assert booted.poweroff() == 0
    assert not os.path.exists(RECORD) and guests_of_this_build() == []
