"""Local source trees are fingerprinted cheaply, and any edit changes the fingerprint."""

import os
import subprocess

import pytest

from rvbuild import fingerprint as fingerprint_module
from rvbuild.fingerprint import changed_files, fingerprint, start


def make_tree(path, git):
    (path / "src").mkdir(parents=True)
    (path / "src/main.c").write_text("int main(void) { return 0; }\n")
    (path / "Makefile").write_text("all:\n")
    if git:
        for command in (
            ["init", "-q"],
            ["add", "."],
            ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "tree"],
        ):
            subprocess.run(["git", "-C", str(path), *command], check=True)
    return path


@pytest.mark.parametrize("git", [False, True], ids=["plain", "git"])
def test_edits_change_the_fingerprint(tmp_path, git):
    tree = make_tree(tmp_path / "tree", git)
    seen = {fingerprint(str(tree))}
    assert fingerprint(str(tree)) in seen  # stable while nothing changes
    (tree / "src/main.c").write_text("int main(void) { return 1; }\n")
    seen.add(fingerprint(str(tree)))
    (tree / "src/new.c").write_text("int x;\n")
    seen.add(fingerprint(str(tree)))
    os.unlink(tree / "Makefile")
    seen.add(fingerprint(str(tree)))
    assert len(seen) == 4


def test_git_tree_ignores_a_touch_without_change(tmp_path):
    tree = make_tree(tmp_path / "tree", git=True)
    before = fingerprint(str(tree))
    os.utime(tree / "src/main.c", (1e9, 1e9))
    assert fingerprint(str(tree)) == before


def test_a_plain_tree_listed_in_the_background_sees_a_replaced_link(tmp_path):
    tree = make_tree(tmp_path / "tree", git=False)
    os.symlink("src/main.c", tree / "link")
    start(str(tree))  # as when the option names it, before the components are read
    first = fingerprint(str(tree))
    assert fingerprint(str(tree)) == first
    os.unlink(tree / "link")
    os.symlink("Makefile", tree / "link")
    start(str(tree))
    assert fingerprint(str(tree)) != first


def test_a_plain_tree_is_the_same_with_a_scratch_file_come_and_gone(tmp_path):
    tree = make_tree(tmp_path / "tree", git=False)
    before = fingerprint(str(tree))
    (tree / "src/conftest.c").write_text("int x;\n")  # as a build writing beside its sources would
    os.unlink(tree / "src/conftest.c")
    assert fingerprint(str(tree)) == before


def test_the_files_changed_since_the_last_listing_are_named(tmp_path):
    tree, kept = make_tree(tmp_path / "tree", git=False), str(tmp_path / "kept" / "tree.listing")
    first, changed = changed_files(str(tree), kept)
    assert changed == [] and first == fingerprint(str(tree))  # seen for the first time
    (tree / "src/main.c").write_text("int main(void) { return 1; }\n")
    (tree / "src/new.c").write_text("int x;\n")
    os.unlink(tree / "Makefile")
    fingerprint_module._compared.clear()  # as in the next run
    second, changed = changed_files(str(tree), kept)
    assert changed == ["Makefile", "src/main.c", "src/new.c"] and second != first
    fingerprint_module._compared.clear()
    assert changed_files(str(tree), kept) == (second, [])


def test_the_files_changed_in_a_git_tree_are_named_also_when_its_head_moves(tmp_path):
    tree, kept = make_tree(tmp_path / "tree", git=True), str(tmp_path / "kept" / "tree.listing")
    git = ["git", "-C", str(tree), "-c", "user.name=t", "-c", "user.email=t@localhost"]
    first, changed = changed_files(str(tree), kept)
    assert changed == [] and first == fingerprint(str(tree))
    (tree / "src/main.c").write_text("int main(void) { return 1; }\n")
    fingerprint_module._compared.clear()  # as in the next run
    edited, changed = changed_files(str(tree), kept)
    assert changed == ["src/main.c"] and edited != first
    subprocess.run([*git, "commit", "-qam", "edit"], check=True)
    (tree / "notes.txt").write_text("new\n")
    fingerprint_module._compared.clear()
    committed, changed = changed_files(str(tree), kept)
    assert changed == ["notes.txt", "src/main.c"] and committed == fingerprint(str(tree))  # HEAD moved over main.c
    subprocess.run([*git, "checkout", "-q", "HEAD~1"], check=True)
    fingerprint_module._compared.clear()
    assert changed_files(str(tree), kept)[1] == ["src/main.c"]
    fingerprint_module._compared.clear()
    assert changed_files(str(tree), kept)[1] == []
