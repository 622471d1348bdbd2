"""SCons tool: `boot` (QEMU on the terminal) and `ssh` (into that guest) for one built variant.

env.BootTargets(firmware, image, firmware_args, ssh_key); "$FIRMWARE" in firmware_args
stands for the firmware's path. Boot options (memory, ssh_port, persist) are read when the
target runs, so changing them rebuilds nothing. A `scons boot` whose SSH port is taken
fails before anything builds, and again before QEMU starts if it was taken meanwhile.
"""
import subprocess

import SCons.Script

from rvbuild import buildlock, hosttools, qemu
from rvbuild.actions import action


def _boot(target, source, env):
    hosttools.require(env["QEMU"])
    qemu.require_free_port(env["ssh_port"])
    firmware_args = [arg.replace("$FIRMWARE", source[0].abspath) for arg in env["QEMU_FIRMWARE_ARGS"]]
    log = env.File("$LOG_DIR/console.log").abspath
    command = qemu.command(env["QEMU"], firmware_args, source[1].abspath, env["ssh_port"],
                           env["memory"], snapshot=not env["persist"], console_log=log)
    ssh = " ".join(qemu.ssh_command(env["SSH_KEY"], env["ssh_port"]))
    print(f"Booting {env['VARIANT']}: log in as root; leave QEMU with Ctrl-A X (or `poweroff` in the guest).\n"
          f"SSH from another terminal: scons ssh (or {ssh})\n"
          f"The console is copied to {log}\n$ {' '.join(command)}", flush=True)
    buildlock.release()  # the build is done: another may start while the guest runs
    return subprocess.call(command)


def _ssh(target, source, env):
    return subprocess.call(qemu.ssh_command(env["SSH_KEY"], env["ssh_port"]))


def BootTargets(env, firmware, image, firmware_args, ssh_key):
    if "boot" in SCons.Script.COMMAND_LINE_TARGETS:
        qemu.require_free_port(env["ssh_port"])
    boot_env = env.Clone(QEMU_FIRMWARE_ARGS=firmware_args, SSH_KEY=ssh_key.abspath)
    boot_env.AlwaysBuild(boot_env.Alias("boot", [firmware, image], action(_boot, None)))
    boot_env.AlwaysBuild(boot_env.Alias("ssh", [], boot_env.Action(_ssh, None)))


def generate(env):
    env.AddMethod(BootTargets)


def exists(env):
    return True
