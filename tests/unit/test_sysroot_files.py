"""A package's sysroot: exactly the staged files of the libraries it depends on (rvbuild.sysroot)."""

from types import SimpleNamespace

from rvbuild import sysroot
from rvbuild.sysroot import Staged


def node(path):
    return SimpleNamespace(abspath=str(path))


def test_the_libraries_of_a_package_are_those_it_names_and_what_they_need(tmp_path):
    ncurses = Staged("ncurses", {"usr/include/curses.h": node("c")})
    tinfo = Staged("tinfo", {"usr/lib/libtinfo.a": node("t")})
    menu = Staged("menu", {"usr/lib/libmenu.a": node("m")}, needs=(ncurses, tinfo))
    depends = {"menu": [menu], "zlib": [Staged("zlib", {"usr/lib/libz.a": node("z")})], "kernel": {"Image": 1}}
    assert [s.library for s in sysroot.closure(depends)] == ["menu", "ncurses", "tinfo", "zlib"]
    assert sysroot.closure({"packages": [[ncurses], ["not staged"]]}) == [ncurses]


def test_a_sysroot_holds_exactly_what_is_wanted(tmp_path):
    header = tmp_path / "zlib.h"
    header.write_text("#define ZLIB_VERSION 1\n")
    root = tmp_path / "sysroot"
    (root / "usr/include/old").mkdir(parents=True)
    (root / "usr/include/old/stale.h").write_text("left from a dependency given up\n")
    sysroot.assemble(str(root), {"usr/include/zlib.h": str(header)})
    files = sorted(str(path.relative_to(root)) for path in root.rglob("*"))
    assert files == ["usr", "usr/include", "usr/include/zlib.h"]


def test_the_digest_follows_the_files_content(tmp_path):
    header = tmp_path / "zlib.h"
    header.write_text("1\n")
    before = sysroot.digest({"usr/include/zlib.h": str(header)})
    header.write_text("2\n")
    assert sysroot.digest({"usr/include/zlib.h": str(header)}) != before and sysroot.digest({}) == ""
