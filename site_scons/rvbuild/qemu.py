"""QEMU command lines for booting a built variant, and SSH into it; the check that its SSH port is free."""
import socket

from rvbuild import BuildError

SSH_OPTIONS = ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
               "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=10"]


def command(qemu, firmware_args, image, ssh_port, memory="256M", smp=2, snapshot=True, console_log=None):
    """The guest's disk, network (SSH forwarded from 127.0.0.1 only) and entropy on virtio-mmio;
    the serial console on the terminal (Ctrl-A X leaves), and copied to `console_log`."""
    console = []
    if console_log:
        console = ["-chardev", f"stdio,id=console,mux=on,signal=off,logfile={console_log}",
                   "-serial", "chardev:console", "-mon", "chardev=console,mode=readline"]
    return [qemu, "-M", "virt", "-m", str(memory), "-smp", str(smp), "-nographic", "-no-reboot",
            *console, *firmware_args,
            "-drive", f"file={image},format=raw,if=none,id=hd0", "-device", "virtio-blk-device,drive=hd0",
            "-netdev", f"user,id=net0,hostfwd=tcp:127.0.0.1:{int(ssh_port)}-:22",
            "-device", "virtio-net-device,netdev=net0",
            "-object", "rng-random,filename=/dev/urandom,id=rng0", "-device", "virtio-rng-device,rng=rng0",
            *(["-snapshot"] if snapshot else [])]


def ssh_command(key, port, *remote):
    return ["ssh", "-i", key, "-p", str(int(port)), *SSH_OPTIONS, "root@127.0.0.1", *remote]


def require_free_port(port):
    """Fail unless QEMU can listen on 127.0.0.1:`port` for the SSH forward, which it
    cannot share (QEMU itself would stop with "Could not set up host forwarding rule")."""
    with socket.socket() as probe:
        # What QEMU's user network sets too: a port left in TIME_WAIT is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", int(port)))
        except OSError as error:
            raise BuildError(f"port {port} on 127.0.0.1 is not free for SSH ({error.strerror}; "
                             f"another `scons boot`?); choose another with ssh_port=, "
                             f"e.g. ssh_port={_free_port()}") from None


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
