"""Command-line options, checked before anything builds.

Each check takes the option's value as typed and returns it (a port as an int), or raises BuildError
with one line naming the option, what is wrong with the value, and what would do instead.
"""

import re

from rvbuild import BuildError

# A number with an optional binary unit, as both QEMU's -m and mkfs.ext4 read it.
SIZE = re.compile(r"^([1-9][0-9]*)([KMGT]?)$", re.IGNORECASE)
KERNEL_VERSION = re.compile(r"^[1-9][0-9]*\.[0-9]+$")


def _port(key, value, example):
    port = int(value) if str(value).isdigit() else 0
    if not 1 <= port <= 65535:
        raise BuildError(f"{key}={value} is not a port number; use a free port from 1 to 65535, e.g. {key}={example}")
    return port


def ssh_port(value):
    """A TCP port number, 1-65535."""
    return _port("ssh_port", value, 10022)


def gdb_port(value):
    """A TCP port number, 1-65535."""
    return _port("gdb_port", value, 1234)


def _size(key, value, example, bare_number_means=None):
    match = SIZE.match(str(value))
    if not match or not (match[2] or bare_number_means):
        units = "K, M, G or T" + (f" (or none, for {bare_number_means})" if bare_number_means else "")
        raise BuildError(f"{key}={value} is not a size; use a whole number with {units}, e.g. {key}={example}")
    return value


def memory(value):
    """Guest memory as QEMU's -m reads it: 256M, 1G, or 512 (MiB)."""
    return _size("memory", value, "256M", bare_number_means="MiB")


def rootfs_size(value):
    """The image size as mkfs.ext4 reads it, with a unit: 32M, 1G; or "", sized for its content."""
    return value and _size("rootfs_size", value, "32M")


def rootfs_headroom(value):
    """The free space of an image sized for its content, with a unit: 16M, 1G."""
    return _size("rootfs_headroom", value, "16M")


def size_in_bytes(value):
    """The bytes a checked size (16M, 1G) stands for."""
    match = SIZE.match(value)
    return int(match[1]) << (10 * " KMGT".index((match[2] or " ").upper()))


def firmware(value, known):
    """ "" (the variant's own choice) or one of `known`, the firmware components."""
    if value and value not in known:
        raise BuildError(
            f"firmware={value} is unknown; use firmware={' or firmware='.join(known)} "
            f"(or leave it out for the variant's)"
        )
    return value


def kernel(value):
    """ "" (the variant's own choice) or a Linux version such as 6.1 or 6.12, as Debian's
    linux-source-<version> packages name it; its pin is checked where the kernel is declared."""
    if value and not KERNEL_VERSION.match(value):
        raise BuildError(
            f"kernel={value} is not a Linux version like 6.1 or 6.12; name it as Debian's "
            f"linux-source-<version> package does"
        )
    return value


# ccache 4.7's remote storage backends for a server (its file: storage is a directory).
REMOTE_SCHEMES = ("redis://", "redis+unix:", "http://")
DISTCC_HOST = re.compile(r"^(--[a-z_]+(=[0-9]+)?|@?[A-Za-z0-9._\[\]:-]+(/[0-9]+)?(,[a-z]+)*)$")


def ccache_remote(value):
    """ "" or ccache's remote_storage: URLs (redis://host:port, http://host/path) separated by spaces."""
    urls = value.split()
    if value and not all(url.startswith(REMOTE_SCHEMES) for url in urls):
        raise BuildError(
            f"ccache_remote={value} is not a remote storage ccache knows; use "
            f"ccache_remote=redis://HOST:PORT or ccache_remote=http://HOST:PORT/PATH"
        )
    return value


def distcc_hosts(value):
    """ "" or distcc's host list: HOST[:PORT][/LIMIT] entries separated by spaces."""
    if value and not all(DISTCC_HOST.match(host) for host in value.split()):
        raise BuildError(
            f"distcc_hosts={value} is not a distcc host list; use HOST[:PORT][/JOBS] entries separated "
            f"by spaces, e.g. distcc_hosts='build1/8 build2/8 localhost/2'"
        )
    return value


def runs(value):
    """A whole number of verdicts, 1 or more."""
    if not str(value).isdigit() or int(value) < 1:
        raise BuildError(f"runs={value} is not a number of runs; use 1 or more, e.g. runs=3")
    return int(value)
