"""Each kind of edit rebuilds exactly what depends on it: real scons, the real builders, fake trees.

Labels are the actions that ran (KCONFIG, LINUX, MODULE, OPENSBI, BUSYBOX, DROPBEAR, CC/LINK, ROOTFS);
components are the build/rv64/<component> directories they wrote to (modules: the out-of-tree
modules of modules/*/). The rows follow issues #3 and #8.
"""

import os
import tarfile
import time

from helpers import scons

USERSPACE = {"busybox", "dropbear", "zlib", "ncurses", "htop", "hello", "zlib-roundtrip"}


def test_first_build_says_everything_is_new(project):
    assert "rvbuild: rebuilt linux (not built yet), " in project.first_build_output


def test_nothing_changed_means_nothing_runs(project):
    assert project.up_to_date()
    labels, components, output = project.build()
    assert components == set()
    assert f"rvbuild: nothing to rebuild; {project.component_count()} up to date" in output


def test_a_tree_of_your_own_given_by_a_relative_path_is_the_same_tree(project):
    relative = [option.replace(f"={project.path}/", "=") for option in project.options]
    assert relative != project.options
    assert scons("-q", "image", *relative, cwd=project.path, check=False).returncode == 0


def test_kernel_option_rebuilds_kernel_and_firmware_only(project):
    """... and remakes the out-of-tree modules against the new kernel; their bytes, and the
    kernel's modules, are unchanged, so the image is not rebuilt."""
    archive = open(project.file("build/rv64/linux/modules.tar"), "rb").read()
    project.edit("components/linux/virt.config", lambda text: text + "CONFIG_HZ_100=y\n")
    labels, components, output = project.build()
    assert components == {"linux", "opensbi", "rvhello"}
    assert {"KCONFIG", "LINUX", "MODULE", "OPENSBI"} <= labels
    assert "OPENSBI  build/rv64/opensbi/fw_payload" in output
    assert "libplatsbi.a" not in output  # OpenSBI's libraries do not depend on the kernel
    assert open(project.file("build/rv64/linux/modules.tar"), "rb").read() == archive
    assert "linux (components/linux/virt.config changed)" in output
    assert project.up_to_date()


def test_kernel_fragment_comment_stops_at_the_config_merge(project):
    project.edit("components/linux/virt.config", lambda text: text + "\n# a comment   \n\n")
    labels, components, _ = project.build()
    assert labels == {"KCONFIG"}


def test_kernel_option_already_at_that_value_stops_at_the_config_merge(project):
    project.edit("components/linux/virt.config", lambda text: text + "CONFIG_MMU=y\n")
    labels, _, _ = project.build()
    assert labels == {"KCONFIG"}


def test_busybox_config_rebuilds_busybox_and_image(project):
    project.edit(
        "components/busybox/busybox.config",
        lambda text: text.replace("CONFIG_FEATURE_EDITING_HISTORY=255", "CONFIG_FEATURE_EDITING_HISTORY=100"),
    )
    _, components, _ = project.build()
    assert components == {"busybox", "rootfs"}


def test_overlay_file_rebuilds_only_the_image(project):
    project.edit("components/rootfs/overlay/etc/motd", lambda text: text + "edited\n")
    _, components, output = project.build()
    assert components == {"rootfs"}
    assert f"rootfs (components/rootfs/overlay/etc/motd changed); {project.component_count() - 1} up to date" in output


def test_image_assembly_code_rebuilds_only_the_image(project):
    project.edit("site_scons/rvbuild/rootfs.py", lambda text: text + "\n# edited\n")
    _, components, _ = project.build()
    assert components == {"rootfs"}


def test_hello_source_rebuilds_hello_and_image(project):
    project.edit("programs/hello/hello.c", lambda text: text.replace("built by rvbuild", "built by rvbuild."))
    _, components, _ = project.build()
    assert components == {"hello", "rootfs"}


def test_component_source_edit_rebuilds_it_and_its_dependents(project):
    project.edit("fixtures/fake-dropbear/version.h", lambda text: text.replace("fake", "fake2"))
    _, components, output = project.build()
    assert components == {"dropbear", "rootfs"}
    assert "rvbuild: rebuilt dropbear (fixtures/fake-dropbear/version.h changed)" in output


def test_userspace_flags_rebuild_userspace_only(project):
    _, components, output = project.build("userspace_cflags=-g")
    assert components == USERSPACE | {"rootfs"}
    assert "busybox (its build steps or settings changed)" in output
    # configure/make builds do not track flags themselves: they must be built afresh.
    assert "CFLAGS=-O2 -g\n" in open(project.file("build/rv64/dropbear/dropbear")).read()
    assert project.up_to_date("userspace_cflags=-g")
    _, components, _ = project.build()
    assert components == USERSPACE | {"rootfs"}
    assert "CFLAGS=\n" in open(project.file("build/rv64/dropbear/dropbear")).read()


def test_boot_only_options_rebuild_nothing(project):
    assert project.up_to_date("memory=1G", "ssh_port=2222", "persist=1", "guest_net=1")


def test_new_host_key_rebuilds_the_image_and_known_hosts_and_the_old_key_gives_the_old_image(project):
    ssh = project.file("build/rv64/ssh")
    image, known_hosts = project.file("build/rv64/rootfs/rootfs.ext4"), f"{ssh}/known_hosts"
    key_files = ("host_ed25519_key", "host_ed25519_key.pub")
    before = {name: open(f"{ssh}/{name}", "rb").read() for name in (*key_files, "known_hosts")}
    image_before = open(image, "rb").read()
    for name in key_files:
        os.unlink(f"{ssh}/{name}")
    labels, components, output = project.build()
    assert labels == {"SSHKEY", "HOSTKEY", "ROOTFS"} and components == {"ssh", "rootfs"}
    assert "rootfs (build/rv64/ssh/dropbear_ed25519_host_key changed)" in output
    public = open(f"{ssh}/host_ed25519_key.pub").read()
    assert open(known_hosts).read() == f"rvbuild-guest {' '.join(public.split()[:2])}\n" != before["known_hosts"]
    assert open(image, "rb").read() != image_before
    # The key is the image's only input that differs: given the old key files, the old image. They
    # are put back within the second the build wrote the new ones (same size, same whole second),
    # and the build runs once that second is over a second old (SCons' max_drift).
    for name in key_files:
        written = os.stat(f"{ssh}/{name}").st_mtime_ns
        with open(f"{ssh}/{name}", "wb") as f:
            f.write(before[name])
        same_second = written - written % 10**9 + (written + 10**6) % 10**9  # a millisecond on
        os.utime(f"{ssh}/{name}", ns=(same_second, same_second))
        time.sleep(max(0.0, same_second / 10**9 + 1.5 - time.time()))
    labels, _, _ = project.build()
    assert labels == {"HOSTKEY", "ROOTFS"}
    assert open(image, "rb").read() == image_before
    assert open(known_hosts, "rb").read() == before["known_hosts"]


def test_a_rewrite_in_the_same_second_with_the_same_size_still_rebuilds(project):
    """Content decides, not the time: a file rewritten with other bytes of the same length, its
    time set back to what it was (as a rewrite within one clock tick leaves it), rebuilds."""
    motd = project.file("components/rootfs/overlay/etc/motd")
    before = os.stat(motd)
    project.edit("components/rootfs/overlay/etc/motd", lambda text: text.swapcase())
    os.utime(motd, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert os.stat(motd).st_size == before.st_size
    assert project.build()[1] == {"rootfs"}
    project.edit("components/rootfs/overlay/etc/motd", lambda text: text.swapcase())
    os.utime(motd, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert project.build()[1] == {"rootfs"}


def test_touch_without_change_rebuilds_nothing(project):
    later = time.time() + 5
    for name in (
        "components/linux/virt.config",
        "components/busybox/busybox.config",
        "components/rootfs/overlay/etc/motd",
        "programs/hello/hello.c",
        "components/dropbear/localoptions.h",
        "components/rootfs/overlay.permissions",
    ):
        os.utime(project.file(name), (later, later))
    assert project.up_to_date()


def test_kernel_rebuilt_identically_stops_there(project):
    project.edit("fixtures/fake-linux/README", lambda text: text + "more notes\n")
    labels, components, _ = project.build()
    assert "LINUX" in labels and components == {"linux", "rvhello"}


def image_modules(project):
    """lib/modules/ of the staged image: {path: bytes}."""
    base = project.file("build/rv64/rootfs/rootfs/lib/modules")
    return {
        os.path.relpath(os.path.join(parent, name), base): open(os.path.join(parent, name), "rb").read()
        for parent, _, names in os.walk(base)
        for name in names
    }


def test_image_holds_the_kernels_modules_and_the_out_of_tree_ones_with_depmod_data(project):
    modules = image_modules(project)
    assert modules["6.1.0-fake/modules.dep"] == b"kernel/blk_dev_loop.ko:\nextra/rvhello.ko:\n"
    assert "6.1.0-fake/modules.dep.bin" in modules and "6.1.0-fake/source" not in modules
    with tarfile.open(project.file("build/rv64/linux/modules.tar")) as tar:
        assert [(m.name, m.uid, m.mtime) for m in tar] == [
            (name, 0, 1700000000)
            for name in ("kernel/blk_dev_loop.ko", "modules.builtin", "modules.builtin.modinfo", "modules.order")
        ]


def test_module_source_edit_rebuilds_that_module_and_the_image_only(project):
    before = image_modules(project)["6.1.0-fake/extra/rvhello.ko"]
    project.edit("modules/rvhello/rvhello.c", lambda text: text.replace("built by rvbuild", "built by rvbuild."))
    labels, components, output = project.build()
    assert labels == {"MODULE", "ROOTFS"} and components == {"rvhello", "rootfs"}
    assert "rvhello (modules/rvhello/rvhello.c changed)" in output
    assert image_modules(project)["6.1.0-fake/extra/rvhello.ko"] != before


def test_kernel_option_that_adds_a_module_rebuilds_the_image(project):
    project.edit("components/linux/virt.config", lambda text: text + "CONFIG_DUMMY=m\n")
    labels, components, output = project.build()
    assert components == {"linux", "opensbi", "rvhello", "rootfs"}
    assert "rootfs (build/rv64/linux/modules.tar changed)" in output
    assert b"kernel/dummy.ko:" in image_modules(project)["6.1.0-fake/modules.dep"]
    project.edit("components/linux/virt.config", lambda text: text.replace("CONFIG_DUMMY=m\n", ""))
    _, components, _ = project.build()
    assert "rootfs" in components and "6.1.0-fake/kernel/dummy.ko" not in image_modules(project)


def test_misspelt_kernel_option_fails_with_its_name_and_keeps_the_old_config(project):
    before = open(project.file("build/rv64/linux/kernel.config")).read()
    project.edit("components/linux/virt.config", lambda text: text + "CONFIG_EXT4FS=y\n")
    result = scons("image", *project.options, cwd=project.path, check=False)
    assert result.returncode != 0
    assert "kernel options did not stick: CONFIG_EXT4FS=y (got n)" in result.stdout + result.stderr
    assert "rvbuild: build failed in linux" in result.stdout and "up to date" not in result.stdout
    assert open(project.file("build/rv64/linux/kernel.config")).read() == before
    project.edit("components/linux/virt.config", lambda text: text.replace("CONFIG_EXT4FS=y\n", ""))
    labels, _, _ = project.build()
    assert "LINUX" not in labels
