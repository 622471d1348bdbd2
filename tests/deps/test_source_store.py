"""Source trees are unpacked once into the download cache's store and linked into each checkout
(rvbuild.unpack): a checkout that shares the downloads links them, and a tree linked back from the
store, older than what was built from another one, still rebuilds what it feeds; a file of a tree
unpacked in the same build feeds its step.

Real scons on the fake trees, with the fake Dropbear (or ncurses) fetched from a local HTTP server and unpacked
for real. About 5 s.
"""

import os
import shutil

import pytest

from fake_project import FAKES, Project, SlowServer, copy_project, fake_release, fetch_from

TREE = "build/src/dropbear-2022.83"
PATCH = """--- a/version.h
+++ b/version.h
@@ -1 +1 @@
-#define FAKE_DROPBEAR_VERSION "2022.83-fake"
+#define FAKE_DROPBEAR_VERSION "2022.83-fake-patched"
"""


class DropbearFetched(Project):
    def __init__(self, path, server, dl):
        super().__init__(
            copy_project(path), local={n: f for n, f in FAKES.items() if n != "dropbear"}, options=[f"dl={dl}"]
        )
        fetch_from(self, "dropbear", server.url, server.body)

    def dropbear(self):
        with open(self.file("build/rv64/dropbear/dropbear"), "rb") as f:
            return f.read()


@pytest.fixture
def server(tmp_path):
    project = Project(copy_project(str(tmp_path / "release")))
    served = SlowServer(*fake_release(project, "dropbear"))
    yield served
    served.close()


def test_a_patch_removed_again_links_the_older_tree_and_still_rebuilds(tmp_path, server):
    project = DropbearFetched(str(tmp_path / "a"), server, tmp_path / "dl")
    project.build()
    original = project.dropbear()
    patch = project.file("components/dropbear/0001-version.patch")
    with open(patch, "w") as f:
        f.write(PATCH)
    _, components, _ = project.build()
    assert components == {"dropbear", "rootfs"}
    assert b"2022.83-fake-patched" in project.dropbear()
    os.unlink(patch)
    _, components, output = project.build()
    # The unpatched tree comes back from the store with the time it was first unpacked, before the
    # patched build; its objects are not kept for that.
    assert components == {"dropbear", "rootfs"}, output
    assert project.dropbear() == original
    assert len(os.listdir(tmp_path / "dl" / "unpacked")) == 2
    assert project.up_to_date()


def test_a_checkout_sharing_the_downloads_links_the_trees(tmp_path, server):
    first = DropbearFetched(str(tmp_path / "a"), server, tmp_path / "dl")
    first.build()
    second = DropbearFetched(str(tmp_path / "b"), server, tmp_path / "dl")
    second.build()
    assert os.path.samefile(first.file(f"{TREE}/version.h"), second.file(f"{TREE}/version.h"))
    assert second.dropbear() == first.dropbear()
    (kept,) = os.listdir(tmp_path / "dl" / "unpacked")
    assert os.path.samefile(first.file(f"{TREE}/configure"), tmp_path / "dl" / "unpacked" / kept / "configure")


def append_in_place(path, text):
    """What `echo >>` as root, or an editor that keeps hard links (vim's :w!), does to a file."""
    os.chmod(path, 0o644)
    with open(path, "a") as f:
        f.write(text)


def test_an_edit_in_place_is_never_built_nor_kept_in_the_store(tmp_path, server):
    dl = tmp_path / "dl"
    first = DropbearFetched(str(tmp_path / "a"), server, dl)
    first.build()
    original = first.dropbear()
    second = DropbearFetched(str(tmp_path / "b"), server, dl)
    second.build()
    append_in_place(first.file(f"{TREE}/version.h"), "#define EDITED 1\n")

    errors = []
    for project in (first, second):  # the file is one inode: the second checkout sees the edit too
        result = project.scons("image", check=False)
        assert result.returncode == 2
        (error,) = [line for line in result.stderr.splitlines() if line.startswith("scons: ***")]
        assert f"{TREE}/version.h was edited" in error and "dropbear_src=DIR" in error, result.stderr
        assert project.dropbear() == original
        errors.append(error)
    assert "the download cache's copy changed too" in errors[0]
    # The store dropped the changed tree: a new checkout unpacks the archive again, unedited.
    third = DropbearFetched(str(tmp_path / "c"), server, dl)
    third.build()
    assert third.dropbear() == original
    assert b"EDITED" not in open(third.file(f"{TREE}/version.h"), "rb").read()

    # The error's two ways out: the edit built from a copy of the tree, or the tree deleted.
    mine = tmp_path / "my-dropbear"
    shutil.copytree(first.file(TREE), mine, symlinks=True)
    _, components, _ = first.build(f"dropbear_src={mine}")
    assert components == {"dropbear", "rootfs"}
    assert b"EDITED" in first.dropbear()
    shutil.rmtree(second.file(TREE))
    _, components, _ = second.build()
    assert components == set()  # the same bytes as before the edit
    assert second.dropbear() == original and second.up_to_date()


def test_a_file_added_to_a_tree_stops_the_build_and_the_tree_is_never_replaced(tmp_path, server):
    project = DropbearFetched(str(tmp_path / "a"), server, tmp_path / "dl")
    project.build()
    with open(project.file(f"{TREE}/notes.txt"), "w") as f:
        f.write("mine\n")
    # Even a patch, which makes a new tree, does not replace an edited one.
    with open(project.file("components/dropbear/0001-version.patch"), "w") as f:
        f.write(PATCH)
    result = project.scons("image", check=False)
    assert result.returncode == 2 and f"{TREE}/notes.txt was edited" in result.stderr
    assert os.path.exists(project.file(f"{TREE}/notes.txt"))
    assert not project.up_to_date()


def test_a_file_of_a_tree_unpacked_in_the_same_build_feeds_its_step(tmp_path):
    # ncurses' terminfo entries are compiled from its misc/terminfo.src, which exists only once the
    # tree is unpacked, after scons has read the build.
    served = SlowServer(*fake_release(Project(copy_project(str(tmp_path / "release"))), "ncurses"))
    local = {name: fake for name, fake in FAKES.items() if name != "ncurses"}
    project = Project(copy_project(str(tmp_path / "a")), local=local, options=[f"dl={tmp_path / 'dl'}"])
    fetch_from(project, "ncurses", served.url, served.body)
    os.unlink(project.file("components/ncurses/lib_gen-without-process-id.patch"))  # for the real tree
    try:
        labels, _, output = project.build()
    finally:
        served.close()
    assert "UNPACK   build/src/ncurses-6.4" in output and "TIC" in labels, output
    assert os.path.getsize(project.file("build/rv64/ncurses/terminfo/v/vt100")) > 0
    assert project.up_to_date()


def test_the_summary_says_which_tree_a_component_is_now_built_from(tmp_path, server):
    project = DropbearFetched(str(tmp_path / "a"), server, tmp_path / "dl")
    project.build()
    mine = tmp_path / "my-dropbear"
    shutil.copytree(project.file(TREE), mine, symlinks=True)
    assert f"dropbear (now built from {mine})" in project.build(f"dropbear_src={mine}")[2]
    assert f"dropbear (now built from {TREE})" in project.build()[2]
