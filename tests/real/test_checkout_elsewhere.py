"""A checkout at another path builds rv64 from the ccache that this checkout's build filled, each
compile answered in ccache's direct mode. That mode hashes the command line and what every included
file says, so neither may name the checkout: ccache's base_dir makes the paths on the command line
relative, and what the builds generate must do the same. Where that fails, every compile runs the
preprocessor before it hits (Dropbear's 700 did, and OpenSBI's 100). A kernel tree of the user's
own, anywhere, builds from what the pinned tree's build left in ccache too."""

import collections
import json
import re
import shutil
import subprocess

import pytest

from helpers import ROOT, copy_build_files, scons

# What configure scripts compile to see what the compiler can do: autoconf's conftest.c, written
# and compiled in the same second (so direct mode steps aside), zlib's ztest<its process id>.c
# (a name of its own each time, so it misses), and checks fed on standard input.
CONFIGURE_CHECK = re.compile(r"conftest\.c|ztest\d+\.c|/dev/null")


def compiles_by_result(stats_log):
    """{ccache's result: [file compiled, ...]} from the stats log of one build, configure's checks
    left out."""
    results, source = collections.defaultdict(list), None
    with open(stats_log) as f:
        for line in f:
            if line.startswith("# "):
                source = line[2:].strip()
            elif not CONFIGURE_CHECK.fullmatch(source or ""):
                results[line.strip()].append(source)
    return results


@pytest.fixture(scope="module")
def elsewhere(tmp_path_factory):
    """A checkout at another path, built from the ccache that this checkout's build filled: (its
    folder, ccache's results of its first build: {result: [file compiled, ...]})."""
    scons("image")
    path = copy_build_files(tmp_path_factory.mktemp("elsewhere") / "rvbuild")
    try:
        scons("image", f"dl={ROOT}/dl", "progress=0", cwd=path)
        yield path, compiles_by_result(path / "build" / ".ccache-stats.log")
    finally:
        shutil.rmtree(path)


def test_checkout_elsewhere_builds_from_ccache_in_direct_mode(elsewhere):
    _, results = elsewhere
    direct, preprocessed = results["direct_cache_hit"], results["preprocessed_cache_hit"]
    print(f"{len(direct)} direct hits, {len(preprocessed)} after the preprocessor: {preprocessed}")
    assert results["cache_miss"] == []
    # Direct mode steps aside for a file that uses __DATE__ or was written in the compile's second.
    assert len(preprocessed) <= len(direct) / 100, f"{len(preprocessed)} compiles ran the preprocessor"


def test_a_kernel_tree_of_your_own_anywhere_builds_from_the_pinned_trees_ccache(elsewhere, tmp_path):
    """A copy of the pinned kernel tree, outside the checkout, given as linux_src=: its first build
    takes every kernel compile from ccache, and makes the pinned tree's Image byte for byte. An error
    in it names the file of the copy."""
    checkout, pinned_build = elsewhere
    scons("info", f"dl={ROOT}/dl", cwd=checkout)
    info = json.loads((checkout / "build/rv64/info.json").read_text())
    tree = tmp_path / "my" / "linux"
    tree.parent.mkdir()
    subprocess.run(["cp", "-a", checkout / info["components"]["linux"]["tree"], tree], check=True)
    pinned_image = (checkout / "build/rv64/linux/Image").read_bytes()
    built = scons("image", f"dl={ROOT}/dl", "progress=0", f"linux_src={tree}", cwd=checkout)
    results = compiles_by_result(checkout / "build" / ".ccache-stats.log")
    in_tree = {result: sorted(path for path in paths if "/src/linux-" in path) for result, paths in results.items()}
    print(built.stdout[-500:], {result: len(paths) for result, paths in in_tree.items()})
    compiled = [pinned_build[result] for result in ("direct_cache_hit", "preprocessed_cache_hit", "cache_miss")]
    pinned_compiles = sorted(path for paths in compiled for path in paths if "/src/linux-" in path)
    assert in_tree["direct_cache_hit"] == pinned_compiles  # the same compiles, every one a direct hit
    assert (checkout / "build/rv64/linux/Image").read_bytes() == pinned_image
    summary = next(line for line in built.stdout.splitlines() if line.startswith("rvbuild: rebuilt"))
    assert "opensbi" not in summary and "rootfs" not in summary

    with open(tree / "init/main.c", "a") as f:
        f.write("#error a mistake of yours\n")
    failed = scons("image", f"dl={ROOT}/dl", "progress=0", f"linux_src={tree}", cwd=checkout, check=False)
    assert failed.returncode != 0
    assert f"{tree}/init/main.c:" in failed.stdout + failed.stderr
