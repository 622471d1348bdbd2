"""Host programs the build runs, and the Debian package that provides each."""

import os
import shutil

from rvbuild import BuildError

DEBIAN_PACKAGE = {
    "riscv64-linux-gnu-gcc": "gcc-riscv64-linux-gnu",
    "riscv64-linux-gnu-g++": "g++-riscv64-linux-gnu",
    "qemu-system-riscv64": "qemu-system-misc",
    "qemu-system-riscv32": "qemu-system-misc",
    "make": "make",
    "gcc": "gcc",
    "flex": "flex",
    "bison": "bison",
    "bc": "bc",
    "perl": "perl",
    "cpio": "cpio",
    "patch": "patch",
    "tar": "tar",
    "find": "findutils",
    "xz": "xz-utils",
    "bzip2": "bzip2",
    "gzip": "gzip",
    "dpkg-deb": "dpkg",
    "mkfs.ext4": "e2fsprogs",
    "debugfs": "e2fsprogs",
    "dumpe2fs": "e2fsprogs",
    "depmod": "kmod",
    "git": "git",
    "setpriv": "util-linux",
    "timeout": "coreutils",
    "fakeroot": "fakeroot",
    "dtc": "device-tree-compiler",
    "ccache": "ccache",
    "distcc": "distcc",
    "ssh": "openssh-client",
    "ssh-keygen": "openssh-client",
    "dropbearconvert": "dropbear-bin",
    "qemu-img": "qemu-utils",
    "dot": "graphviz",
    "pkg-config": "pkgconf",
    "tic": "ncurses-bin",
    "autoreconf": "autoconf",
    "automake": "automake",
    "cmake": "cmake",
    "gdb-multiarch": "gdb-multiarch",
}


# Debian keeps mkfs.ext4 and debugfs here, and a normal user's PATH does not name these directories.
SBIN_DIRS = ("/usr/local/sbin", "/usr/sbin", "/sbin")


def path_with_sbin(path):
    """`path` (a PATH value) with Debian's sbin directories appended where it lacks them."""
    dirs = [directory for directory in path.split(os.pathsep) if directory]
    return os.pathsep.join(dirs + [directory for directory in SBIN_DIRS if directory not in dirs])


def missing(tools, which=shutil.which):
    return [tool for tool in tools if which(tool) is None]


def require(*tools, which=shutil.which):
    """Fail with the apt-get line that installs whatever of `tools` is missing."""
    absent = missing(tools, which)
    if absent:
        packages = sorted({DEBIAN_PACKAGE.get(tool, tool) for tool in absent})
        raise BuildError(
            f"missing host tool{'s' if len(absent) > 1 else ''} {', '.join(absent)}: "
            f"run ./setup, or apt-get install {' '.join(packages)}"
        )
