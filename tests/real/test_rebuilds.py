"""The edit matrix's kernel, module, BusyBox and overlay rows, and interruption, on the real rv64 tree.

Each test edits files of the repository, and puts them back and rebuilds when it ends, so that
every test starts from, and the module leaves, the build the README's commands make.
"""

import difflib
import os
import re
import shlex
import signal
import subprocess
import sys
import time

import pytest

from helpers import ROOT, scons
from rvbuild.steps import STEP

BUILD = f"{ROOT}/build/rv64"
FRAGMENT = "components/linux/virt.config"


def build(*args):
    result = scons("image", *args, log=f"{ROOT}/build/test-scons.log")
    return {component for _, variant, component in STEP.findall(result.stdout) if variant == "rv64"}


def read(path):
    with open(f"{ROOT}/{path}", "rb") as f:
        return f.read()


@pytest.fixture
def edit():
    """change(name, old, new) edits a file; afterwards every file is restored and rebuilt."""
    build()
    originals = {}

    def change(name, old, new):
        originals.setdefault(name, read(name))
        text = read(name).decode()
        assert old in text
        with open(f"{ROOT}/{name}", "w") as f:
            f.write(text.replace(old, new, 1))

    yield change
    for name, content in originals.items():
        with open(f"{ROOT}/{name}", "wb") as f:
            f.write(content)
    build()


def test_null_build_runs_nothing():
    build()
    assert scons("-q", "image", check=False).returncode == 0


def test_only_the_kernels_compiler_runs_behind_ccache():
    """Kbuild runs nm for every object and ar for every directory: through ccache, which cannot
    cache them, each cost another process (a fresh clone from a warm ccache took 60 s, not 50 s)."""
    build()

    def recorded(command_file):
        with open(f"{BUILD}/linux/obj/{command_file}") as f:
            return f.readline()

    assert " := ccache riscv64-linux-gnu-gcc " in recorded("init/.main.o.cmd")
    assert "ccache riscv64" not in recorded(".vmlinux.cmd") + recorded(".vmlinux.a.cmd")


def test_kernel_option_rebuilds_kernel_and_firmware(edit):
    image = read("build/rv64/linux/Image")
    modules = read("build/rv64/linux/modules.tar")
    # Not IKCONFIG, say: its built-in module's modinfo goes into modules.builtin.modinfo.
    edit(FRAGMENT, "CONFIG_PRINTK=y\n", "CONFIG_PRINTK=y\nCONFIG_PRINTK_TIME=y\n")
    # The out-of-tree module is remade against the new kernel, to the same bytes: no new image.
    assert build() == {"linux", "opensbi", "rvhello"}
    assert read("build/rv64/linux/Image") != image
    assert read("build/rv64/linux/modules.tar") == modules


def test_module_source_edit_rebuilds_that_module_and_the_image(edit):
    module = read("build/rv64/rvhello/rvhello.ko")
    edit("modules/rvhello/rvhello.c", "built by rvbuild", "built by rvbuild, edited")
    assert build() == {"rvhello", "rootfs"}
    assert read("build/rv64/rvhello/rvhello.ko") != module


def test_busybox_config_rebuilds_busybox_and_image(edit):
    edit(
        "components/busybox/busybox.config", "CONFIG_FEATURE_EDITING_HISTORY=255", "CONFIG_FEATURE_EDITING_HISTORY=100"
    )
    assert build() == {"busybox", "rootfs"}


def test_overlay_edit_rebuilds_the_image_only(edit):
    edit("components/rootfs/overlay/etc/motd", "Try `hello`.", "Try `hello` now.")
    assert build() == {"rootfs"}


def test_patch_added_rebuilds_that_component_and_image():
    """A *.patch dropped into a component's directory is applied: Dropbear and the image rebuild."""
    patch = f"{ROOT}/components/dropbear/9999-test-version.patch"
    original = '#define DROPBEAR_VERSION "2022.83"'
    lines = open(f"{ROOT}/build/src/dropbear-2022.83/sysoptions.h").read().splitlines(keepends=True)
    assert lines[6].strip() == original
    with open(patch, "w") as f:
        f.writelines(
            difflib.unified_diff(
                lines,
                lines[:6] + [original.replace('83"', '83-patched"') + "\n"] + lines[7:],
                "a/sysoptions.h",
                "b/sysoptions.h",
            )
        )
    try:
        assert build() == {"dropbear", "rootfs"}
        assert b"2022.83-patched" in read("build/rv64/dropbear/dropbear")
    finally:
        os.unlink(patch)
        build()
    assert b"2022.83-patched" not in read("build/rv64/dropbear/dropbear")


def kernel_make_compiles_nothing():
    """Kbuild's own view: rerun the kernel make exactly as the build last ran it (its log records
    the command line); it must find nothing to compile."""
    with open(f"{BUILD}/logs/linux.log") as log:
        makes = [line[2:] for line in log if line.startswith("$ make ")]
    command = [make for make in makes if make.rstrip().endswith(" Image modules")][-1]
    result = subprocess.run(shlex.split(command), capture_output=True, text=True, check=True)
    return not re.search(r"^\s+(CC|LD|AS)\s", result.stdout, re.MULTILINE)


def start_and_interrupt_kernel_make(sig, whole_group):
    log = f"{BUILD}/logs/linux.log"
    size = os.path.getsize(log)
    scons_process = subprocess.Popen(
        [sys.executable, "-m", "SCons", "-Q", "image"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.time() + 300
    while time.time() < deadline:  # wait until the kernel make is compiling
        with open(log) as f:
            f.seek(size)
            if len(re.findall(r"^\s+CC\s", f.read(), re.MULTILINE)) >= 20:
                break
        assert scons_process.poll() is None, "the build ended before it could be interrupted"
        time.sleep(0.2)
    else:
        pytest.fail("the kernel make never started compiling")
    if whole_group:
        os.killpg(scons_process.pid, sig)  # Ctrl-C in a terminal signals the whole group
    else:
        os.kill(scons_process.pid, sig)
    scons_process.wait(timeout=30)  # not the rest of the kernel build
    time.sleep(1)
    makes = subprocess.run(["pgrep", "-f", f"O={BUILD}/linux/obj"], capture_output=True, text=True).stdout
    assert makes == "", "the kernel make outlived scons"


# Ctrl-C, and scons killed outright; SIGTERM and the other steps are tried on the fake trees
# (tests/deps/test_interrupt.py), which cost seconds, not a kernel's compiles.
@pytest.mark.parametrize(
    "sig, whole_group", [(signal.SIGINT, True), (signal.SIGKILL, False)], ids=["sigint", "sigkill"]
)
def test_interrupted_kernel_build_completes_on_the_next_run(edit, sig, whole_group):
    image = read("build/rv64/linux/Image")
    edit(FRAGMENT, "CONFIG_PRINTK=y\n", "CONFIG_PRINTK=y\nCONFIG_HZ_100=y\n")
    start_and_interrupt_kernel_make(sig, whole_group)
    # SCons removes a target before building it: the old Image is gone, or still the old one.
    assert not os.path.exists(f"{BUILD}/linux/Image") or read("build/rv64/linux/Image") == image, (
        "a half-built kernel was copied out"
    )
    assert scons("-q", "image", check=False).returncode != 0, "the interrupted build counts as done"
    assert "linux" in build()
    assert "CONFIG_HZ_100=y" in read("build/rv64/linux/kernel.config").decode()
    assert scons("-q", "image", check=False).returncode == 0
    assert kernel_make_compiles_nothing()
    assert read("build/rv64/linux/Image") == read("build/rv64/linux/obj/arch/riscv/boot/Image")
