"""Who reaches the rv64 guest, and what it reaches, through the real `scons boot`: SSH trusts
only the build's host key and logs in only with the build's key, from 127.0.0.1 only; the guest
cannot reach the host unless guest_net=1; persist=1 keeps what the guest wrote until the image is
rebuilt, and then says where it went.

Four boots: a plain guest, two persistent ones (the second with guest_net=1) and one after a
rebuild. The module borrows build/rv64/persist and gives a developer's own back afterwards.
"""

import glob
import os
import shutil
import socket
import subprocess
import sys
import threading
import time

import pytest

from guest import Guest
from helpers import ROOT, free_port, scons
from rvbuild import qemu

OPTIONS = ["variant=rv64"]
BUILD = f"{ROOT}/build/rv64"
KEY, KNOWN_HOSTS, HOST_KEY_PUB = (
    f"{BUILD}/ssh/{name}" for name in ("id_ed25519", "known_hosts", "host_ed25519_key.pub")
)
PERSIST = f"{BUILD}/persist"
HELLO = "Hello from riscv64, built by rvbuild!"


def build_image(*options):
    scons("image", *OPTIONS, *options, log=f"{ROOT}/build/test-scons.log")


def boot(*options):
    machine = Guest([*OPTIONS, *options], free_port())
    machine.login()
    return machine


def ssh(port, *remote, first_options=()):
    """rvbuild's ssh command; `first_options` come before its own, so they win."""
    command = qemu.ssh_command(KEY, KNOWN_HOSTS, port, *remote)
    return subprocess.run(
        [command[0], *first_options, *command[1:]],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def read(path):
    with open(path) as f:
        return f.read()


def guest_host_key(machine):
    """The public half of the host key the guest's dropbear serves, as `type base64`."""
    status, output = machine.run("dropbearkey -y -f /etc/dropbear/dropbear_ed25519_host_key")
    assert status == 0, output
    return " ".join(next(line for line in output.splitlines() if line.startswith("ssh-")).split()[:2])


def reach_host(machine, listener):
    return machine.run(f"nc 10.0.2.2 {listener.port} </dev/null 2>&1", timeout=30)


@pytest.fixture(scope="module")
def built():
    build_image()


@pytest.fixture(scope="module")
def guest(built):
    machine = boot()
    yield machine
    machine.close()


class HostListener:
    """A TCP server on the host's 127.0.0.1 that greets whoever connects, and counts them."""

    def __init__(self):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.connections = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            self.connections += 1
            with connection:
                connection.sendall(b"hello from the host\n")


@pytest.fixture(scope="module")
def host_listener():
    listener = HostListener()
    yield listener
    listener.server.close()


@pytest.fixture(scope="module")
def own_persist_dir(built):
    """build/rv64/persist for these tests alone; a developer's own is set back when they end, and
    the disks they set aside are left alone. Yields a function listing the disks the tests set aside."""
    saved = f"{BUILD}/persist.saved-by-tests"
    if os.path.exists(PERSIST):
        os.rename(PERSIST, saved)
    theirs = set(glob.glob(f"{PERSIST}.*.old"))
    yield lambda: sorted(set(glob.glob(f"{PERSIST}.*.old")) - theirs)
    for path in [PERSIST, *set(glob.glob(f"{PERSIST}.*.old")) - theirs]:
        if os.path.exists(path):
            shutil.rmtree(path)
    if os.path.exists(saved):
        os.rename(saved, PERSIST)


@pytest.fixture(scope="module")
def reopened(own_persist_dir, host_listener):
    """A guest booted with persist=1 guest_net=1, after a persist=1 boot that wrote /root/kept."""
    first = boot("persist=1")
    try:
        assert first.run("echo written in the first boot > /root/kept && sync") == (0, "")
        assert first.poweroff() == 0
    finally:
        first.close()
    machine = boot("persist=1", "guest_net=1")
    yield machine
    machine.close()


def test_scons_ssh_logs_in_with_the_build_key(guest):
    result = subprocess.run(
        [sys.executable, "-m", "SCons", "-Q", "ssh", *OPTIONS, f"ssh_port={guest.ssh_port}"],
        cwd=ROOT,
        input="hello; uname -n\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert f"{HELLO}\nrvbuild\n" in result.stdout


def test_guest_serves_the_build_host_key_which_only_root_reads(guest):
    assert read(KNOWN_HOSTS) == f"{qemu.HOST_KEY_ALIAS} {' '.join(read(HOST_KEY_PUB).split()[:2])}\n"
    assert guest_host_key(guest) == " ".join(read(HOST_KEY_PUB).split()[:2])
    assert guest.run("stat -c '%u:%g %a' /etc/dropbear /etc/dropbear/dropbear_ed25519_host_key") == (
        0,
        "0:0 700\n0:0 600",
    )


def test_a_running_guest_holds_no_build_lock(guest):
    # `scons boot` lets the next build in once QEMU starts: here the checkout is up to date.
    assert scons("-q", "image", *OPTIONS, check=False).returncode == 0


def test_password_login_is_refused(guest):
    result = ssh(
        guest.ssh_port,
        "true",
        first_options=["-o", "PreferredAuthentications=password,keyboard-interactive", "-o", "PubkeyAuthentication=no"],
    )
    assert result.returncode == 255
    # The server offers nothing but keys.
    assert "Permission denied (publickey)" in result.stderr


def test_another_server_on_the_port_is_refused(built, tmp_path):
    stranger_key, port = str(tmp_path / "stranger_host_key"), free_port()
    subprocess.run(["dropbearkey", "-t", "ed25519", "-f", stranger_key], check=True, capture_output=True)
    server = subprocess.Popen(
        ["dropbear", "-F", "-E", "-p", f"127.0.0.1:{port}", "-r", stranger_key, "-P", str(tmp_path / "dropbear.pid")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except ConnectionRefusedError:
                assert server.poll() is None, server.stderr.read()
                time.sleep(0.1)
        result = ssh(port, "true")
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert result.returncode == 255
    assert "REMOTE HOST IDENTIFICATION HAS CHANGED" in result.stderr
    assert "Host key verification failed." in result.stderr


def listeners(port):
    """Local addresses (hex, as in /proc/net/tcp*) of the sockets listening on `port`."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for line in f.readlines()[1:]:
                local, state = line.split()[1], line.split()[3]
                address, local_port = local.rsplit(":", 1)
                if state == "0A" and int(local_port, 16) == port:
                    found.append(address)
    return found


def test_ssh_forward_listens_on_loopback_only(guest):
    assert listeners(guest.ssh_port) == ["0100007F"]  # 127.0.0.1, and nothing on IPv6
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # sends nothing: it only picks this machine's outgoing address
            address = probe.getsockname()[0]
        except OSError:
            address = "127.0.0.1"  # no route out: loopback is all there is
    if not address.startswith("127."):
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((address, guest.ssh_port), timeout=10).close()


def test_guest_cannot_reach_the_host(guest, host_listener):
    status, output = reach_host(guest, host_listener)
    assert status != 0 and "hello from the host" not in output
    assert host_listener.connections == 0


def test_guest_net_lets_the_guest_reach_the_host(reopened, host_listener):
    assert reach_host(reopened, host_listener) == (0, "hello from the host")
    assert host_listener.connections == 1


def test_host_key_is_the_same_every_boot(guest, reopened):
    assert guest_host_key(reopened) == guest_host_key(guest)
    for machine in (guest, reopened):
        result = ssh(machine.ssh_port, "hello")
        assert (result.returncode, result.stdout) == (0, f"{HELLO}\n"), result.stderr


def test_persist_keeps_what_the_guest_wrote(reopened):
    assert reopened.run("cat /root/kept") == (0, "written in the first boot")


def test_rebuilt_image_sets_the_persistent_disk_aside_and_says_where(reopened, own_persist_dir, tmp_path):
    assert reopened.poweroff() == 0
    try:
        # A different image size is an image rebuild that edits nothing in the checkout.
        rebuilt = boot("persist=1", "rootfs_size=40M")
        try:
            printed = rebuilt.transcript.getvalue()
            set_aside = own_persist_dir()
            assert "ROOTFS   build/rv64/rootfs/rootfs.ext4" in printed and len(set_aside) == 1
            assert "rootfs.ext4 was rebuilt since the persistent disk was made on it" in printed
            assert f"What the guest wrote before is kept in {set_aside[0]}/" in printed
            assert rebuilt.run("cat /root/kept")[0] != 0
            assert rebuilt.poweroff() == 0
        finally:
            rebuilt.close()
        # The disk set aside still holds what the first boots wrote, as the message says.
        old_image = str(tmp_path / "old.ext4")
        subprocess.run(["qemu-img", "convert", "-O", "raw", f"{set_aside[0]}/rootfs.qcow2", old_image], check=True)
        kept = subprocess.run(["debugfs", "-R", "cat /root/kept", old_image], capture_output=True, text=True)
        assert kept.stdout == "written in the first boot\n"
    finally:
        build_image()
