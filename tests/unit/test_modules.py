"""Kernel modules: the kernel's as one reproducible archive, and an image's module tree."""

import os
import tarfile

import pytest

from rvbuild import BuildError, modules


def staged(path, mtime):
    """A tree like `make modules_install` leaves under lib/modules/<release>/."""
    (path / "kernel/drivers/block").mkdir(parents=True)
    (path / "kernel/drivers/block/loop.ko").write_bytes(b"\x7fELF loop")
    (path / "modules.order").write_text("kernel/drivers/block/loop.ko\n")
    (path / "build").symlink_to("/somewhere/on/the/host")
    for parent, _, names in os.walk(path):
        for name in names:
            os.utime(os.path.join(parent, name), (mtime, mtime), follow_symlinks=False)
    return path


def test_archive_depends_on_the_files_content_alone(tmp_path):
    first, second = staged(tmp_path / "a", 1000), staged(tmp_path / "b", 2000)
    os.chmod(second / "modules.order", 0o600)
    assert modules.pack(first) == modules.pack(second)
    archive = tmp_path / "modules.tar"
    archive.write_bytes(modules.pack(first))
    with tarfile.open(archive) as tar:
        assert [(m.name, m.uid, m.mode) for m in tar] == [
            ("kernel/drivers/block/loop.ko", 0, 0o644),
            ("modules.order", 0, 0o644),
        ]  # the host's symlinks stay out


def test_install_puts_the_archive_and_extra_modules_under_the_release(tmp_path):
    archive = tmp_path / "modules.tar"
    archive.write_bytes(modules.pack(staged(tmp_path / "staged", 1000)))
    extra = tmp_path / "rvhello.ko"
    extra.write_bytes(b"\x7fELF rvhello")
    directory = modules.install(str(tmp_path / "root"), str(archive), "6.1.0", [str(extra)])
    assert directory == str(tmp_path / "root/lib/modules/6.1.0")
    assert (tmp_path / "root/lib/modules/6.1.0/kernel/drivers/block/loop.ko").read_bytes() == b"\x7fELF loop"
    assert (tmp_path / "root/lib/modules/6.1.0/extra/rvhello.ko").read_bytes() == b"\x7fELF rvhello"


def test_depmod_complaining_fails_in_one_line(tmp_path):
    module = tmp_path / "root/lib/modules/6.1.0/extra/broken.ko"
    module.parent.mkdir(parents=True)
    module.write_bytes(b"not an ELF file")
    with pytest.raises(BuildError, match=r"^depmod failed for .*/lib/modules/6.1.0: depmod: "):
        modules.depmod(str(tmp_path / "root"), "6.1.0")


@pytest.mark.parametrize("member", ["../outside.ko", "/abs.ko", "link.ko"])
def test_install_refuses_what_pack_never_writes(tmp_path, member):
    archive = tmp_path / "modules.tar"
    with tarfile.open(archive, "w") as tar:
        info = tarfile.TarInfo(member)
        if member == "link.ko":
            info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(info)
    with pytest.raises(BuildError, match=f"{member} is not a module file"):
        modules.install(str(tmp_path / "root"), str(archive), "6.1.0")
    assert not (tmp_path / "outside.ko").exists()
