"""Git sources (riscv-pk for BBL): fetched into the cache as a bare clone, verified by commit id,
and the pinned commit's tree kept there as a tar that unpacks like any archive."""

import os
import shutil
import subprocess

import pytest

from rvbuild import BuildError
from rvbuild.fetch import GitSource, fetch_git, fetch_git_archive
from rvbuild.unpack import unpack


def git(repo, *args):
    return subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", *args],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


@pytest.fixture
def upstream(tmp_path):
    repo = tmp_path / "riscv-pk"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "configure").write_text("#!/bin/sh\n")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "first")
    return repo


def test_pinned_commit_is_fetched_and_unpacked(upstream, tmp_path):
    commit = git(upstream, "rev-parse", "HEAD")
    (upstream / "configure").write_text("#!/bin/sh\necho later\n")
    git(upstream, "commit", "-qam", "later")
    source = GitSource("riscv-pk", str(upstream), commit)
    archive = fetch_git_archive(source, str(tmp_path / "dl"))
    assert set(os.listdir(tmp_path / "dl")) == {"riscv-pk.git", f"riscv-pk-{commit}.tar"}
    unpack(archive, str(tmp_path / "tree"), source.name, progress=False)
    assert (tmp_path / "tree" / "configure").read_text() == "#!/bin/sh\n"  # the pinned commit, not HEAD
    # Once cached, the upstream is not needed any more, nor is the clone once the tree is archived.
    assert fetch_git(GitSource("riscv-pk", "/nonexistent", commit), str(tmp_path / "dl")).endswith("riscv-pk.git")
    shutil.rmtree(tmp_path / "dl" / "riscv-pk.git")
    assert fetch_git_archive(GitSource("riscv-pk", "/nonexistent", commit), str(tmp_path / "dl")) == archive


def test_unknown_commit_fails_with_the_fix(upstream, tmp_path):
    with pytest.raises(BuildError, match=r"could not fetch riscv-pk 000000000000 .* point riscv_pk_url= at"):
        fetch_git(GitSource("riscv-pk", str(upstream), "0" * 40), str(tmp_path / "dl"))


def test_unreachable_url_fails_with_the_fix(tmp_path):
    with pytest.raises(BuildError, match="point riscv_pk_url= at a reachable clone"):
        fetch_git(GitSource("riscv-pk", str(tmp_path / "missing"), "0" * 40), str(tmp_path / "dl"))
    assert not os.path.exists(tmp_path / "tree")


def test_symlink_leading_out_of_the_tree_is_refused(upstream, tmp_path):
    os.symlink("../../outside", upstream / "escape")
    git(upstream, "add", ".")
    git(upstream, "commit", "-qm", "hostile")
    commit = git(upstream, "rev-parse", "HEAD")
    archive = fetch_git_archive(GitSource("riscv-pk", str(upstream), commit), str(tmp_path / "dl"))
    with pytest.raises(BuildError, match=r"refusing to unpack .* member .*escape is a symlink to \.\./\.\./outside"):
        unpack(archive, str(tmp_path / "src" / "tree"), "riscv-pk")
    assert os.listdir(tmp_path / "src") == []
