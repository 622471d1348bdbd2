"""Guest test files read and judged, their JUnit report, and the record by which `scons run` and
`scons test` find the guest of `scons boot`: with real files and real processes, no guest."""

import json
import os
import subprocess
import time
import xml.etree.ElementTree as ET

import pytest

from helpers import ROOT
from rvbuild import BuildError, guest, guest_tests

QEMU = "qemu-system-riscv64"


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def write(path, text):
    path.write_text(text)
    return str(path)


def test_a_test_file_with_every_setting(tmp_path):
    path = write(
        tmp_path / "mounts.test",
        "# comment\n\ncommand: grep ' / ' /proc/mounts\nvariants: rv64 rv32*\nstatus: 1\n"
        "timeout: 2.5\nmatch: regex\n---\n/dev/root / ext4 .*\n",
    )
    assert guest_tests.parse(path) == guest_tests.GuestTest(
        name="mounts",
        path=path,
        command="grep ' / ' /proc/mounts",
        expected="/dev/root / ext4 .*",
        variants=("rv64", "rv32*"),
        status=1,
        timeout=2.5,
        regex=True,
    )


def test_defaults_all_builds_status_0_exact_output(tmp_path):
    test = guest_tests.parse(write(tmp_path / "t.test", "command: true\n---\n"))
    assert (test.variants, test.status, test.timeout, test.regex, test.expected) == (("*",), 0, 60, False, "")
    assert test.is_for("rv64") and test.is_for("rv32-linux6.12-bbl")


def test_variants_are_names_or_patterns_of_the_build():
    test = guest_tests.GuestTest("t", "t.test", "true", "", variants=("rv32", "rv64-*"))
    assert [name for name in ("rv32", "rv32-bbl", "rv64", "rv64-linux6.12") if test.is_for(name)] == [
        "rv32",
        "rv64-linux6.12",
    ]


@pytest.mark.parametrize(
    "text, error",
    [
        ("command: true\nexpect: x\n---\n", r"t\.test:2: `expect: x` is not a setting; use one of command, "),
        ("command: true\n", r"t\.test: no line `---`; put one after the settings"),
        ("variants: rv64\n---\nx\n", r"t\.test: no command; add a line `command: "),
        ("command:\n---\n", r"t\.test:1: `command:` is not a command; "),
        ("command: a\ncommand: b\n---\n", r"t\.test:2: command is set twice; keep one"),
        ("command: true\nstatus: -1\n---\n", r"t\.test:2: `status: -1` is not an exit status; use a number from 0"),
        ("command: true\ntimeout: soon\n---\n", r"t\.test:2: `timeout: soon` is not a number of seconds; use e\.g\."),
        ("command: true\nmatch: glob\n---\n", r"t\.test:2: `match: glob` is not a kind of match; use match: exact or"),
        ("command: true\nvariants:\n---\n", r"t\.test:2: `variants:` is not a list of builds"),
        ("command: true\nmatch: regex\n---\n(unclosed\n", r"t\.test: the regular expression below `---` does not"),
    ],
)
def test_a_line_that_is_no_setting_fails_with_file_and_line(tmp_path, text, error):
    with pytest.raises(BuildError, match=error):
        guest_tests.parse(write(tmp_path / "t.test", text))


def test_a_folder_without_tests_fails_saying_what_to_do(tmp_path):
    (tmp_path / "notes.txt").write_text("not a test")
    with pytest.raises(
        BuildError, match=r"^no \*\.test files in .*; add one \(docs/architecture\.md: tests in the guest\)"
    ):
        guest_tests.load(str(tmp_path))


def test_guest_tests_must_name_a_folder(tmp_path):
    with pytest.raises(
        BuildError, match=r"^guest_tests=.*/none is not a folder; name the folder of the <name>\.test files$"
    ):
        guest_tests.load(str(tmp_path / "none"))


def test_the_shipped_tests_read_and_each_build_gets_its_own():
    tests = guest_tests.load(f"{ROOT}/tests/guest")
    assert [test.name for test in tests] == ["hello", "rootfs-ext4", "uname-m-rv32", "uname-m-rv64"]
    for_build = {build: [test.name for test in tests if test.is_for(build)] for build in ("rv64", "rv32")}
    assert for_build == {
        "rv64": ["hello", "rootfs-ext4", "uname-m-rv64"],
        "rv32": ["hello", "rootfs-ext4", "uname-m-rv32"],
    }


def exact(expected, **settings):
    return guest_tests.GuestTest("t", "tests/guest/t.test", "cmd", expected, **settings)


def test_exact_output_passes_whatever_its_trailing_newlines():
    assert guest_tests.judge(exact("a\nb\n\n"), 0, "a\nb\n", "", 0.1).passed
    assert guest_tests.judge(exact(""), 0, "", "", 0.1).passed


def test_different_output_fails_with_a_unified_diff():
    outcome = guest_tests.judge(exact("one\n2\nthree\n"), 0, "one\ntwo\nthree\n", "warning\n", 0.1)
    assert outcome.problem == "output differs"
    assert outcome.details.splitlines() == [
        "--- expected (tests/guest/t.test)",
        "+++ output",
        "@@ -1,3 +1,3 @@",
        " one",
        "-2",
        "+two",
        " three",
        "stderr:",
        "warning",
    ]
    assert guest_tests.report(outcome).splitlines()[:3] == [
        "FAIL t: output differs",
        "    --- expected (tests/guest/t.test)",
        "    +++ output",
    ]


def test_a_regular_expression_must_match_all_of_the_output():
    test = exact("Hello from riscv(32|64)!", regex=True)
    assert guest_tests.judge(test, 0, "Hello from riscv64!\n", "", 0.1).passed
    outcome = guest_tests.judge(test, 0, "Hello from riscv64! and more\n", "", 0.1)
    assert outcome.problem == "output does not match the regular expression"
    assert "--- expected (regular expression, tests/guest/t.test)" in outcome.details


def test_the_exit_status_counts():
    assert guest_tests.judge(exact("", status=3), 3, "", "", 0.1).passed
    outcome = guest_tests.judge(exact(""), 127, "", "sh: nosuch: not found\n", 0.1)
    assert (outcome.problem, outcome.details) == ("exit status 127, expected 0", "stderr:\nsh: nosuch: not found")


def test_a_test_runs_through_the_remote_command_it_is_given(tmp_path):
    def local(command):  # a shell on this machine stands in for ssh into the guest
        return ["sh", "-c", command]

    assert guest_tests.run(exact("hi", status=2), lambda _: local("echo hi; exit 2")).passed
    started = time.monotonic()
    outcome = guest_tests.run(exact("", timeout=0.5), lambda _: local("echo partial; exec sleep 30"))
    assert outcome.problem == "timed out after 0.5 s" and outcome.output == "partial\n"
    assert time.monotonic() - started < 5


def test_junit_report_of_passes_failures_and_tests_for_other_builds(tmp_path):
    passed = guest_tests.judge(exact("ok"), 0, "ok\n", "", 0.25)
    failed = guest_tests.judge(exact("ok"), 0, "not \x1b[1mok\n", "", 0.5)
    other = exact("", variants=("rv32*",))
    path = str(tmp_path / "guest-tests.xml")
    guest_tests.write_junit(path, "rv64", [passed, failed], [other])
    suite = ET.parse(path).getroot()
    assert (suite.tag, suite.get("name")) == ("testsuite", "guest-tests.rv64")
    assert [suite.get(key) for key in ("tests", "failures", "errors", "skipped", "time")] == [
        "3",
        "1",
        "0",
        "1",
        "0.750",
    ]
    cases = suite.findall("testcase")
    assert [(case.get("classname"), case.get("name"), case.get("file")) for case in cases] == [
        ("guest.rv64", "t", "tests/guest/t.test")
    ] * 3
    assert cases[0].find("failure") is None and cases[0].find("system-out").text == "ok\n"
    assert cases[1].find("failure").get("message") == "output differs"
    assert "+not \ufffd[1mok" in cases[1].find("failure").text  # an escape XML cannot hold
    assert cases[2].find("skipped").get("message") == "for rv32* only"
    assert os.listdir(tmp_path) == ["guest-tests.xml"]


def test_scons_run_needs_a_command():
    assert guest.remote_command("uname -a") == "uname -a"
    for blank in ("", "  "):
        with pytest.raises(BuildError, match=r"^scons run needs .*: add cmd=, e\.g\. scons run cmd='uname -a'$"):
            guest.remote_command(blank)


def images(tmp_path, content=b"image"):
    firmware, image = tmp_path / "fw_payload.elf", tmp_path / "rootfs.ext4"
    firmware.write_bytes(b"firmware")
    image.write_bytes(content)
    return [str(firmware), str(image)]


def test_scons_boot_records_its_guest_while_it_runs(tmp_path):
    record, booted = tmp_path / "guest.json", images(tmp_path)
    # The stand-in for QEMU copies the record once it is there.
    command = ["sh", "-c", f"while [ ! -e {record} ]; do sleep 0.05; done; cp {record} {tmp_path}/seen"]
    assert guest.call_recorded(command, str(record), 2222, booted) == 0
    seen = json.loads((tmp_path / "seen").read_text())
    assert seen["ssh_port"] == 2222 and seen["command"] == command and seen["booted"] == guest.digests(booted)
    assert not record.exists()
    assert sorted(os.listdir(tmp_path)) == ["fw_payload.elf", "rootfs.ext4", "seen"]


@pytest.fixture
def running(tmp_path):
    """A process standing in for the QEMU of `scons boot`, and the record it would have left."""
    command = ["sleep", "60"]
    with subprocess.Popen(command) as process:
        while not read_bytes(f"/proc/{process.pid}/cmdline"):  # empty until its exec is through
            time.sleep(0.01)
        record, booted = tmp_path / "guest.json", images(tmp_path)
        facts = dict(pid=process.pid, ssh_port=2222, booted=guest.digests(booted), command=command)
        record.write_text(json.dumps(facts))
        yield str(record), booted, facts, process
        process.kill()


def test_the_guest_of_scons_boot_is_used_if_it_booted_the_files_just_built(running):
    record, booted, facts, _ = running
    assert guest.booted_by_scons_boot(record, guest.digests(booted)) == facts


def test_a_guest_of_files_rebuilt_since_is_not_used(running, tmp_path):
    record, booted, facts, _ = running
    said = []
    (tmp_path / "rootfs.ext4").write_bytes(b"rebuilt")
    assert guest.booted_by_scons_boot(record, guest.digests(booted), said.append) is None
    assert said == [
        f"rvbuild: not using the guest that `scons boot` is running (QEMU pid {facts['pid']}): "
        f"it booted files that have been rebuilt since"
    ]
    assert os.path.exists(record)  # it still runs, still findable


def test_a_record_naming_no_running_qemu_is_removed(running):
    record, booted, facts, process = running
    process.kill()
    process.wait()
    assert guest.booted_by_scons_boot(record, guest.digests(booted)) is None
    assert not os.path.exists(record)


def test_a_later_process_with_the_recorded_pid_is_not_the_guest(running):
    record, booted, facts, _ = running
    with open(record, "w") as f:
        json.dump(dict(facts, pid=os.getpid()), f)  # alive, but not running the recorded command
    assert guest.booted_by_scons_boot(record, guest.digests(booted)) is None


def test_a_guest_of_its_own_has_its_console_in_the_log_and_none_on_the_terminal(tmp_path):
    log = tmp_path / "logs,1" / "console.log"
    log.parent.mkdir()
    command = [QEMU, "-M", "virt", "-nographic", "-bios", "none", "-S", *guest.background_console(str(log))]
    with subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as qemu:
        try:
            qemu.wait(timeout=1)
        except subprocess.TimeoutExpired:
            pass
        finally:
            qemu.terminate()
        stdout, stderr = qemu.communicate(timeout=30)
    assert qemu.returncode != 1, stderr  # it ran until terminated: it took the options
    assert (stdout, log.exists()) == (b"", True)


def test_a_booting_guest_is_tried_over_ssh_only_once_its_console_says_its_server_started(tmp_path):
    log, tried = tmp_path / "console.log", tmp_path / "tried"
    log.write_bytes(b"Run /sbin/init as init process\n")
    # The stand-in for ssh notes the console as it was when tried.
    remote = lambda command: ["sh", "-c", f"cat {log} >> {tried}"]  # noqa: E731
    with subprocess.Popen(["sh", "-c", f"sleep 0.5; echo '{guest.READY_LINE.decode()}' >> {log}"]) as boot:
        guest.wait_for_ssh(remote, lambda: None, str(log), booting=True)
        boot.wait()
    assert guest.READY_LINE in read_bytes(tried)


def test_a_guest_that_never_says_it_is_ready_is_tried_all_the_same(tmp_path, monkeypatch):
    monkeypatch.setattr(guest, "READY_WAIT_SECONDS", 0.3)
    log = tmp_path / "console.log"
    log.write_bytes(b"an overlay's own rcS\n")
    guest.wait_for_ssh(lambda command: ["true"], lambda: None, str(log), booting=True)


def test_the_last_boots_console_does_not_pass_for_this_ones(tmp_path, monkeypatch):
    monkeypatch.setattr(guest, "POWEROFF_SECONDS", 0.1)
    log, seen = tmp_path / "console.log", tmp_path / "seen"
    log.write_bytes(guest.READY_LINE + b" (the last boot's)\n")
    # A stand-in for QEMU: it notes the console as it found it, then boots at once.
    booting = f"cp {log} {seen}; echo '{guest.READY_LINE.decode()}' >> {log}; sleep 60"
    with guest._own_guest(lambda port: ["sh", "-c", booting], 2222, lambda command: ["true"], str(log)):
        pass
    assert read_bytes(seen) == b""
