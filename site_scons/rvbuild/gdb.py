"""gdb on the kernel of a guest that QEMU holds at its first instruction: gdb's command line, the
file beside vmlinux that loads the kernel's gdb scripts, and gdb run on the terminal."""

import os
import signal

GDB = "gdb-multiarch"


def scripts_loader(obj):
    """vmlinux-gdb.py beside build/<variant>-debug/linux/vmlinux, which gdb runs when it loads
    vmlinux: it runs the kernel's own loader, made by `make scripts_gdb` in `obj` (relative to it),
    as a file of its own (gdb's `source` would leave it this file's __file__), so that it finds its
    modules beside it."""
    return f"""\
# Written by rvbuild: the kernel's gdb scripts (lx-dmesg, lx-symbols, ...), from its build in {obj}/.
import os
import runpy
import sys

import gdb

runpy.run_path(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), {obj!r}, "vmlinux-gdb.py"),
    init_globals={{"gdb": gdb, "sys": sys}},
)
"""


def command(vmlinux, port, scripts=True):
    """gdb on `vmlinux`, connected to QEMU's gdb stub on 127.0.0.1:`port`; with `scripts`, gdb may
    load the vmlinux-gdb.py beside vmlinux (its auto-load safe-path otherwise refuses it)."""
    vmlinux = os.path.abspath(vmlinux)
    trust = ["-iex", f"add-auto-load-safe-path {os.path.dirname(vmlinux)}"] if scripts else []
    return [GDB, "-q", *trust, "-ex", f"target remote 127.0.0.1:{int(port)}", vmlinux]


def call_on_terminal(command, terminal):
    """Run `command` as the foreground process group of `terminal` (a file descriptor) and return its
    exit status. Ctrl-C then reaches gdb alone, which stops the guest, rather than scons as well;
    Ctrl-Z stops scons with it, and the shell's `fg` hands the terminal back to gdb."""
    foreground = os.tcgetpgrp(terminal)
    pid = os.posix_spawnp(command[0], command, os.environ, setpgroup=0)
    # A process group not in the foreground may pass the terminal on only with SIGTTOU blocked.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTTOU})
    try:
        while True:
            os.tcsetpgrp(terminal, pid)
            os.killpg(pid, signal.SIGCONT)  # had gdb touched the terminal before it was its own, it stopped
            _, status = os.waitpid(pid, os.WUNTRACED)
            if not os.WIFSTOPPED(status):
                return os.waitstatus_to_exitcode(status)
            os.tcsetpgrp(terminal, foreground)
            os.killpg(os.getpgrp(), signal.SIGSTOP)  # until `fg`
    finally:
        os.tcsetpgrp(terminal, foreground)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTTOU})
