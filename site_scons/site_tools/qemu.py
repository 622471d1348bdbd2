"""SCons tool: `boot` (QEMU on the terminal), `ssh` (into that guest) and `debug` (QEMU halted
for gdb, and gdb on the kernel) for one built variant.

env.BootTargets(firmware, image, firmware_args, ssh_key, known_hosts, persist_dir, vmlinux,
gdb_scripts); firmware_args are substituted with the firmware as $SOURCE; gdb_scripts is the
vmlinux-gdb.py beside vmlinux of a debug=1 kernel, or empty. Boot options (memory, ssh_port,
persist, guest_net, gdb_port, gdb) are read when the target runs, so changing them rebuilds
nothing. persist=1 boots the qcow2 overlay in persist_dir (rvbuild.qemu.persistent_disk) instead
of a throwaway snapshot. A `scons boot` or `scons debug` whose port is taken fails before anything
builds, and again before QEMU starts if it was taken meanwhile.
"""

import shlex
import subprocess
import sys

import SCons.Script

from build_action import action
from rvbuild import buildlock, gdb, guest, hosttools, qemu


def _ssh_command(env):
    return qemu.ssh_command(env["SSH_KEY"], env["KNOWN_HOSTS"], env["ssh_port"])


def _qemu_command(env, source, **options):
    """QEMU on the built firmware and image, as the boot options say; and its console log."""
    hosttools.require(env["QEMU"])
    qemu.require_free_port(env["ssh_port"])
    firmware_args = [env.subst(arg, source=source) for arg in env["QEMU_FIRMWARE_ARGS"]]
    log = env.File("$LOG_DIR/console.log").abspath
    disk, disk_format = source[1].abspath, "raw"
    if env["persist"]:
        hosttools.require("qemu-img")
        disk, message = qemu.persistent_disk(disk, env["PERSIST_DIR"])
        disk_format = "qcow2"
        if message:
            print(message, flush=True)
    command = qemu.command(
        env["QEMU"],
        firmware_args,
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


def _boot(target, source, env):
    command, log = _qemu_command(env, source)
    print(
        f"Booting {env['VARIANT']}: log in as root; leave QEMU with Ctrl-A X (or `poweroff` in the guest).\n"
        f"SSH from another terminal: scons ssh (or {shlex.join(_ssh_command(env))})\n"
        f"The console is copied to {log}\n$ {shlex.join(command)}",
        flush=True,
    )
    buildlock.release()  # the build is done: another may start while the guest runs
    # Recorded while it runs, so that `scons run` and `scons test` use this guest.
    record = env.File(f"#build/$VARIANT/{guest.RECORD}").abspath
    return guest.call_recorded(command, record, env["ssh_port"], [source[0].abspath, source[1].abspath])


def _debug(target, source, env):
    hosttools.require(gdb.GDB, "setpriv")
    qemu.require_free_port(env["gdb_port"], "gdb", "gdb_port")
    on_terminal = env["gdb"] and sys.stdin.isatty()
    command, log = _qemu_command(env, source, gdb_port=env["gdb_port"], terminal=not on_terminal)
    gdb_command = gdb.command(env["VMLINUX"], env["gdb_port"], scripts=env["KERNEL_DEBUG"])
    symbols_only = (
        ""
        if env["KERNEL_DEBUG"]
        else " vmlinux has symbols only: debug=1 gives source-level debugging and the kernel's gdb scripts."
    )
    print(
        f"Debugging build/{env['KERNEL_BUILD']}: QEMU waits for gdb on 127.0.0.1:{env['gdb_port']} before its first "
        f"instruction.{symbols_only}\nSSH once the guest is up: scons ssh (or {shlex.join(_ssh_command(env))})\n"
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


def _ssh(target, source, env):
    hosttools.require("ssh")
    return subprocess.call(_ssh_command(env))


def BootTargets(env, firmware, image, firmware_args, ssh_key, known_hosts, persist_dir, vmlinux, gdb_scripts):
    if {"boot", "debug"} & set(SCons.Script.COMMAND_LINE_TARGETS):
        hosttools.require(env["QEMU"], *(["qemu-img"] if env["persist"] else []))
        qemu.require_free_port(env["ssh_port"])
    if "debug" in SCons.Script.COMMAND_LINE_TARGETS:
        hosttools.require(gdb.GDB, "setpriv")
        qemu.require_free_port(env["gdb_port"], "gdb", "gdb_port")
    if "ssh" in SCons.Script.COMMAND_LINE_TARGETS:
        hosttools.require("ssh")
    boot_env = env.Clone(
        QEMU_FIRMWARE_ARGS=firmware_args,
        SSH_KEY=ssh_key.abspath,
        KNOWN_HOSTS=known_hosts.abspath,
        PERSIST_DIR=env.Dir(persist_dir).abspath,
        VMLINUX=vmlinux.abspath,
    )
    logins = [ssh_key, known_hosts]
    boot_env.AlwaysBuild(boot_env.Alias("boot", [firmware, image, *logins], action(_boot, None)))
    boot_env.AlwaysBuild(boot_env.Alias("ssh", logins, action(_ssh, None)))
    debug = [firmware, image, *logins, vmlinux, *gdb_scripts]
    boot_env.AlwaysBuild(boot_env.Alias("debug", debug, action(_debug, None)))


def generate(env):
    env.AddMethod(BootTargets)


def exists(env):
    return True
