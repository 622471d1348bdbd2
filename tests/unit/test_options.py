"""Command-line options are checked before anything builds; a bad value says what would do."""

import pytest

from rvbuild import BuildError, options


@pytest.mark.parametrize("value, port", [("10022", 10022), ("1", 1), ("65535", 65535)])
def test_ssh_port_is_a_port_number(value, port):
    assert options.ssh_port(value) == port


@pytest.mark.parametrize("value", ["abc", "0", "65536", "-1", "22.5", "", " 22"])
def test_ssh_port_rejects_what_is_no_port(value):
    with pytest.raises(BuildError, match=rf"^ssh_port={value} is not a port number; .* e\.g\. ssh_port=10022$"):
        options.ssh_port(value)


def test_gdb_port_is_a_port_number():
    assert options.gdb_port("1234") == 1234
    with pytest.raises(BuildError, match=r"^gdb_port=gdb is not a port number; .* e\.g\. gdb_port=1234$"):
        options.gdb_port("gdb")


@pytest.mark.parametrize("value", ["256M", "1G", "512", "1024k", "2g"])
def test_memory_takes_qemu_sizes(value):
    assert options.memory(value) == value


@pytest.mark.parametrize("value", ["garbage", "256MB", "1.5G", "0", "-1G", "", "G"])
def test_memory_rejects_what_qemu_would_not_read(value):
    with pytest.raises(BuildError, match=rf"^memory={value} is not a size; .* e\.g\. memory=256M$"):
        options.memory(value)


@pytest.mark.parametrize("value", ["32M", "1G", "65536K"])
def test_rootfs_size_takes_mkfs_sizes(value):
    assert options.rootfs_size(value) == value


@pytest.mark.parametrize("value", ["garbage", "32", "32MB", "0M"])
def test_rootfs_size_needs_a_unit(value):
    with pytest.raises(BuildError, match=rf"^rootfs_size={value} is not a size; .* e\.g\. rootfs_size=32M$"):
        options.rootfs_size(value)


def test_firmware_is_empty_or_known():
    assert [options.firmware(value, ("opensbi", "bbl")) for value in ("", "opensbi", "bbl")] == ["", "opensbi", "bbl"]
    with pytest.raises(BuildError, match=r"^firmware=uboot is unknown; use firmware=opensbi or firmware=bbl"):
        options.firmware("uboot", ("opensbi", "bbl"))


def test_kernel_is_empty_or_a_version():
    assert [options.kernel(value) for value in ("", "6.1", "6.12", "10.0")] == ["", "6.1", "6.12", "10.0"]
    for value in ("abc", "6", "6.1.2", "../6.1", "v6.1"):
        with pytest.raises(BuildError, match=rf"^kernel={value} is not a Linux version like 6\.1 or 6\.12"):
            options.kernel(value)
