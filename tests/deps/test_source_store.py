"""Source trees are unpacked once into the download cache's store and linked into each checkout
(rvbuild.unpack): a checkout that shares the downloads links them, and a tree linked back from the
store, older than what was built from another one, still rebuilds what it feeds.

Real scons on the fake trees, with the fake Dropbear fetched from a local HTTP server and unpacked
for real. About 5 s.
"""

import os

import pytest

from fake_project import FAKES, Project, SlowServer, copy_project, fake_dropbear_release, fetch_dropbear_from

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
        fetch_dropbear_from(self, server.url, server.body)

    def dropbear(self):
        with open(self.file("build/rv64/dropbear/dropbear"), "rb") as f:
            return f.read()


@pytest.fixture
def server(tmp_path):
    project = Project(copy_project(str(tmp_path / "release")))
    served = SlowServer(*fake_dropbear_release(project))
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
