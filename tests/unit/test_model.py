"""Variants, locks, host tools, the QEMU command line and its SSH port, the closing summary."""

import socket

import pytest

from helpers import ROOT, free_port
from rvbuild import BuildError, hosttools, lock, qemu, variants
from rvbuild.explain import Summary

VARIANTS = f"{ROOT}/variants"


def test_variants_are_listed_and_loaded():
    assert "rv64" in variants.names(VARIANTS)
    rv64 = variants.load(VARIANTS, "rv64")
    assert rv64["xlen"] == 64 and rv64["kernel"] == "6.1" and rv64["name"] == "rv64"


def test_unknown_variant_lists_the_known_ones():
    with pytest.raises(BuildError, match=r"unknown variant 'rv65'; choose one of: .*rv64"):
        variants.load(VARIANTS, "rv65")


def test_missing_host_tool_names_its_debian_package():
    with pytest.raises(BuildError) as error:
        hosttools.require(
            "make", "qemu-system-riscv64", "mkfs.ext4", which=lambda tool: None if tool != "make" else "/usr/bin/make"
        )
    assert str(error.value) == (
        "missing host tools qemu-system-riscv64, mkfs.ext4: run ./setup, or apt-get install e2fsprogs qemu-system-misc"
    )


@pytest.mark.parametrize("version", ["6.1", "6.12"])
def test_kernel_lock_is_complete(version):
    path = f"{ROOT}/components/linux/linux-{version}.lock"
    pin = lock.read(path)
    assert pin["package"] == f"linux-source-{version}" and len(pin["sha256"]) == 64
    assert pin["filename"].startswith(f"linux-source-{version}_{pin['version']}")
    assert lock.source(path, "refresh").size == int(pin["size"]) > 0


def test_lock_written_before_sizes_were_pinned_still_reads(tmp_path):
    (tmp_path / "x.lock").write_text("package = p\nversion = 1\nfilename = p_1_all.deb\nsha256 = " + "0" * 64 + "\n")
    assert lock.source(tmp_path / "x.lock", "refresh").size is None


def test_refresh_pins_the_size_apt_reports(tmp_path):
    try:
        lock.refresh(tmp_path / "x.lock", "linux-source-6.1", "a test")
    except BuildError as error:
        pytest.skip(str(error))
    pin = lock.read(tmp_path / "x.lock")
    committed = lock.read(f"{ROOT}/components/linux/linux-6.1.lock")
    assert int(pin["size"]) > 0
    if pin["sha256"] == committed["sha256"]:
        assert pin == committed


def test_incomplete_lock_is_an_error(tmp_path):
    (tmp_path / "x.lock").write_text("package = linux-source-6.1\n")
    with pytest.raises(BuildError, match="lacks version, filename, sha256"):
        lock.read(tmp_path / "x.lock")


def test_command_line_choices_name_their_own_build_directory():
    assert variants.load(VARIANTS, "rv64", kernel="", firmware="")["build_name"] == "rv64"
    assert variants.load(VARIANTS, "rv64", kernel="6.1", firmware="opensbi")["build_name"] == "rv64"
    chosen = variants.load(VARIANTS, "rv64", kernel="6.12", firmware="bbl")
    assert chosen["build_name"] == "rv64-linux6.12-bbl"
    assert (chosen["kernel"], chosen["firmware"]) == ("6.12", "bbl")


def test_a_debug_kernel_builds_beside_the_shared_rest():
    assert variants.load(VARIANTS, "rv64")["kernel_build_name"] == "rv64"
    chosen = variants.load(VARIANTS, "rv64", debug=True, kernel="6.12")
    assert (chosen["build_name"], chosen["kernel_build_name"]) == ("rv64-linux6.12", "rv64-linux6.12-debug")


def test_busybox_fragment_overrides_the_full_config():
    from rvbuild import kconfig

    text = 'CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C="x"\n'
    assert (
        kconfig.apply(text, {"CONFIG_A": "n", "CONFIG_B": "y", "CONFIG_D": "1"})
        == '# CONFIG_A is not set\nCONFIG_B=y\nCONFIG_C="x"\nCONFIG_D=1\n'
    )


def test_a_normal_users_path_gains_debians_sbin_directories():
    assert (
        hosttools.path_with_sbin("/usr/local/bin:/usr/bin:/bin")
        == "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin"
    )
    assert hosttools.path_with_sbin("/usr/sbin:/usr/bin") == "/usr/sbin:/usr/bin:/usr/local/sbin:/sbin"


def test_port_in_use_is_reported_with_the_option_that_moves_it():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(BuildError) as error:
            qemu.require_free_port(str(port))
    message = str(error.value)
    assert message.startswith(f"port {port} on 127.0.0.1 is not free for SSH (Address already in use; ")
    suggested = int(message.rsplit("ssh_port=", 1)[1])
    assert suggested != port
    qemu.require_free_port(suggested)


def test_free_port_passes():
    qemu.require_free_port(free_port())


def test_gdb_port_in_use_names_gdb_port():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        with pytest.raises(BuildError, match=rf"^port {port} on 127.0.0.1 is not free for gdb \(.*gdb_port=\d+$"):
            qemu.require_free_port(port, "gdb", "gdb_port")


def test_summary_says_nothing_for_a_build_that_never_began():
    summary = Summary()
    assert summary.line() is None
    summary.components.append(("rv64", "linux"))
    assert summary.line() == "rvbuild: nothing to rebuild; 1 up to date"
    summary.cancel()
    assert summary.line() is None


def test_summary_names_the_dependencies_added_and_removed_not_the_ones_shifted_along():
    summary = Summary()

    class Target:
        path = "build/rv64/rootfs/rootfs.ext4"

    summary.changed[Target.path] = ["build/rv64/hello/hello"]  # compared with strace's old place
    assert summary.why(Target, True, False) == "build/rv64/hello/hello changed"
    assert summary.why(Target, True, False, added=["build/rv64/strace/strace"]) == "build/rv64/strace/strace added"
    why = summary.why(Target, True, False, added=["a", "b"], removed=["c", "d"])
    assert why == "a added, b added, c removed, ..."
