"""A booted guest on a serial console, driven through pexpect."""
import os
import re

import pexpect

from rvbuild import qemu

RESULT = re.compile(r"@@status=(\d+)@@")


class Guest:
    def __init__(self, qemu_command, log_path, timeout=60):
        os.makedirs(os.path.dirname(log_path), exist_ok=True)
        self.log = open(log_path, "w")
        self.console = pexpect.spawn(qemu_command[0], qemu_command[1:], encoding="utf-8",
                                     codec_errors="replace", timeout=timeout, logfile=self.log)

    def login(self, user="root", timeout=180):
        self.console.expect("login:", timeout=timeout)
        self.console.sendline(user)
        self.console.expect(r"[#$] ", timeout=30)
        # No echo and no prompt: what comes back is exactly the command's output.
        self.console.sendline("stty -echo; PS1=")
        self.run("true")

    def run(self, command, timeout=60):
        """Run `command` in the guest shell; returns (status, output)."""
        self.console.sendline(f"{command}; echo @@status=$?@@")
        self.console.expect(RESULT, timeout=timeout)
        return int(self.console.match[1]), self.console.before.replace("\r", "").strip()

    def poweroff(self, timeout=120):
        self.console.sendline("poweroff")
        self.console.expect(pexpect.EOF, timeout=timeout)
        self.console.close()
        return self.console.exitstatus

    def close(self):
        if self.console.isalive():
            self.console.terminate(force=True)
        self.log.close()


def boot(variant_dir, firmware_args, qemu_binary, ssh_port, log_path):
    command = qemu.command(qemu_binary, firmware_args, f"{variant_dir}/rootfs/rootfs.ext4", ssh_port,
                           snapshot=True)
    return Guest(command, log_path)
