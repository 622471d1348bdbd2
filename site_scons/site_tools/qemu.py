"""SCons tool: `boot` (QEMU on the terminal), `ssh` (into that guest) and `debug` (QEMU halted
for gdb, and gdb on the kernel) for one built variant.

env.BootTargets(machine) declares them for `machine` (rvbuild.qemu.Machine: what one built variant boots);
its firmware_args are substituted with the firmware as $SOURCE. Boot options (memory, ssh_port,
persist, guest_net, gdb_port, gdb) are read when the target runs, so changing them rebuilds
nothing. persist=1 boots the qcow2 overlay in persist_dir (rvbuild.qemu.persistent_disk) instead
of a throwaway snapshot. A `scons boot` or `scons debug` whose port is taken fails before anything
builds, and again before QEMU starts if it was taken meanwhile.
"""

import shlex
import subprocess
import sys

from build_action import action
from rvbuild import buildlock, gdb, guest, hosttools, qemu
from rvbuild import options as checked
from rvbuild.commands import BOOL, Command, Option


def _check_boot(env):
    hosttools.require(env["QEMU"], *(["qemu-img"] if env["persist"] else []))
    qemu.require_free_port(env["ssh_port"])


def _check_debug(env):
    _check_boot(env)
    hosttools.require(gdb.GDB, "setpriv")
    qemu.require_free_port(env["gdb_port"], "gdb", "gdb_port")


COMMANDS = [
    Command(
        "boot",
        "build, then boot in QEMU (leave with Ctrl-A X, or `poweroff` in the guest)",
        one_variant=True,
        check=_check_boot,
    ),
    Command(
        "ssh",
        "a shell in the guest that `scons boot` is running",
        one_variant=True,
        waits=False,
        check=lambda env: hosttools.require("ssh"),
    ),
    Command(
        "debug",
        "build, boot in QEMU halted, and start gdb on the kernel (debug=1: with debug info and the kernel's gdb "
        "scripts)",
        one_variant=True,
        check=_check_debug,
    ),
]
OPTIONS = [
    Option(
        "ssh_port",
        "port on 127.0.0.1 that `scons boot` forwards to the guest's SSH (for a guest of their own, `scons run` "
        "and `scons test` take a free one unless this is given)",
        "10022",
        check=checked.ssh_port,
    ),
    Option("memory", "guest memory (QEMU's -m: 256M, 1G)", "256M", check=checked.memory),
    Option(
        "persist",
        "`scons boot` keeps what the guest writes, in build/<variant>/persist/, until the image is rebuilt "
        "(default: changes vanish at poweroff)",
        False,
        kind=BOOL,
    ),
    Option(
        "guest_net",
        "let the guest open connections to the host and beyond (default: it can only be reached, over SSH)",
        False,
        kind=BOOL,
    ),
    Option("gdb_port", "port on 127.0.0.1 where `scons debug` has QEMU wait for gdb", "1234", check=checked.gdb_port),
    Option(
        "gdb",
        "`scons debug` starts gdb on this terminal (QEMU's console goes to its log); gdb=0 prints gdb's command "
        "line instead and leaves QEMU's console here",
        True,
        kind=BOOL,
    ),
]


def _qemu_command(env, machine, **options):
    """QEMU on the built firmware and image, as the boot options say; and its console log."""
    hosttools.require(env["QEMU"])
    qemu.require_free_port(env["ssh_port"])
    log = env.File("$LOG_DIR/console.log").abspath
    disk, disk_format = machine.image.abspath, "raw"
    if env["persist"]:
        hosttools.require("qemu-img")
        disk, message = qemu.persistent_disk(disk, env.Dir(machine.persist_dir).abspath)
        disk_format = "qcow2"
        if message:
            print(message, flush=True)
    command = qemu.command(
        env["QEMU"],
        machine.firmware_arguments(env),
        disk,
        env["ssh_port"],
        env["memory"],
        snapshot=not env["persist"],
        console_log=log,
        disk_format=disk_format,
        guest_net=env["guest_net"],
        **options,
    )
    return command, log


def _boot(target, source, env, machine):
    command, log = _qemu_command(env, machine)
    print(
        f"Booting {env['VARIANT']}: log in as root; leave QEMU with Ctrl-A X (or `poweroff` in the guest).\n"
        f"SSH from another terminal: scons ssh (or {shlex.join(machine.ssh_command(env['ssh_port']))})\n"
        f"The console is copied to {log}\n$ {shlex.join(command)}",
        flush=True,
    )
    buildlock.release()  # the build is done: another may start while the guest runs
    # Recorded while it runs, so that `scons run` and `scons test` use this guest.
    record = env.File(f"#build/$VARIANT/{guest.RECORD}").abspath
    return guest.call_recorded(command, record, env["ssh_port"], [machine.firmware.abspath, machine.image.abspath])


def _debug(target, source, env, machine):
    hosttools.require(gdb.GDB, "setpriv")
    qemu.require_free_port(env["gdb_port"], "gdb", "gdb_port")
    on_terminal = env["gdb"] and sys.stdin.isatty()
    command, log = _qemu_command(env, machine, gdb_port=env["gdb_port"], terminal=not on_terminal)
    gdb_command = gdb.command(machine.vmlinux.abspath, env["gdb_port"], scripts=machine.debug)
    symbols_only = (
        ""
        if machine.debug
        else " vmlinux has symbols only: debug=1 gives source-level debugging and the kernel's gdb scripts."
    )
    print(
        f"Debugging build/{env['KERNEL_BUILD']}: QEMU waits for gdb on 127.0.0.1:{env['gdb_port']} before its first "
        f"instruction.{symbols_only}\nSSH once the guest is up: scons ssh (or "
        f"{shlex.join(machine.ssh_command(env['ssh_port']))})\n"
        f"$ {shlex.join(command)}",
        flush=True,
    )
    buildlock.release()
    if not on_terminal:
        print(
            f"QEMU's console stays here (Ctrl-A X leaves); gdb, from another terminal:\n{shlex.join(gdb_command)}",
            flush=True,
        )
        return subprocess.call(command)
    print(f"The console goes to {log}; gdb's quit ends QEMU too.\n$ {shlex.join(gdb_command)}", flush=True)
    # Its own process group keeps QEMU from gdb's Ctrl-C; setpriv ends it if scons dies.
    machine = subprocess.Popen(
        ["setpriv", "--pdeathsig", "TERM", "--", *command], stdin=subprocess.DEVNULL, process_group=0
    )
    try:
        return gdb.call_on_terminal(gdb_command, sys.stdin.fileno())
    finally:
        machine.terminate()
        machine.wait()


def _ssh(target, source, env, machine):
    hosttools.require("ssh")
    return subprocess.call(machine.ssh_command(env["ssh_port"]))


def BootTargets(env, machine):
    logins = [machine.ssh_key, machine.known_hosts]
    boot = [machine.firmware, machine.image, *logins]
    env.AlwaysBuild(env.Alias("boot", boot, action(_boot, machine=machine)))
    env.AlwaysBuild(env.Alias("ssh", logins, action(_ssh, machine=machine)))
    debug = [*boot, machine.vmlinux, *machine.gdb_scripts]
    env.AlwaysBuild(env.Alias("debug", debug, action(_debug, machine=machine)))


def generate(env):
    env.AddMethod(BootTargets)


def exists(env):
    return True
