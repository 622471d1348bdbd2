"""A guest booted by the real `scons boot`, driven on its serial console through pexpect."""

import io
import re
import sys

import pexpect

from helpers import ROOT

RESULT = re.compile(r"@@status=(\d+)@@")


class Guest:
    def __init__(self, scons_options, ssh_port, timeout=60):
        self.ssh_port = ssh_port
        self.console = pexpect.spawn(
            sys.executable,
            ["-m", "SCons", "-Q", "boot", f"ssh_port={ssh_port}", *scons_options],
            cwd=ROOT,
            encoding="utf-8",
            codec_errors="replace",
            timeout=timeout,
        )
        self.transcript = io.StringIO()  # all that scons, QEMU and the console printed so far
        self.console.logfile_read = self.transcript

    def login(self, user="root", timeout=180):
        """Log in on the console; a guest that never gets there is shut down, not left running."""
        try:
            self.console.expect("login:", timeout=timeout)
            self.console.sendline(user)
            self.console.expect(r"[#$] ", timeout=30)
            # No echo and no prompt: what comes back is exactly the command's output.
            self.console.sendline("stty -echo; PS1=")
            self.run("true")
        except BaseException:
            self.close()
            raise

    def run(self, command, timeout=60):
        """Run `command` in the guest shell; returns (status, output)."""
        self.console.sendline(f"{command}; echo @@status=$?@@")
        self.console.expect(RESULT, timeout=timeout)
        return int(self.console.match[1]), self.console.before.replace("\r", "").strip()

    def poweroff(self, timeout=120):
        """Power the guest off; returns the exit status of `scons boot` (QEMU's)."""
        self.console.sendline("poweroff")
        self.console.expect(pexpect.EOF, timeout=timeout)
        self.console.close()
        return self.console.exitstatus

    def close(self):
        if self.console.isalive():
            self.console.terminate(force=True)
