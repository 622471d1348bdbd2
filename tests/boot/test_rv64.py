"""Build rv64 for real, boot it in QEMU and prove it works, on the console and over SSH."""
import os
import subprocess

import pytest

from helpers import ROOT, free_port, scons
from guest import boot
from rvbuild import qemu

BUILD = f"{ROOT}/build/rv64"


@pytest.fixture(scope="module")
def built():
    scons("variant=rv64", "image", log=f"{ROOT}/build/test-scons.log")
    return BUILD


@pytest.fixture(scope="module")
def guest(built):
    port = free_port()
    machine = boot(built, ["-bios", f"{built}/opensbi/fw_payload.elf"], "qemu-system-riscv64", port,
                   f"{built}/logs/boot-test.log")
    machine.ssh_port = port
    machine.login()
    yield machine
    machine.close()


def test_machine_is_64_bit_riscv_running_linux_6_1(guest):
    assert guest.run("uname -m") == (0, "riscv64")
    status, release = guest.run("uname -r")
    assert status == 0 and release.startswith("6.1.")


def test_eth0_has_an_address(guest):
    status, output = guest.run("ip -4 addr show dev eth0")
    assert status == 0 and "inet 10.0.2.15/" in output


def test_hello_runs_in_the_guest(guest):
    assert guest.run("hello") == (0, "Hello from riscv64, built by rvbuild!")


def test_files_belong_to_root(guest):
    assert guest.run("stat -c '%u:%g %a' /etc/shadow /root/.ssh/authorized_keys") == (0, "0:0 600\n0:0 600")


def test_ssh_from_the_host_with_the_generated_key(guest):
    command = qemu.ssh_command(f"{BUILD}/ssh/id_ed25519", guest.ssh_port, "hello && uname -n")
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["Hello from riscv64, built by rvbuild!", "rvbuild"]


def test_poweroff_ends_qemu_cleanly(guest):
    assert guest.poweroff() == 0


def test_component_logs_are_kept(built):
    for name in ("linux", "busybox", "dropbear", "opensbi"):
        assert os.path.getsize(f"{built}/logs/{name}.log") > 0
