"""QEMU command lines for booting a built variant, the disk that persist=1 boots, SSH into it, and
the check that its SSH port is free.

Paths may hold any character: QEMU option values have their commas doubled, SSH option values
are quoted and their `%` doubled.
"""

import dataclasses
import datetime
import os
import shutil
import subprocess

from rvbuild import BuildError
from rvbuild.fetch import sha256_of

# The name the guest's host key is known by in build/<variant>/ssh/known_hosts, whatever the port.
HOST_KEY_ALIAS = "rvbuild-guest"
PERSIST_OVERLAY = "rootfs.qcow2"
PERSIST_BASE = "rootfs.base.ext4"
PERSIST_BASE_SHA256 = "rootfs.base.sha256"


def option_value(text):
    """`text` as a value inside a QEMU `key=value,...` option: a comma is written twice."""
    return str(text).replace(",", ",,")


def command(
    qemu,
    firmware_args,
    disk,
    ssh_port,
    memory="256M",
    # One hart. With two (QEMU 7.2, a host thread each), about one ssh session in 350 died at a random
    # point: Dropbear's process in the guest took a SIGSEGV at address 0x4 (seen with strace); none
    # in 3000 with one hart, nor with both on one host thread, which made the boot 3 s slower.
    smp=1,
    snapshot=True,
    console_log=None,
    disk_format="raw",
    guest_net=False,
    gdb_port=None,
    terminal=True,
):
    """The guest's disk, network and entropy on virtio-mmio; the serial console on the terminal
    (Ctrl-A X leaves), and copied to `console_log`. SSH is forwarded from 127.0.0.1 only; the guest
    reaches nothing on the host or beyond (QEMU's restrict=on) unless `guest_net`. With `gdb_port`,
    QEMU waits at the first instruction for gdb on 127.0.0.1:`gdb_port`. Without `terminal`, the
    console goes to `console_log` alone and QEMU reads no terminal (gdb has it)."""
    console = []
    if console_log and not terminal:
        console = ["-chardev", f"file,id=console,path={option_value(console_log)}", "-serial", "chardev:console"]
        console += ["-monitor", "none"]
    elif console_log:
        console = [
            "-chardev",
            f"stdio,id=console,mux=on,signal=off,logfile={option_value(console_log)}",
            "-serial",
            "chardev:console",
            "-mon",
            "chardev=console,mode=readline",
        ]
    restrict = "" if guest_net else "restrict=on,"
    return [
        qemu,
        "-M",
        "virt",
        "-m",
        str(memory),
        "-smp",
        str(smp),
        "-nographic",
        "-no-reboot",
        *console,
        *firmware_args,
        "-drive",
        f"file={option_value(disk)},format={disk_format},if=none,id=hd0",
        "-device",
        "virtio-blk-device,drive=hd0",
        "-netdev",
        f"user,id=net0,{restrict}hostfwd=tcp:127.0.0.1:{int(ssh_port)}-:22",
        "-device",
        "virtio-net-device,netdev=net0",
        "-object",
        "rng-random,filename=/dev/urandom,id=rng0",
        "-device",
        "virtio-rng-device,rng=rng0",
        *(["-snapshot"] if snapshot else []),
        *(["-S", "-gdb", f"tcp:127.0.0.1:{int(gdb_port)}"] if gdb_port else []),
    ]


def _read(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except FileNotFoundError:
        return None


def _set_aside_name(directory, now):
    stamp = now.strftime("%Y%m%d-%H%M%S")
    name, number = f"{directory}.{stamp}.old", 1
    while os.path.lexists(name):
        number += 1
        name = f"{directory}.{stamp}-{number}.old"
    return name


def _make_persistent_disk(image, directory, digest):
    """Fill `directory` through a temporary sibling, so it is either complete or absent."""
    partial = f"{directory}.partial"
    if os.path.lexists(partial):
        shutil.rmtree(partial)
    os.makedirs(partial)
    base = os.path.join(partial, PERSIST_BASE)
    # A copy rather than the image itself: a rebuild then leaves the overlay's base intact.
    subprocess.run(["cp", "--sparse=always", "--reflink=auto", image, base], check=True)
    result = subprocess.run(
        ["qemu-img", "create", "-q", "-f", "qcow2", "-b", PERSIST_BASE, "-F", "raw", PERSIST_OVERLAY],
        cwd=partial,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise BuildError(f"qemu-img could not make the persistent disk: {result.stderr.strip()}")
    with open(os.path.join(partial, PERSIST_BASE_SHA256), "w") as f:
        f.write(digest + "\n")
    os.rename(partial, directory)


def persistent_disk(image, directory, now=None):
    """The qcow2 overlay in `directory` that persist=1 boots read-write; returns (its path, message).

    The overlay sits on a copy of `image` taken when it was made, so what the guest wrote is kept
    across boots until the image is rebuilt. Then the whole directory (base and overlay, still
    readable together) is moved aside to `<directory>.<time>.old`, a fresh one is made on the new
    image, and the message says where the old one went and why; otherwise the message is None.
    """
    overlay = os.path.join(directory, PERSIST_OVERLAY)
    digest = sha256_of(image)
    message = None
    if os.path.lexists(directory):
        if _read(os.path.join(directory, PERSIST_BASE_SHA256)) == digest and os.path.exists(overlay):
            return overlay, None
        old = _set_aside_name(directory, now or datetime.datetime.now())
        os.rename(directory, old)
        message = (
            f"rvbuild: {image} was rebuilt since the persistent disk was made on it, so the guest "
            f"starts from the new image. What the guest wrote before is kept in {old}/ "
            f"(`qemu-img convert -O raw {os.path.join(old, PERSIST_OVERLAY)} old.ext4` "
            f"makes an image of that disk)."
        )
    _make_persistent_disk(image, directory, digest)
    return overlay, message


def known_hosts_line(public_key):
    """The known_hosts line trusting `public_key` (the text of an OpenSSH .pub file) for the guest."""
    kind, blob = public_key.split()[:2]
    return f"{HOST_KEY_ALIAS} {kind} {blob}\n"


def _ssh_path(path):
    """A path as an ssh -o value: quoted (spaces), with `%` doubled (ssh expands %-tokens in it)."""
    escaped = str(path).replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%")
    return f'"{escaped}"'


def ssh_command(key, known_hosts, port, *remote):
    """ssh as root into the guest on 127.0.0.1:`port`.

    It trusts only the host key in `known_hosts` (refusing any other server on the port) and
    offers only `key`: no agent, no user or system ssh config, no forwarding, never a prompt.
    """
    options = {
        "IdentityFile": _ssh_path(key),
        "IdentitiesOnly": "yes",
        "IdentityAgent": "none",
        "PreferredAuthentications": "publickey",
        "BatchMode": "yes",
        "UserKnownHostsFile": _ssh_path(known_hosts),
        "GlobalKnownHostsFile": "/dev/null",
        "HostKeyAlias": HOST_KEY_ALIAS,
        "StrictHostKeyChecking": "yes",
        "UpdateHostKeys": "no",
        "ForwardAgent": "no",
        "ForwardX11": "no",
        "ClearAllForwardings": "yes",
        "ConnectTimeout": "10",
        "LogLevel": "ERROR",
    }
    return [
        "ssh",
        "-F",
        "none",
        "-p",
        str(int(port)),
        *(arg for name, value in options.items() for arg in ("-o", f"{name}={value}")),
        "root@127.0.0.1",
        *remote,
    ]


def require_free_port(port, purpose="SSH", option="ssh_port"):
    """Fail unless QEMU can listen on 127.0.0.1:`port` for the SSH forward (or its gdb stub), which
    it cannot share (QEMU itself would stop with "Could not set up host forwarding rule")."""
    import socket  # here, not at the top: most builds never need it

    with socket.socket() as probe:
        # What QEMU's user network sets too: a port left in TIME_WAIT is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", int(port)))
        except OSError as error:
            raise BuildError(
                f"port {port} on 127.0.0.1 is not free for {purpose} ({error.strerror}; "
                f"another `scons boot`?); choose another with {option}=, "
                f"e.g. {option}={free_port()}"
            ) from None


def free_port():
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclasses.dataclass(frozen=True)
class Machine:
    """What one built variant boots, and how to log into it (nodes)."""

    firmware: object
    image: object
    firmware_args: list  # QEMU's arguments for the firmware, $SOURCE being the firmware
    ssh_key: object
    known_hosts: object
    persist_dir: str
    vmlinux: object
    gdb_scripts: list  # vmlinux-gdb.py of a debug=1 kernel, or none
    debug: bool

    def firmware_arguments(self, env):
        return [env.subst(arg, source=[self.firmware]) for arg in self.firmware_args]

    def ssh_command(self, port, *remote):
        return ssh_command(self.ssh_key.abspath, self.known_hosts.abspath, port, *remote)
