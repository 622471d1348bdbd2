"""strace, a package left out of the image unless selected: `packages=strace` puts it in the rv64
image, where it traces a command; the default image has none."""

from helpers import ROOT, debugfs, scons, scons_without_terminal

IMAGE = f"{ROOT}/build/rv64/rootfs/rootfs.ext4"


def run_in_guest(cmd, *options):
    """A real `scons run` (its own guest, booted in the background), with no terminal."""
    return scons_without_terminal("run", "variant=rv64", f"cmd={cmd}", *options, timeout=1200)


def test_strace_selected_traces_a_command_in_the_guest():
    scons("image", "variant=rv64", "packages=strace", log=f"{ROOT}/build/test-strace.log")
    ran = run_in_guest("strace -e trace=uname uname -m", "packages=strace")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    # strace writes its trace to stderr, the command its output to stdout: both reach scons' output.
    output = ran.stdout + ran.stderr
    assert 'uname({sysname="Linux", nodename="rvbuild", ...}) = 0' in output
    assert "riscv64" in ran.stdout
    assert "+++ exited with 0 +++" in output


def test_default_image_has_no_strace():
    scons("image", "variant=rv64", log=f"{ROOT}/build/test-strace.log")
    assert "Inode:" in debugfs(IMAGE, "stat /usr/bin/dbclient")
    assert "Inode:" not in debugfs(IMAGE, "stat /usr/bin/strace")
