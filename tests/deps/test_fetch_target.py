"""`scons fetch` downloads and verifies every source the build needs, git ones included, into the
cache that dl= names, and builds nothing; the build afterwards needs no network.

The fake trees, except two sources fetched for real: Dropbear (the fake tree as its release
tarball, from a local HTTP server) and, with firmware=bbl, riscv-pk (the fake tree committed to
a local git repository given as riscv_pk_url=).
"""

import os
import re
import subprocess
import sys

import pytest

from fake_project import FAKES, Project, SlowServer, copy_project, fake_release, fetch_from
from helpers import ROOT
from rvbuild.steps import LINE


def git(repo, *args):
    return subprocess.run(
        ["git", "-C", repo, "-c", "user.name=t", "-c", "user.email=t@t", *args],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


@pytest.fixture(scope="module")
def fetched(tmp_path_factory):
    """The project after `scons fetch`, with its cache in a directory of its own."""
    tmp = tmp_path_factory.mktemp("fetch")
    riscv_pk = str(tmp / "riscv-pk")
    os.mkdir(riscv_pk)
    git(riscv_pk, "init", "-q")
    git(riscv_pk, "--work-tree", f"{ROOT}/tests/fixtures/fake-riscv-pk", "add", ".")
    git(riscv_pk, "commit", "-qm", "fake riscv-pk")
    commit = git(riscv_pk, "rev-parse", "HEAD")
    cache = str(tmp / "cache")
    project = Project(
        copy_project(str(tmp / "project")),
        local={name: fake for name, fake in FAKES.items() if name != "dropbear"},
        options=["firmware=bbl", f"riscv_pk_url={riscv_pk}", f"dl={cache}"],
    )
    project.edit("components/bbl/SConscript", lambda text: re.sub(r'commit="[0-9a-f]{40}"', f'commit="{commit}"', text))
    filename, body = fake_release(project, "dropbear")
    server = SlowServer(filename, body)
    fetch_from(project, "dropbear", server.url, body)
    project.fetch_output = project.scons("fetch").stdout
    project.cache, project.commit, project.riscv_pk, project.dropbear_url = cache, commit, riscv_pk, server.url
    yield project
    server.close()


def test_fetch_fills_the_cache_dl_names(fetched):
    assert sorted(os.listdir(fetched.cache)) == [
        "dropbear-2022.83.tar.bz2",
        f"riscv-pk-{fetched.commit}.tar",
        "riscv-pk.git",
    ]
    assert not os.path.exists(fetched.file("dl"))


def test_fetch_builds_nothing(fetched):
    assert {label for label, _ in LINE.findall(fetched.fetch_output)} == {"FETCH", "GIT"}
    assert not os.path.exists(fetched.file("build/src"))
    assert not os.path.exists(fetched.file("build/rv64-bbl"))


def test_no_path_has_a_hash_sign(fetched):
    """`#dir` means the top of the project to SCons only, never a directory's real name."""
    paths = [
        os.path.join(directory, name) for directory, subdirs, files in os.walk(fetched.path) for name in subdirs + files
    ]
    assert [path for path in paths if "#" in path] == []


def test_build_after_fetch_needs_no_network(fetched):
    offline = ["unshare", "--net", "--"]
    if subprocess.run([*offline, "true"], capture_output=True).returncode != 0:
        pytest.skip("unshare --net needs root (or user namespaces) here")
    reach_server = [sys.executable, "-c", f"import urllib.request; urllib.request.urlopen({fetched.dropbear_url!r})"]
    assert subprocess.run(reach_server, capture_output=True).returncode == 0
    assert subprocess.run([*offline, *reach_server], capture_output=True).returncode != 0
    os.rename(fetched.riscv_pk, fetched.riscv_pk + ".gone")
    try:
        result = subprocess.run(
            [*offline, sys.executable, "-m", "SCons", "-Q", "image", *fetched.options],
            cwd=fetched.path,
            capture_output=True,
            text=True,
        )
    finally:
        os.rename(fetched.riscv_pk + ".gone", fetched.riscv_pk)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "FETCH" not in {label for label, _ in LINE.findall(result.stdout)}
    for output in ("bbl/bbl", "dropbear/dropbear", "rootfs/rootfs.ext4"):
        assert os.path.exists(fetched.file(f"build/rv64-bbl/{output}"))
