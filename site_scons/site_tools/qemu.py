"""SCons tool: `boot` (QEMU on the terminal) and `ssh` (into that guest) for one built variant.

env.BootTargets(firmware, image, firmware_args, ssh_key, known_hosts, persist_dir); "$FIRMWARE"
in firmware_args stands for the firmware's path. Boot options (memory, ssh_port, persist,
guest_net) are read when the target runs, so changing them rebuilds nothing. persist=1 boots the
qcow2 overlay in persist_dir (rvbuild.qemu.persistent_disk) instead of a throwaway snapshot.
A `scons boot` whose SSH port is taken fails before anything builds, and again before QEMU
starts if it was taken meanwhile.
"""

import shlex
import subprocess

import SCons.Script

from build_action import action
from rvbuild import buildlock, guest, hosttools, qemu


def _ssh_command(env):
    return qemu.ssh_command(env["SSH_KEY"], env["KNOWN_HOSTS"], env["ssh_port"])


def _boot(target, source, env):
    hosttools.require(env["QEMU"])
    qemu.require_free_port(env["ssh_port"])
    firmware_args = [arg.replace("$FIRMWARE", source[0].abspath) for arg in env["QEMU_FIRMWARE_ARGS"]]
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
    )
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


def _ssh(target, source, env):
    hosttools.require("ssh")
    return subprocess.call(_ssh_command(env))


def BootTargets(env, firmware, image, firmware_args, ssh_key, known_hosts, persist_dir):
    if "boot" in SCons.Script.COMMAND_LINE_TARGETS:
        hosttools.require(env["QEMU"], *(["qemu-img"] if env["persist"] else []))
        qemu.require_free_port(env["ssh_port"])
    if "ssh" in SCons.Script.COMMAND_LINE_TARGETS:
        hosttools.require("ssh")
    boot_env = env.Clone(
        QEMU_FIRMWARE_ARGS=firmware_args,
        SSH_KEY=ssh_key.abspath,
        KNOWN_HOSTS=known_hosts.abspath,
        PERSIST_DIR=env.Dir(persist_dir).abspath,
    )
    logins = [ssh_key, known_hosts]
    boot_env.AlwaysBuild(boot_env.Alias("boot", [firmware, image, *logins], action(_boot, None)))
    boot_env.AlwaysBuild(boot_env.Alias("ssh", logins, action(_ssh, None)))


def generate(env):
    env.AddMethod(BootTargets)


def exists(env):
    return True
