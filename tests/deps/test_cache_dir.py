"""cache_dir=: SCons' CacheDir holds whole artifacts (kernel, firmware, packages, image), so a clone
of the same layout at another path retrieves them without running a make, and any changed input
misses. Each clone here is a copy of one pristine project, at its own absolute path."""

import os
import re
import shutil

import pytest

from fake_project import WITHOUT_FAKE, Project, copy_project
from helpers import ROOT
from rvbuild import components

RETRIEVED = re.compile(r"^Retrieved `build/rv64/([a-z0-9_-]+)/", re.MULTILINE)
FOUND = {name: c for name, c in components.discover(ROOT).items() if c.directory not in WITHOUT_FAKE}
PARTS = components.for_image(FOUND, "opensbi")
EVERYTHING = {c.name for c in components.listed(PARTS)}
# Out-of-tree modules build against the kernel: what rebuilds it remakes them.
MODULES = {c.name for c in PARTS["modules"]}
OTHER_GCC = """#!/bin/sh
# The cross compiler as another build of it: another identity, the same code.
[ "$1" = --version ] && exec echo "riscv64-linux-gnu-gcc (rebuilt by someone) 12.2.0"
exec {gcc} "$@"
"""


class Team:
    """Checkouts of one pristine project sharing a cache directory (and, for the image to be
    shared too, the SSH keys of the first one)."""

    def __init__(self, root):
        self.root = root
        self.pristine = copy_project(str(root / "pristine"))
        self.cache = root / "cache"
        self.env = dict(os.environ, CCACHE_DIR=str(root / "ccache"))
        self.first = self.clone("first")
        self.first.build()

    def clone(self, name, env=None, options=()):
        path = shutil.copytree(self.pristine, self.root / name / "rvbuild", symlinks=True)  # copies keep mtimes
        if name != "first":
            shutil.copytree(self.first.file("build/rv64/ssh"), path / "build/rv64/ssh")
        return Project(str(path), env=env or self.env, options=[f"cache_dir={self.cache}", *options])


@pytest.fixture(scope="module")
def team(tmp_path_factory):
    return Team(tmp_path_factory.mktemp("cache_dir"))


def build(project):
    """(components that ran their build steps, components retrieved from the cache, output)."""
    _, built, output = project.build()
    return built - {"ssh"}, set(RETRIEVED.findall(output)), output


def test_identical_clone_retrieves_everything_and_builds_on_from_there(team):
    clone = team.clone("identical")
    built, retrieved, output = build(clone)
    assert (built, retrieved) == (set(), EVERYTHING)
    assert not os.path.exists(clone.file("build/rv64/linux/local/obj"))  # no make ran
    assert "linux (not built yet; from cache_dir)" in output
    for artifact in ("linux/Image", "opensbi/fw_payload.elf", "busybox/busybox", "hello/hello", "rootfs/rootfs.ext4"):
        with (
            open(clone.file(f"build/rv64/{artifact}"), "rb") as mine,
            open(team.first.file(f"build/rv64/{artifact}"), "rb") as theirs,
        ):
            assert mine.read() == theirs.read(), artifact
    assert clone.up_to_date()
    # An edit builds on: the kernel's make runs in an obj/ that never held a build.
    clone.edit("components/linux/virt.config", lambda text: text + "CONFIG_HZ_100=y\n")
    built, retrieved, _ = build(clone)
    assert (built, retrieved) == ({"linux", "opensbi", *MODULES}, set())
    assert clone.up_to_date()


def edit_fragment(project):
    project.edit("components/linux/virt.config", lambda text: text + "CONFIG_HZ_250=y\n")


def edit_busybox_option(project):
    project.edit(
        "components/busybox/busybox.config",
        lambda text: text.replace("CONFIG_FEATURE_EDITING_HISTORY=255", "CONFIG_FEATURE_EDITING_HISTORY=99"),
    )


@pytest.mark.parametrize(
    "change, options, other_gcc, rebuilt",
    [
        (edit_fragment, (), False, {"linux", "opensbi", *MODULES}),
        (edit_busybox_option, (), False, {"busybox", "rootfs"}),
        # The same code from a compiler that says it is another build: the image's inputs come out
        # the same, and it is retrieved.
        (
            None,
            (),
            True,
            {"linux", "opensbi", "busybox", "dropbear", "zlib", "ncurses", "htop", "hello", "zlib-roundtrip", *MODULES},
        ),
        (
            None,
            ("userspace_cflags=-g",),
            False,
            {"busybox", "dropbear", "zlib", "ncurses", "htop", "hello", "zlib-roundtrip", "rootfs"},
        ),
    ],
    ids=["kernel-fragment", "busybox-option", "toolchain-identity", "option"],
)
def test_a_changed_input_misses(team, tmp_path, change, options, other_gcc, rebuilt):
    env = team.env
    if other_gcc:
        gcc = tmp_path / "bin" / "riscv64-linux-gnu-gcc"
        gcc.parent.mkdir()
        gcc.write_text(OTHER_GCC.format(gcc=shutil.which("riscv64-linux-gnu-gcc")))
        gcc.chmod(0o755)
        env = dict(env, PATH=f"{gcc.parent}{os.pathsep}{env['PATH']}")
    clone = team.clone(tmp_path.name, env=env, options=options)
    if change:
        change(clone)
    built, retrieved, _ = build(clone)
    # Steps that do not depend on what changed are retrieved while the rest of their component builds:
    # OpenSBI's libraries (not on the kernel), ncurses' terminfo (not on the compiler), and a
    # program's sysroot when its library came out the same.
    ahead = {"opensbi"} if "opensbi" in rebuilt and not other_gcc else set()
    ahead |= {"ncurses"} & rebuilt | ({"zlib-roundtrip"} if other_gcc else set())
    assert (built, retrieved) == (rebuilt, EVERYTHING - rebuilt | ahead)
