"""`scons linux-menuconfig`, driven through pexpect: one option changed in the kernel's own
menuconfig is kept as a fragment in the repository, and the next build rebuilds exactly the kernel,
the firmware, the modules and the image. `scons linux-savedefconfig` prints the minimal config."""

import os
import sys

import pexpect
import pytest

from helpers import ROOT, scons
from rvbuild import components
from test_rebuilds import build

# Out-of-tree modules build against the kernel: a kernel make remakes them.
MODULES = {c.name for c in components.with_role(components.discover(ROOT), "module")}
FRAGMENT = f"{ROOT}/components/linux/menuconfig-rv64.config"


@pytest.fixture
def fragment():
    assert not os.path.exists(FRAGMENT), f"{FRAGMENT} exists already: move it away to run this test"
    build()
    yield FRAGMENT
    if os.path.exists(FRAGMENT):
        os.unlink(FRAGMENT)
    build()


def test_menuconfig_change_is_kept_and_rebuilds_kernel_and_firmware(fragment):
    menu = pexpect.spawn(
        sys.executable,
        ["-m", "SCons", "-Q", "linux-menuconfig"],
        cwd=ROOT,
        env=dict(os.environ, TERM="xterm", ESCDELAY="25"),
        dimensions=(40, 120),
        encoding="utf-8",
        codec_errors="replace",
        timeout=300,
    )
    try:
        menu.expect("Kernel Configuration")
        menu.send("/")
        menu.expect("Search Configuration Parameter")
        menu.send("IKCONFIG\r")
        menu.expect(r"\(1\)")
        menu.send("1")  # jump to the first result: "Kernel .config support"
        menu.expect("Kernel .config support")
        menu.send("y")
        for _ in range(10):  # Esc Esc leaves a menu; at the top, it asks whether to save
            menu.send("\x1b\x1b")
            if menu.expect(["Do you wish to save", pexpect.TIMEOUT], timeout=3) == 0:
                break
        menu.send("\r")
        menu.expect(pexpect.EOF)
    finally:
        menu.close(force=True)
    assert menu.exitstatus == 0, menu.before
    assert f"wrote {fragment}: CONFIG_IKCONFIG=y" in menu.before.replace("\r", "")
    with open(fragment) as f:
        assert "CONFIG_IKCONFIG=y\n" in f.read()
    # The kernel lists IKCONFIG in modules.builtin.modinfo: the modules, and so the image, change.
    assert build() == {"linux", "opensbi", "rootfs", *MODULES}
    assert "CONFIG_IKCONFIG=y" in open(f"{ROOT}/build/rv64/linux/kernel.config").read()
    assert scons("-q", "image", check=False).returncode == 0


def test_savedefconfig_prints_the_minimal_config():
    output = scons("linux-savedefconfig").stdout
    assert "CONFIG_VIRTIO_BLK=y" in output and "savedefconfig" not in output.splitlines()[0]
    assert os.path.exists(f"{ROOT}/build/rv64/linux/menuconfig/defconfig")


def test_menuconfig_without_a_terminal_says_so():
    result = scons("linux-menuconfig", check=False)
    assert result.returncode != 0
    assert "menuconfig needs a terminal" in result.stderr
    assert not os.path.exists(FRAGMENT)
