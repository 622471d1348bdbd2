"""SCons tool: `run` (cmd= in the guest over SSH; scons exits with its status) and `test` (the guest
tests in guest_tests=, rvbuild.guest_tests) for one built variant.

env.GuestTargets(firmware, image, firmware_args, ssh_key, known_hosts, ...) takes what
env.BootTargets takes. Both targets build first, then use the guest that `scons boot` is running
if it booted the files just built, or else boot one in the background for as long as they need
it (rvbuild.guest). Bad input (no cmd=, a test file it cannot read) fails before anything builds.
"""

import functools
import sys

import SCons.Script
import SCons.Script.Main

from build_action import action
from rvbuild import BuildError, guest, guest_tests, hosttools, qemu


def _close_build_summary(env):
    """Say what the build rebuilt now, before what the guest prints, rather than at exit."""
    summary = env["RV_SUMMARY"]
    line = summary.line()
    if line:
        print(line, flush=True)
    summary.cancel()


def _connected(env, source):
    firmware, image = source[0].abspath, source[1].abspath
    firmware_args = [env.subst(arg, source=source) for arg in env["QEMU_FIRMWARE_ARGS"]]

    def boot_command(port):
        return qemu.command(env["QEMU"], firmware_args, image, port, env["memory"], guest_net=env["guest_net"])

    return guest.connected(
        env.File(f"#build/$VARIANT/{guest.RECORD}").abspath,
        [firmware, image],
        functools.partial(qemu.ssh_command, env["SSH_KEY"], env["KNOWN_HOSTS"]),
        boot_command,
        env.File("$LOG_DIR/console.log").abspath,
        # A guest of its own needs no fixed port, unless one was asked for.
        port=env["ssh_port"] if "ssh_port" in SCons.Script.ARGUMENTS else None,
    )


def _run(target, source, env):
    _close_build_summary(env)
    with _connected(env, source) as remote:
        status = guest.finish(remote(env["cmd"])).returncode
    if status:
        print(f"rvbuild: `{env['cmd']}` ended with status {status} in the guest", file=sys.stderr, flush=True)
        # A failed action makes scons exit with 2, whatever the status it gives (convert_to_BuildError);
        # the status scons exits with in the end is this global of SCons' main module (scons is pinned).
        SCons.Script.Main.exit_status = status if status > 0 else 128 - status  # ssh killed by a signal
    return 0


def _test(target, source, env):
    _close_build_summary(env)
    variant, tests = env["VARIANT"], guest_tests.load(env["GUEST_TESTS_DIR"])
    chosen = [test for test in tests if test.is_for(variant)]
    skipped = [test for test in tests if test not in chosen]
    for test in skipped:
        print(guest_tests.skipped(test), flush=True)
    outcomes = []
    if chosen:
        with _connected(env, source) as remote:
            for test in chosen:
                outcomes.append(guest_tests.run(test, remote))
                print(guest_tests.report(outcomes[-1]), flush=True)
    report = env.File("#build/$VARIANT/guest-tests.xml")
    guest_tests.write_junit(report.abspath, variant, outcomes, skipped)
    failed = [outcome.test.name for outcome in outcomes if not outcome.passed]
    if failed:
        raise BuildError(
            f"{len(failed)} of {len(outcomes)} guest tests failed on {variant} ({', '.join(failed)}); "
            f"the report is {report.path}"
        )
    print(f"rvbuild: {len(outcomes)} guest tests passed on {variant}; the report is {report.path}", flush=True)
    return 0


def GuestTargets(env, firmware, image, firmware_args, ssh_key, known_hosts, **_):
    targets = set(SCons.Script.COMMAND_LINE_TARGETS)
    tests_dir = env.Dir(env["guest_tests"]).path  # scons runs in the top directory
    if targets & {"run", "test"}:
        hosttools.require(env["QEMU"], "ssh", "setpriv")
        if env["persist"]:
            raise BuildError(
                "scons run and scons test boot a throwaway guest, not persist=1's; to keep what a command "
                "writes, run it in the guest of `scons boot persist=1`, which they use while it runs"
            )
    if "run" in targets:
        guest.remote_command(env["cmd"])
    if "test" in targets:
        guest_tests.load(tests_dir)
    guest_env = env.Clone(
        QEMU_FIRMWARE_ARGS=firmware_args,
        SSH_KEY=ssh_key.abspath,
        KNOWN_HOSTS=known_hosts.abspath,
        GUEST_TESTS_DIR=tests_dir,
    )
    sources = [firmware, image, ssh_key, known_hosts]
    run = guest_env.Alias("run", sources, action(_run, None))
    test = guest_env.Alias("test", sources, action(_test, None))
    guest_env.AlwaysBuild(run, test)
    # Each may boot a guest whose console goes to this log: never both at once.
    guest_env.SideEffect("$LOG_DIR/console.log", run + test)


def generate(env):
    env.AddMethod(GuestTargets)


def exists(env):
    return True
