"""The image is assembled for real (fakeroot + mkfs.ext4) and read back with debugfs."""

import os

import pytest

from helpers import debugfs
from rvbuild import BuildError, rootfs
from rvbuild.rootfs import BusyBoxLinks, ImageFile, make_ext4, pin_inode_times, read_permissions, stage


def stage_tree(tmp_path, name="root"):
    overlay = tmp_path / "overlay"
    (overlay / "etc").mkdir(parents=True, exist_ok=True)
    (overlay / "etc/shadow").write_text("root::19000:0:99999:7:::\n")
    binary = tmp_path / "busybox"
    binary.write_bytes(b"\x7fELF fake")
    links = tmp_path / "busybox.links"
    links.write_text("/bin/sh\n/sbin/init\n/usr/bin/env\n")
    items = [
        ImageFile(str(binary), "/bin/busybox"),
        BusyBoxLinks(str(links)),
        ImageFile(str(links), "/root/.ssh/authorized_keys", 0o600),
    ]
    root = tmp_path / name
    stage(
        str(root),
        [str(overlay)],
        items,
        dirs=["/proc", "/root"],
        symlinks={"/var/run": "/run"},
        permissions={"/etc/shadow": 0o600, "/root": 0o700},
    )
    return root


@pytest.fixture
def tree(tmp_path):
    return stage_tree(tmp_path)


def test_stage_lays_out_packages_links_and_modes(tree):
    assert os.readlink(tree / "sbin/init") == "/bin/busybox"
    assert os.readlink(tree / "var/run") == "/run"
    assert os.stat(tree / "bin/busybox").st_mode & 0o777 == 0o755
    assert os.stat(tree / "etc/shadow").st_mode & 0o777 == 0o600
    assert os.stat(tree / "root").st_mode & 0o777 == 0o700


def test_a_file_installed_over_an_applet_link_replaces_the_link_not_busybox(tmp_path):
    links = tmp_path / "busybox.links"
    links.write_text("/usr/bin/env\n")
    busybox, env = tmp_path / "busybox", tmp_path / "env"
    busybox.write_text("busybox")
    env.write_text("a real env")
    root = tmp_path / "root"
    stage(
        str(root),
        [],
        [ImageFile(str(busybox), "/bin/busybox"), BusyBoxLinks(str(links)), ImageFile(str(env), "/usr/bin/env")],
    )
    assert not os.path.islink(root / "usr/bin/env") and (root / "usr/bin/env").read_text() == "a real env"
    assert (root / "bin/busybox").read_text() == "busybox"


@pytest.mark.parametrize("path", ["/etc/passwd", "/etc/x/passwd"])
def test_staging_never_writes_through_or_over_a_link_it_did_not_make(tmp_path, path):
    """An overlay's link to a host path (absolute links are read in the guest, not on the host)."""
    host = tmp_path / "host"
    (host / "x").mkdir(parents=True)
    (host / "passwd").write_text("the host's own")
    overlay = tmp_path / "overlay"
    (overlay / "etc").mkdir(parents=True)
    os.symlink(host, overlay / "etc/x")
    os.symlink(host / "passwd", overlay / "etc/passwd")
    later = tmp_path / "later"
    (later / os.path.dirname(path).lstrip("/")).mkdir(parents=True, exist_ok=True)
    (later / path.lstrip("/")).write_text("root:x:0:0::/root:/bin/sh\n")
    with pytest.raises(BuildError, match=r"cannot put /etc/\S+ in the image: /etc/(x|passwd) there is a link"):
        stage(str(tmp_path / "root"), [str(overlay), str(later)], [])
    assert (host / "passwd").read_text() == "the host's own" and not (host / "x/passwd").exists()


def test_a_later_overlay_replaces_an_earlier_ones_file(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    for overlay, text in ((first, "first"), (second, "second")):
        (overlay / "etc").mkdir(parents=True)
        (overlay / "etc/motd").write_text(text)
    (first / "etc/issue").write_text("kept")
    stage(str(tmp_path / "root"), [str(first), str(second)], [])
    assert (tmp_path / "root/etc/motd").read_text() == "second"
    assert (tmp_path / "root/etc/issue").read_text() == "kept"


def test_image_files_belong_to_root_with_their_modes(tree, tmp_path):
    image = str(tmp_path / "rootfs.ext4")
    make_ext4(str(tree), image, "8M")
    shadow = debugfs(image, "stat /etc/shadow")
    assert "User:     0   Group:     0" in shadow and "Mode:  0600" in shadow
    assert "User:     0   Group:     0" in debugfs(image, "stat /bin/busybox")
    assert not os.path.exists(image + ".tmp")


def test_identical_trees_give_identical_images(tree, tmp_path):
    make_ext4(str(tree), str(tmp_path / "a.ext4"), "8M")
    make_ext4(str(tree), str(tmp_path / "b.ext4"), "8M")
    assert (tmp_path / "a.ext4").read_bytes() == (tmp_path / "b.ext4").read_bytes()


def test_too_small_image_fails_without_leaving_output(tree, tmp_path):
    (tree / "big").write_bytes(os.urandom(2 << 20))
    with pytest.raises(BuildError, match="mkfs.ext4 failed.*rootfs_size"):
        make_ext4(str(tree), str(tmp_path / "small.ext4"), "1M")
    assert os.listdir(tmp_path).count("small.ext4") == 0 and not (tmp_path / "small.ext4.tmp").exists()


def test_permissions_table_errors_name_the_line(tmp_path):
    table = tmp_path / "permissions"
    table.write_text("# comment\n/root 0700\n/etc/shadow rw\n")
    with pytest.raises(BuildError, match="permissions:3: expected"):
        read_permissions(table)


def test_the_image_does_not_depend_on_the_umask(tmp_path):
    images = []
    for umask in (0o022, 0o002):
        old = os.umask(umask)
        try:
            work = tmp_path / f"umask{umask:03o}"
            work.mkdir()
            root = stage_tree(work)
            assert os.stat(root / "etc/shadow").st_mode & 0o777 == 0o600
            assert os.stat(root / "root/.ssh/authorized_keys").st_mode & 0o777 == 0o600
            assert os.stat(root / "root/.ssh").st_mode & 0o777 == 0o755
            make_ext4(str(root), str(work / "rootfs.ext4"), "8M")
            images.append((work / "rootfs.ext4").read_bytes())
        finally:
            os.umask(old)
    assert images[0] == images[1]


def test_a_failed_debugfs_request_is_an_error(tree, tmp_path):
    image = str(tmp_path / "rootfs.ext4")
    make_ext4(str(tree), image, "8M")
    (tree / "etc/added-after-the-image").write_text("x")
    with pytest.raises(BuildError, match="debugfs could not set inode times .*added-after-the-image"):
        pin_inode_times(str(tree), image)


def free_bytes(image):
    said = debugfs(image, "stats")
    blocks = int(said.split("Free blocks:")[1].split()[0])
    return blocks * int(said.split("Block size:")[1].split()[0])


@pytest.mark.parametrize("content_mib", [0, 24])
def test_an_image_without_a_size_fits_its_content_and_leaves_the_headroom(tree, tmp_path, content_mib):
    (tree / "usr").mkdir(exist_ok=True)
    (tree / "usr" / "big").write_bytes(os.urandom(content_mib << 20))
    for number in range(500):  # many small files: inodes and blocks of their own
        (tree / "usr" / f"small-{number}").write_text("x\n")
    image = str(tmp_path / "rootfs.ext4")
    make_ext4(str(tree), image, headroom=4 << 20)
    size = os.path.getsize(image)
    assert free_bytes(image) >= 4 << 20
    assert size < (content_mib + 4) * 1.25 * (1 << 20) + (12 << 20)  # the content, the headroom, ext4's own
    make_ext4(str(tree), str(tmp_path / "again.ext4"), headroom=4 << 20)
    assert (tmp_path / "again.ext4").read_bytes() == open(image, "rb").read()
    make_ext4(str(tree), image, headroom=8 << 20)
    assert free_bytes(image) >= 8 << 20 and os.path.getsize(image) > size


def test_an_image_grows_until_the_headroom_is_left(tree, tmp_path, monkeypatch):
    monkeypatch.setattr(rootfs, "ESTIMATED_METADATA", 0)  # a first guess that leaves too little
    image = str(tmp_path / "rootfs.ext4")
    make_ext4(str(tree), image, headroom=6 << 20)
    assert free_bytes(image) >= 6 << 20
