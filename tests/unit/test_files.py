"""rvbuild.files: the links that the kernel's make is pointed at (site_tools/kbuild.py)."""

import os

from rvbuild.files import link_entries


def test_links_follow_the_trees_entries(tmp_path):
    mine, theirs, links = tmp_path / "mine", tmp_path / "theirs", tmp_path / "links"
    for tree in (mine, theirs):
        (tree / "init").mkdir(parents=True)
        (tree / "Makefile").write_text(f"# {tree.name}\n")
        (tree / ".git").mkdir()
    (mine / "only-mine").write_text("")

    link_entries(str(mine), str(links), skip=[".git"])
    assert sorted(os.listdir(links)) == ["Makefile", "init", "only-mine"]
    assert (links / "Makefile").read_text() == "# mine\n"

    link_entries(str(theirs), str(links), skip=[".git"])  # another tree: every link points there
    assert sorted(os.listdir(links)) == ["Makefile", "init"]
    assert {os.readlink(links / name) for name in os.listdir(links)} == {f"{theirs}/Makefile", f"{theirs}/init"}

    (theirs / "Kconfig").write_text("")
    (theirs / "init").rename(theirs / "init.old")
    link_entries(str(theirs), str(links), skip=[".git"])
    assert sorted(os.listdir(links)) == ["Kconfig", "Makefile", "init.old"]
