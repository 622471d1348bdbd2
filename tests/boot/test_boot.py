"""Build each variant for real, boot it with `scons boot` and prove it works, on the console and
over SSH. The serial log of each boot is kept in build/<variant>/logs/console.log."""

import os
import subprocess

import pytest

from guest import Guest
from helpers import ROOT, free_port, scons
from rvbuild import qemu, variants

RISCV_PK_URL = os.environ.get("RVBUILD_RISCV_PK_URL", "https://github.com/riscv-software-src/riscv-pk")

# (scons options, uname -m, uname -r prefix)
VARIANTS = {
    "rv64": (["variant=rv64"], "riscv64", "6.1."),
    "rv32": (["variant=rv32"], "riscv32", "6.1."),
    "rv64-linux6.12": (["variant=rv64-linux6.12"], "riscv64", "6.12."),
    "rv64-bbl": (["variant=rv64", "firmware=bbl", f"riscv_pk_url={RISCV_PK_URL}"], "riscv64", "6.1."),
}


def build_dir(options):
    settings = dict(option.split("=", 1) for option in options)
    variant = variants.load(
        f"{ROOT}/variants",
        settings.pop("variant"),
        **{key: value for key, value in settings.items() if key in variants.OVERRIDES},
    )
    return f"{ROOT}/build/{variant['build_name']}"


def riscv_pk_reachable():
    result = subprocess.run(["git", "ls-remote", RISCV_PK_URL, "HEAD"], capture_output=True, text=True, timeout=60)
    return result.returncode == 0


@pytest.fixture(scope="module", params=list(VARIANTS))
def guest(request):
    options, machine, release = VARIANTS[request.param]
    if "firmware=bbl" in options and not riscv_pk_reachable():
        pytest.skip(
            f"riscv-pk (the BBL source) is unreachable at {RISCV_PK_URL}: "
            f"set RVBUILD_RISCV_PK_URL to a clone of it to run the BBL boot test"
        )
    scons("image", *options, log=f"{ROOT}/build/test-scons.log")
    machine_under_test = Guest(options, free_port())
    machine_under_test.facts = dict(machine=machine, release=release, build=build_dir(options))
    machine_under_test.login()
    yield machine_under_test
    machine_under_test.close()


def test_machine_and_kernel_version(guest):
    assert guest.run("uname -m") == (0, guest.facts["machine"])
    status, release = guest.run("uname -r")
    assert status == 0 and release.startswith(guest.facts["release"])
    # A fixed, readable build date (reproducible builds), not `@0`.
    assert guest.run("uname -v") == (0, "#1 SMP Tue Nov 14 22:13:20 UTC 2023")


def test_eth0_has_an_address(guest):
    status, output = guest.run("ip -4 addr show dev eth0")
    assert status == 0 and "inet 10.0.2.15/" in output


def test_hello_runs_in_the_guest(guest):
    assert guest.run("hello") == (0, f"Hello from {guest.facts['machine']}, built by rvbuild!")


def test_modprobe_loads_the_out_of_tree_module_and_an_in_tree_one(guest):
    """modules/rvhello, built with Kbuild's M=, and loop (an =m option), found through the depmod
    data in /lib/modules/<release>/."""
    assert guest.run("dmesg -n 1") == (0, "")  # the kernel's lines go to dmesg, not amid the output
    assert guest.run("modprobe rvhello && cat /proc/rvhello") == (
        0,
        "Hello from rvhello, an out-of-tree module built by rvbuild",
    )
    status, log = guest.run("dmesg | grep rvhello:")
    assert status == 0 and log.splitlines()[-1].endswith("rvhello: loaded, read /proc/rvhello")
    assert guest.run("modprobe loop && lsmod | cut -d' ' -f1 | sort") == (0, "loop\nrvhello")
    assert guest.run("modprobe -r rvhello && test ! -e /proc/rvhello && dmesg | tail -1")[1].endswith(
        "rvhello: unloaded"
    )


def test_files_belong_to_root(guest):
    assert guest.run("stat -c '%u:%g %a' /etc/shadow /root/.ssh/authorized_keys") == (0, "0:0 600\n0:0 600")


def test_ssh_from_the_host_with_the_generated_key(guest):
    ssh = f"{guest.facts['build']}/ssh"
    command = qemu.ssh_command(f"{ssh}/id_ed25519", f"{ssh}/known_hosts", guest.ssh_port, "hello && uname -n")
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"Hello from {guest.facts['machine']}, built by rvbuild!", "rvbuild"]


def test_poweroff_ends_qemu_cleanly(guest):
    assert guest.poweroff() == 0
    with open(f"{guest.facts['build']}/logs/console.log", errors="replace") as log:
        assert "login:" in log.read()
    for name in ("linux", "busybox", "dropbear"):
        assert os.path.getsize(f"{guest.facts['build']}/logs/{name}.log") > 0
