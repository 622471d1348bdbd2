"""SCons tool: `run` (cmd= in the guest over SSH; scons exits with its status) and `test` (the guest
tests in guest_tests=, rvbuild.guest_tests) for one built variant.

env.GuestTargets(machine) takes what env.BootTargets takes (rvbuild.qemu.Machine). Both targets
build first, then use the guest that `scons boot` is running if it booted the files just built,
or else boot one in the background for as long as they need it (rvbuild.guest). Bad input (no
cmd=, a test file it cannot read) fails before anything builds.
"""

import json
import sys
import time

import SCons.Script
import SCons.Script.Main

from build_action import action
from rvbuild import BuildError, guest, hosttools, qemu
from rvbuild.commands import PATH, Command, Option
from rvbuild.explain import SUMMARY
from rvbuild.files import write_if_changed


def _check_guest(env):
    hosttools.require(env["QEMU"], "ssh", "setpriv")
    if env["persist"]:
        raise BuildError(
            "scons run and scons test boot a throwaway guest, not persist=1's; to keep what a command "
            "writes, run it in the guest of `scons boot persist=1`, which they use while it runs"
        )


def _check_run(env):
    _check_guest(env)
    guest.remote_command(env["cmd"])


def _check_test(env):
    _check_guest(env)
    _tests(env)


def _tests(env):
    from rvbuild import guest_tests  # here, not at the top: most builds never need it

    return guest_tests.chosen(env.Dir(env["guest_tests"]).path, env["test"])


COMMANDS = [
    Command(
        "run",
        "build, then run cmd= in the guest over SSH and exit with its status: in the guest `scons boot` is "
        "running, or one booted in the background meanwhile",
        one_variant=True,
        check=_check_run,
    ),
    Command(
        "test",
        "build, then run the guest tests in guest_tests= (tests/guest/*.test) the same way; PASS/FAIL each, "
        "report in build/<variant>/guest-tests.xml",
        one_variant=True,
        check=_check_test,
    ),
]
OPTIONS = [
    Option("cmd", "the command `scons run` runs in the guest, e.g. cmd='uname -a'"),
    Option("test", "the one guest test `scons test` runs, by name (<name>.test in guest_tests=); all when empty"),
    # A PATH, checked when `scons test` runs: a copy of the project may have no tests.
    Option("guest_tests", "folder of the guest tests `scons test` runs (<name>.test files)", "tests/guest", kind=PATH),
]


def _close_build_summary():
    """Say what the build rebuilt now, before what the guest prints, rather than at exit."""
    line = SUMMARY.line()
    if line:
        print(line, flush=True)
    SUMMARY.cancel()


def _connected(env, machine):
    firmware, image = machine.firmware.abspath, machine.image.abspath

    def boot_command(port):
        firmware_args = machine.firmware_arguments(env)
        return qemu.command(env["QEMU"], firmware_args, image, port, env["memory"], guest_net=env["guest_net"])

    return guest.connected(
        env.File(f"#build/$VARIANT/{guest.RECORD}").abspath,
        [firmware, image],
        machine.ssh_command,
        boot_command,
        env.File("$LOG_DIR/console.log").abspath,
        # A guest of its own needs no fixed port, unless one was asked for.
        port=env["ssh_port"] if "ssh_port" in SCons.Script.ARGUMENTS else None,
    )


def _write_verdict(env, passed, started, answered, **facts):
    """build/<variant>/verdict.json: what the last `scons run` or `scons test` concluded, and how long
    its guest took to answer and the command or tests to run (`started`, `answered`: monotonic times)."""
    seconds = dict(boot_seconds=round(answered - started, 2), test_seconds=round(time.monotonic() - answered, 2))
    verdict = dict(passed=passed, **facts, **seconds)
    write_if_changed(env.File(f"#build/$VARIANT/{guest.VERDICT}").abspath, json.dumps(verdict, indent=1) + "\n")


def _run(target, source, env, machine):
    _close_build_summary()
    started = time.monotonic()
    with _connected(env, machine) as remote:
        answered = time.monotonic()
        status = guest.finish(remote(env["cmd"])).returncode
    _write_verdict(env, status == 0, started, answered, status=status)
    if status:
        print(f"rvbuild: `{env['cmd']}` ended with status {status} in the guest", file=sys.stderr, flush=True)
        # A failed action makes scons exit with 2, whatever the status it gives (convert_to_BuildError);
        # the status scons exits with in the end is this global of SCons' main module (scons is pinned).
        SCons.Script.Main.exit_status = status if status > 0 else 128 - status  # ssh killed by a signal
    return 0


def _test(target, source, env, machine):
    from rvbuild import guest_tests

    _close_build_summary()
    variant, tests = env["VARIANT"], _tests(env)
    chosen = [test for test in tests if test.is_for(variant)]
    skipped = [test for test in tests if test not in chosen]
    for test in skipped:
        print(guest_tests.skipped(test), flush=True)
    outcomes = []
    started = answered = time.monotonic()
    if chosen:
        with _connected(env, machine) as remote:
            answered = time.monotonic()
            for test in chosen:
                outcomes.append(guest_tests.run(test, remote))
                print(guest_tests.report(outcomes[-1]), flush=True)
    report = env.File("#build/$VARIANT/guest-tests.xml")
    guest_tests.write_junit(report.abspath, variant, outcomes, skipped)
    failed = [outcome.test.name for outcome in outcomes if not outcome.passed]
    _write_verdict(env, not failed, started, answered, failed=failed)
    if failed:
        raise BuildError(
            f"{len(failed)} of {len(outcomes)} guest tests failed on {variant} ({', '.join(failed)}); "
            f"the report is {report.path}"
        )
    print(f"rvbuild: {len(outcomes)} guest tests passed on {variant}; the report is {report.path}", flush=True)
    return 0


def GuestTargets(env, machine):
    sources = [machine.firmware, machine.image, machine.ssh_key, machine.known_hosts]
    run = env.Alias("run", sources, action(_run, machine=machine))
    test = env.Alias("test", sources, action(_test, machine=machine))
    env.AlwaysBuild(run, test)
    # Each may boot a guest whose console goes to this log: never both at once.
    env.SideEffect("$LOG_DIR/console.log", run + test)


def generate(env):
    env.AddMethod(GuestTargets)


def exists(env):
    return True
