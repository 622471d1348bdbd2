"""unpack() on crafted archives: a good tree arrives whole, a hostile one writes nothing outside.

Every hostile archive holds a good member first, so a refusal is seen to leave no tree behind
that looks complete, and an `outside` directory with a victim file that must stay untouched.
"""

import io
import os
import shutil
import signal
import stat
import subprocess
import sys
import tarfile
import tempfile
import time

import pytest

from rvbuild import BuildError
from rvbuild import unpack as unpack_module
from rvbuild.unpack import EditSearch, TreeEdited, start_edit_searches, unpack

SITE_SCONS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "site_scons")


def member(name, data=b"", kind=tarfile.REGTYPE, link="", mode=0o644):
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mode, info.mtime = kind, link, mode, 1000000000
    if kind == tarfile.DIRTYPE:
        info.mode = 0o755
    if kind == tarfile.REGTYPE:
        info.size = len(data)
    return info, (io.BytesIO(data) if kind == tarfile.REGTYPE else None)


def make_archive(path, *members):
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in members:
            tar.addfile(info, data)
    return str(path)


@pytest.fixture
def outside(tmp_path):
    directory = tmp_path / "outside"
    directory.mkdir()
    (directory / "victim").write_text("untouched\n")
    return directory


def everything_below(directory):
    return sorted(
        os.path.relpath(os.path.join(root, name), directory)
        for root, dirs, files in os.walk(directory)
        for name in dirs + files
    )


def assert_refused(tmp_path, outside, archive, subdir, bad_member, *message):
    src = tmp_path / "src"
    with pytest.raises(BuildError) as error:
        unpack(archive, str(src / "pkg"), subdir, progress=False)
    text = str(error.value)
    assert os.path.basename(archive) in text and bad_member in text and "\n" not in text
    for part in message:
        assert part in text
    assert everything_below(outside) == ["victim"]
    assert (outside / "victim").read_text() == "untouched\n" and os.stat(outside / "victim").st_nlink == 1
    assert os.listdir(src) == []  # neither the tree nor its scratch directory


def test_good_archive_arrives_whole_with_fresh_times_and_no_setuid(tmp_path):
    archive = make_archive(
        tmp_path / "pkg-1.0.tar",
        member("pkg-1.0", kind=tarfile.DIRTYPE),
        member("pkg-1.0/include/x.h", b"int x;\n"),
        member("pkg-1.0/configure", b"#!/bin/sh\n", mode=0o4775),
        member("pkg-1.0/arch/inc", kind=tarfile.SYMTYPE, link="../include"),
        member("pkg-1.0/y.h", kind=tarfile.LNKTYPE, link="pkg-1.0/include/x.h"),
        member("other-1.0/not-wanted", b"x"),
    )
    before = time.time() - 1
    unpack(archive, str(tmp_path / "src" / "pkg"), "pkg-1.0", progress=False)
    tree = tmp_path / "src" / "pkg"
    assert everything_below(tree) == ["arch", "arch/inc", "configure", "include", "include/x.h", "y.h"]
    assert (tree / "arch" / "inc" / "x.h").read_text() == "int x;\n"
    assert os.path.samefile(tree / "y.h", tree / "include" / "x.h")
    assert stat.S_IMODE(os.stat(tree / "configure").st_mode) == 0o775 & ~current_umask()
    assert os.stat(tree / "include" / "x.h").st_mtime >= before
    assert sorted(os.listdir(tmp_path / "src")) == ["pkg", "pkg.unpacked"]


@pytest.mark.parametrize("store", [False, True])
def test_times_are_fresh_yet_keep_the_archives_order(tmp_path, store):
    """A header generated from its .in, and listed before it (as in strace's tarball), stays the
    newer one: make would otherwise write it again, into the sources."""

    def dated(name, mtime):
        info, data = member(name, b"x\n")
        info.mtime = mtime
        return info, data

    archive = make_archive(
        tmp_path / "pkg-1.0.tar",
        dated("pkg-1.0/xlat/modes.h", 1670000000),
        dated("pkg-1.0/xlat/modes.in", 1610000000),
        dated("pkg-1.0/xlat/gen.sh", 1610000000),
    )
    before = time.time_ns() - 10**9
    tree, kept = tmp_path / "src" / "pkg", tmp_path / "store"
    kept.mkdir()
    unpack(archive, str(tree), "pkg-1.0", progress=False, store=str(kept) if store else None, key="k")
    assert len(os.listdir(kept)) == int(store)
    times = {name: os.stat(tree / "xlat" / name).st_mtime_ns for name in ("modes.h", "modes.in", "gen.sh")}
    assert times["modes.h"] > times["modes.in"] == times["gen.sh"] >= before
    assert EditSearch(str(tree)).found() == []


def current_umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_member_with_dotdot_is_refused(tmp_path, outside):
    archive = make_archive(tmp_path / "a.tar", member("pkg-1.0/ok", b"x"), member("pkg-1.0/../outside/evil", b"evil"))
    assert_refused(tmp_path, outside, archive, "pkg-1.0", "pkg-1.0/../outside/evil", "'..'")


def test_absolute_member_is_refused(tmp_path, outside):
    archive = make_archive(tmp_path / "a.tar", member("ok", b"x"), member(f"{outside}/evil", b"evil"))
    assert_refused(tmp_path, outside, archive, "", f"{outside}/evil", "absolute")


def test_double_slash_that_strip_components_made_absolute_is_refused(tmp_path, outside):
    # GNU tar --strip-components=1 writes this member to {outside}/evil.
    archive = make_archive(tmp_path / "a.tar", member("pkg-1.0/ok", b"x"), member(f"pkg-1.0/{outside}/evil", b"evil"))
    assert_refused(tmp_path, outside, archive, "pkg-1.0", f"pkg-1.0/{outside}/evil", "'//'")


@pytest.mark.parametrize("target", ["absolute", "relative"])
def test_member_written_through_a_symlink_that_points_outside_is_refused(tmp_path, outside, target):
    link = str(outside) if target == "absolute" else "../../outside"
    archive = make_archive(
        tmp_path / "a.tar",
        member("pkg-1.0/ok", b"x"),
        member("pkg-1.0/sub/link", kind=tarfile.SYMTYPE, link=link),
        member("pkg-1.0/sub/link/evil", b"evil"),
    )
    assert_refused(tmp_path, outside, archive, "pkg-1.0", "pkg-1.0/sub/link/evil")


@pytest.mark.parametrize("target", ["{outside}/victim", "pkg-1.0/../../outside/victim"])
def test_hard_link_to_a_file_outside_is_refused(tmp_path, outside, target):
    archive = make_archive(
        tmp_path / "a.tar",
        member("pkg-1.0/ok", b"x"),
        member("pkg-1.0/h", kind=tarfile.LNKTYPE, link=target.format(outside=outside)),
    )
    assert_refused(tmp_path, outside, archive, "pkg-1.0", "pkg-1.0/h", "hard link")


def test_hard_link_that_tar_had_to_put_back_inside_is_refused(tmp_path, outside):
    archive = make_archive(
        tmp_path / "a.tar", member("pkg-1.0/ok", b"x"), member("pkg-1.0/h", kind=tarfile.LNKTYPE, link="/pkg-1.0/ok")
    )
    assert_refused(tmp_path, outside, archive, "pkg-1.0", "", "Removing leading `/' from hard link targets")


@pytest.mark.parametrize(
    "links",
    [
        [("pkg-1.0/esc", "../outside")],
        [("pkg-1.0/etc", "/etc")],
        # Each alone stays inside (y is ".", x is "y/.."), together x leads out: only the result counts.
        [("pkg-1.0/y", "."), ("pkg-1.0/x", "y/..")],
    ],
)
def test_symlink_that_leads_outside_is_refused(tmp_path, outside, links):
    archive = make_archive(
        tmp_path / "a.tar",
        member("pkg-1.0/ok", b"x"),
        *[member(name, kind=tarfile.SYMTYPE, link=target) for name, target in links],
    )
    assert_refused(tmp_path, outside, archive, "pkg-1.0", links[-1][0], "outside the tree")


def test_device_node_is_refused(tmp_path, outside):
    if os.geteuid() != 0:
        pytest.skip("only root's tar makes device nodes")
    info, _ = member("pkg-1.0/null", kind=tarfile.CHRTYPE)
    info.devmajor, info.devminor = 1, 3
    archive = make_archive(tmp_path / "a.tar", member("pkg-1.0/ok", b"x"), (info, None))
    assert_refused(tmp_path, outside, archive, "pkg-1.0", "pkg-1.0/null", "device")


def test_missing_subdir_names_what_was_asked(tmp_path):
    archive = make_archive(tmp_path / "a.tar", member("pkg-1.0/ok", b"x"))
    with pytest.raises(BuildError, match="tar could not unpack .*a.tar .*pkg-2.0: Not found in archive"):
        unpack(archive, str(tmp_path / "src" / "pkg"), "pkg-2.0", progress=False)
    assert os.listdir(tmp_path / "src") == []


# Patches: a terminal is where patch used to stop and ask, so they run on one here.

ORIGINAL = b"one\ntwo\nthree\n"
PATCH = """--- a/file
+++ b/file
@@ -1,3 +1,3 @@
 one
-{old}
+{new}
 three
"""


def run_on_a_terminal(code, timeout=30):
    """Run Python `code` as a session leader on a new pseudo-terminal (its /dev/tty); (status, output)."""
    import pty
    import select

    pid, terminal = pty.fork()
    if pid == 0:
        os.execv(sys.executable, [sys.executable, "-c", f"import sys; sys.path.insert(0, {SITE_SCONS!r})\n{code}"])
    output, deadline = b"", time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if select.select([terminal], [], [], 0.1)[0]:
                try:
                    chunk = os.read(terminal, 4096)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not chunk:
                    break
                output += chunk
        else:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail(f"still waiting after {timeout}s, on the terminal: {output.decode(errors='replace')}")
        return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]), output.decode(errors="replace")
    finally:
        os.close(terminal)


def unpack_with_patch_on_a_terminal(tmp_path, old, new, original=ORIGINAL):
    archive = make_archive(tmp_path / "p.tar", member("p-1/file", original))
    patch = tmp_path / "0001-fix.patch"
    patch.write_text(PATCH.format(old=old, new=new))
    dest = tmp_path / "src" / "p"
    status, output = run_on_a_terminal(
        "from rvbuild import BuildError\nfrom rvbuild.unpack import unpack\n"
        f"try:\n    unpack({archive!r}, {str(dest)!r}, 'p-1', patches=[{str(patch)!r}], progress=False)\n"
        "except BuildError as error:\n    print('BuildError:', error)\n    sys.exit(2)\n"
    )
    return status, output, dest


def test_patch_is_applied(tmp_path):
    status, output, dest = unpack_with_patch_on_a_terminal(tmp_path, "two", "TWO")
    assert status == 0, output
    assert (dest / "file").read_bytes() == b"one\nTWO\nthree\n"


@pytest.mark.parametrize(
    "old, new, original, why",
    [
        ("TWO", "two", ORIGINAL, "Reversed (or previously applied) patch detected!"),
        ("two", "TWO", b"one\nTWO\nthree\n", "Reversed (or previously applied) patch detected!"),  # applied already
        ("deux", "TWO", ORIGINAL, "Hunk #1 FAILED"),
    ],
    ids=["reversed", "already-applied", "failing"],
)
def test_patch_that_does_not_apply_fails_without_asking(tmp_path, old, new, original, why):
    status, output, dest = unpack_with_patch_on_a_terminal(tmp_path, old, new, original)
    assert status == 2, output
    line = output.strip().splitlines()[-1]
    assert line.startswith("BuildError: patch ") and "0001-fix.patch does not apply" in line and why in line
    assert "?" not in output  # patch asked nothing
    assert not dest.exists() and os.listdir(tmp_path / "src") == []


# A killed unpack: its scratch directory stays behind until the next unpack removes it.


def test_scratch_of_a_killed_unpack_is_removed_by_the_next(tmp_path):
    fifo = tmp_path / "slow.tar"  # an archive that arrives as slowly as the test wants
    os.mkfifo(fifo)
    src = tmp_path / "src"
    killed = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import sys; sys.path.insert(0, {SITE_SCONS!r})\n"
            f"from rvbuild.unpack import unpack\n"
            f"unpack({str(fifo)!r}, {str(src / 'pkg')!r}, 'pkg-1.0', progress=False)",
        ],
        start_new_session=True,
    )
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.addfile(*member("pkg-1.0/first", b"x" * (3 << 20)))
    with open(fifo, "wb") as writer:
        writer.write(buffer.getvalue()[: 2 << 20])  # unpack reads in 1 MiB chunks
        writer.flush()
        deadline = time.monotonic() + 20
        while not any(
            (src / name / "archive" / "pkg-1.0" / "first").exists()
            for name in (os.listdir(src) if src.exists() else [])
        ):
            assert time.monotonic() < deadline, "the unpack never started"
            time.sleep(0.05)
        os.killpg(killed.pid, signal.SIGKILL)
        killed.wait()
    stale = os.listdir(src)
    assert len(stale) == 1 and stale[0].startswith(f".unpack-{killed.pid}-")

    live = src / f".unpack-{os.getpid()}-live"  # another unpack of this process, still running
    live.mkdir()
    archive = make_archive(tmp_path / "pkg.tar", member("pkg-1.0/first", b"y"))
    unpack(archive, str(src / "pkg"), "pkg-1.0", progress=False)
    assert sorted(os.listdir(src)) == sorted([live.name, "pkg", "pkg.unpacked"])
    assert (src / "pkg" / "first").read_text() == "y"


# The store: a tree unpacked once and linked into each checkout that shares the downloads.


def unpack_linked(tmp_path, dest, store, key="sha256-of-pkg-1.0"):
    archive = tmp_path / "pkg-1.0.tar"
    if not archive.exists():
        make_archive(archive, member("pkg-1.0/include/x.h", b"int x;\n"), member("pkg-1.0/configure", b"#!/bin/sh\n"))
    unpack(str(archive), str(dest), "pkg-1.0", progress=False, store=str(store), key=key)
    return archive


def test_tree_is_hard_links_to_a_read_only_tree_in_the_store(tmp_path):
    store, dest = tmp_path / "dl" / "unpacked", tmp_path / "src" / "pkg"
    unpack_linked(tmp_path, dest, store)
    (kept,) = os.listdir(store)
    assert kept.startswith("pkg-")
    assert everything_below(store / kept) == everything_below(dest) == ["configure", "include", "include/x.h"]
    for name in ("configure", "include/x.h"):
        assert os.path.samefile(dest / name, store / kept / name)
        assert stat.S_IMODE(os.stat(dest / name).st_mode) & 0o222 == 0
    (dest / "include" / "new.h").write_text("only here\n")  # the directories are the checkout's own
    assert everything_below(store / kept) == ["configure", "include", "include/x.h"]
    assert sorted(os.listdir(tmp_path / "src")) == ["pkg", "pkg.unpacked"]


def test_another_checkout_links_the_kept_tree_without_reading_the_archive(tmp_path):
    store = tmp_path / "dl" / "unpacked"
    archive = unpack_linked(tmp_path, tmp_path / "a" / "pkg", store)
    archive.write_bytes(b"not a tar")
    unpack_linked(tmp_path, tmp_path / "b" / "pkg", store)
    assert os.path.samefile(tmp_path / "a" / "pkg" / "include" / "x.h", tmp_path / "b" / "pkg" / "include" / "x.h")
    assert len(os.listdir(store)) == 1


def test_other_contents_are_kept_apart(tmp_path):
    store = tmp_path / "dl" / "unpacked"
    unpack_linked(tmp_path, tmp_path / "a" / "pkg", store, key="sha256-of-pkg-1.0")
    unpack_linked(tmp_path, tmp_path / "b" / "pkg", store, key="sha256-of-pkg-1.0 0001-fix.patch")
    assert len(os.listdir(store)) == 2
    assert not os.path.samefile(tmp_path / "a" / "pkg" / "configure", tmp_path / "b" / "pkg" / "configure")


def test_a_store_on_another_filesystem_is_not_used(tmp_path):
    shm = "/dev/shm"
    if not os.path.isdir(shm) or os.stat(shm).st_dev == os.stat(tmp_path).st_dev:
        pytest.skip("no second filesystem here")
    with tempfile.TemporaryDirectory(dir=shm) as other:
        unpack_linked(tmp_path, tmp_path / "src" / "pkg", os.path.join(other, "unpacked"))
        assert os.listdir(os.path.join(other, "unpacked")) == []
    assert os.stat(tmp_path / "src" / "pkg" / "configure").st_nlink == 1


# Edits: a tree changed since it was unpacked is found, never replaced, and never kept in the store.


def test_a_file_written_in_place_is_found_and_drops_the_stores_copy(tmp_path):
    store, dest = tmp_path / "dl" / "unpacked", tmp_path / "src" / "pkg"
    archive = unpack_linked(tmp_path, dest, store)
    assert EditSearch(str(dest)).found() == []
    os.chmod(dest / "include" / "x.h", 0o644)
    with open(dest / "include" / "x.h", "a") as f:  # in place: the store's file is the same inode
        f.write("int edited;\n")
    assert str(EditSearch(str(dest))) == "edited: include/x.h"
    with pytest.raises(TreeEdited) as edited:
        unpack(str(archive), str(dest), "pkg-1.0", progress=False, store=str(store), key="sha256-of-pkg-1.0")
    assert edited.value.paths == ["include/x.h"] and edited.value.store_dropped
    assert os.listdir(store) == []  # the next tree linked from the store is unpacked anew
    assert (dest / "include" / "x.h").read_text() == "int x;\nint edited;\n"  # the user's edit stays


def test_a_tree_unpacked_in_place_finds_what_was_added_and_removed(tmp_path):
    archive = make_archive(tmp_path / "pkg.tar", member("pkg-1.0/a/x.h", b"x"), member("pkg-1.0/b/y.h", b"y"))
    dest = tmp_path / "src" / "pkg"
    unpack(str(archive), str(dest), "pkg-1.0", progress=False)
    (dest / "a" / "new.h").write_text("new\n")
    os.unlink(dest / "b" / "y.h")
    assert EditSearch(str(dest)).found() == ["a", "a/new.h", "b"]
    with pytest.raises(TreeEdited) as edited:
        unpack(str(archive), str(dest), "pkg-1.0", progress=False)
    assert not edited.value.store_dropped and (dest / "a" / "new.h").exists()
    shutil.rmtree(dest)
    dest.mkdir()  # what scons leaves of a deleted tree before it unpacks it again
    unpack(str(archive), str(dest), "pkg-1.0", progress=False)
    assert everything_below(dest) == ["a", "a/x.h", "b", "b/y.h"]


def test_no_look_for_edits_in_a_tree_whose_component_builds_from_the_users_own(tmp_path):
    src = tmp_path / "src"
    archive = make_archive(tmp_path / "pkg.tar", member("pkg-1.0/first", b"x"))
    unpack(archive, str(src / "linux-1"), "pkg-1.0", progress=False, owner="linux_src")
    unpack(archive, str(src / "busybox-1"), "pkg-1.0", progress=False, owner="busybox_src")
    start_edit_searches(str(src), ["linux_src"])
    assert sorted(os.path.basename(tree) for tree in unpack_module._searches_started) == ["busybox-1"]
    unpack_module._searches_started.clear()
