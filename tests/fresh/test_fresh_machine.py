"""The README's commands on a freshly installed Debian 12, as a newcomer would run them.

A minbase Debian root (tests/fresh/freshroot.py) gets the committed checkout (`git archive HEAD`, so
nothing untracked can help) and the host's network settings, and nothing else. There, as root,
`./setup`, which must leave no service enabled or running; then as a normal user, with a normal
user's PATH and umask 002: `scons fetch`, the rv64 build with no network at all, and `scons boot` to
a shell; last, `./setup tests` (the README's test command), which must leave no service either. The
build must be bit for bit the one this checkout makes (another path, another time, another umask,
the same SSH key files). This checkout's ccache is shared read-only, so the kernel costs seconds,
not minutes.
"""

import glob
import hashlib
import os
import shlex
import shutil
import subprocess
import time

import pexpect
import pytest

from freshroot import USER, FreshRoot, tarball
from helpers import ROOT, free_port, scons

CHECKOUT = f"/home/{USER}/rvbuild"
OUTPUTS = ["linux/Image", "opensbi/fw_payload.elf", "rootfs/rootfs.ext4"]
TIMES = {}


def enabled_services(root):
    """The links that enable a service at boot: systemd's and SysV init's."""
    return sorted(glob.glob(f"{root.path}/etc/systemd/system/*.wants/*") + glob.glob(f"{root.path}/etc/rc[2-5].d/S*"))


def processes_in(root):
    """The command lines of the processes running in the root, left there by a command that ended."""
    found = []
    for proc in glob.glob("/proc/[0-9]*"):
        try:
            if os.readlink(f"{proc}/root") == root.path:
                with open(f"{proc}/cmdline") as f:
                    found.append(f.read().replace("\0", " ").strip())
        except OSError:
            pass  # ended meanwhile
    return found


def host_ccache_dir():
    return subprocess.run(["ccache", "-k", "cache_dir"], capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture(scope="module")
def machine(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.skip("making and entering a Debian root (mmdebstrap, chroot, mount) needs root; CI runs as root")
    log = str(tmp_path_factory.mktemp("fresh-log") / "fresh.log")
    print(f"\nfresh root log: {log}")
    # The checkout's own rv64 build, to compare with (after the boot tier it is a null build).
    scons("image", "variant=rv64", log=f"{ROOT}/build/test-scons.log")
    started = time.monotonic()
    tar = tarball(log)
    TIMES["root tarball"] = time.monotonic() - started
    os.makedirs(host_ccache_dir(), exist_ok=True)
    root = FreshRoot.unpack(
        tar, str(tmp_path_factory.mktemp("fresh") / "root"), binds={host_ccache_dir(): "/mnt/ccache"}
    )
    root.log = log
    archive = subprocess.run(
        ["git", "-C", ROOT, "archive", "--format=tar", "HEAD"], capture_output=True, check=True
    ).stdout
    assert root.run(f"useradd --create-home --shell /bin/sh {USER}", log) == 0
    os.makedirs(root.path + CHECKOUT)
    subprocess.run(["tar", "-x", "-C", root.path + CHECKOUT], input=archive, check=True)
    # The same SSH key files as this checkout's build: the image holds their public halves.
    shutil.copytree(f"{ROOT}/build/rv64/ssh", f"{root.path}{CHECKOUT}/build/rv64/ssh")
    root.enabled_before = enabled_services(root)
    root.after_setup = setup(root, "./setup")
    assert root.run(f"chown -R {USER}: {CHECKOUT}", log) == 0
    yield root
    print("\nfresh root: " + ", ".join(f"{step} {seconds:.0f} s" for step, seconds in TIMES.items()))
    subprocess.run(["rm", "-rf", "--one-file-system", root.path])


def run_as_user(root, step, script, **options):
    started = time.monotonic()
    status = root.run(
        f"cd {CHECKOUT} && {script}",
        root.log,
        user=True,
        umask="002",
        env={"CCACHE_DIR": "/mnt/ccache", "CCACHE_READONLY": "1", "CCACHE_TEMPDIR": "/tmp"},
        **options,
    )
    TIMES[step] = time.monotonic() - started
    return status


def setup(root, command):
    """Run `command` as root in the root; returns what it left enabled or running."""
    started = time.monotonic()
    status = root.run(f"cd {CHECKOUT} && {command}", root.log)
    TIMES[command] = time.monotonic() - started
    assert status == 0, f"{command} failed in the fresh root; see {root.log}"
    assert not os.path.exists(f"{root.path}/usr/sbin/policy-rc.d")  # setup's own, while it installed
    return {
        "newly enabled": sorted(set(enabled_services(root)) - set(root.enabled_before)),
        "running": processes_in(root),
    }


def test_setup_leaves_no_service_enabled_or_running(machine):
    assert machine.after_setup == {"newly enabled": [], "running": []}


def test_fetch_as_a_normal_user(machine):
    assert run_as_user(machine, "scons fetch", ".venv/bin/scons fetch progress=0") == 0, machine.log


def test_build_as_a_normal_user_with_no_network(machine):
    status = run_as_user(machine, "scons image (offline)", ".venv/bin/scons image progress=0", network=False)
    assert status == 0, f"the build failed in the fresh root; see {machine.log}"
    with open(machine.log) as log:
        closing = [line for line in log if line.startswith("rvbuild: rebuilt ")][-1]
    assert "linux (not built yet)" in closing and "rootfs (not built yet)" in closing


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def test_the_build_is_bit_for_bit_this_checkouts(machine):
    fresh = f"{machine.path}{CHECKOUT}/build/rv64"
    different = [name for name in OUTPUTS if sha256(f"{fresh}/{name}") != sha256(f"{ROOT}/build/rv64/{name}")]
    kept = f"{ROOT}/build/fresh-root-differences"
    for name in different:  # kept for diffoscope: the fresh root goes with the module
        os.makedirs(f"{kept}/{os.path.dirname(name)}", exist_ok=True)
        shutil.copy(f"{fresh}/{name}", f"{kept}/{name}.fresh")
        shutil.copy(f"{ROOT}/build/rv64/{name}", f"{kept}/{name}.here")
    assert not different, (
        f"{', '.join(different)} differ between this checkout's build and the fresh "
        f"root's; both are in {kept}/ (diffoscope shows how)"
    )


def test_boot_to_a_shell(machine):
    command = machine.command(f"cd {CHECKOUT} && .venv/bin/scons -Q boot ssh_port={free_port()}", user=True)
    console = pexpect.spawn(command[0], command[1:], encoding="utf-8", codec_errors="replace", timeout=180)
    try:
        console.expect("login:")
        console.sendline("root")
        console.expect("# ", timeout=30)
        console.sendline("echo @@$(uname -m)@@ && hello")
        console.expect("@@riscv64@@")
        console.expect("Hello from riscv64, built by rvbuild!")
        console.sendline("poweroff")
        console.expect(pexpect.EOF, timeout=120)
    finally:
        console.close(force=True)
    assert console.exitstatus == 0


def test_setup_for_the_tests_leaves_no_service_enabled_or_running(machine):
    assert setup(machine, "./setup tests") == {"newly enabled": [], "running": []}


# What the tests do with redis-tools alone: Debian's redis-server package (a service) is not there.
REDIS_PING = """
import subprocess, sys
sys.path[:0] = ["tests", "tests/deps"]
import servers
with servers.redis("/tmp/redis.log") as port:
    ping = subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True, text=True)
sys.exit(ping.stdout != "PONG\\n")
"""


def test_the_tests_redis_serves_without_redis_server(machine):
    script = f"! command -v redis-server && .venv/bin/python -c {shlex.quote(REDIS_PING)}"
    assert run_as_user(machine, "redis ping", script) == 0, machine.log
