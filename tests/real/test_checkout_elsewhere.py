"""A checkout at another path builds rv64 from the ccache that this checkout's build filled, each
compile answered in ccache's direct mode. That mode hashes the command line and what every included
file says, so neither may name the checkout: ccache's base_dir makes the paths on the command line
relative, and what the builds generate must do the same. Where that fails, every compile runs the
preprocessor before it hits (Dropbear's 700 did, and OpenSBI's 100)."""

import collections
import re
import shutil

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


def test_checkout_elsewhere_builds_from_ccache_in_direct_mode(tmp_path):
    scons("image")  # this checkout's build, which fills the ccache
    elsewhere = copy_build_files(tmp_path / "elsewhere" / "rvbuild")
    try:
        scons("image", f"dl={ROOT}/dl", "progress=0", cwd=elsewhere)
        results = compiles_by_result(elsewhere / "build" / ".ccache-stats.log")
    finally:
        shutil.rmtree(elsewhere)
    direct, preprocessed = results["direct_cache_hit"], results["preprocessed_cache_hit"]
    print(f"{len(direct)} direct hits, {len(preprocessed)} after the preprocessor: {preprocessed}")
    assert results["cache_miss"] == []
    # Direct mode steps aside for a file that uses __DATE__ or was written in the compile's second.
    assert len(preprocessed) <= len(direct) / 100, f"{len(preprocessed)} compiles ran the preprocessor"
