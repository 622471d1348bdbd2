#!/usr/bin/env python3
"""The team cache's figures (issue 10): how long a fresh clone at another path takes to build rv64
when a teammate already built it, through ccache's remote storage (ccache_remote=, a private
redis) and through SCons' CacheDir (cache_dir=).

    .venv/bin/python bench/team_cache.py [--dl DIR]

Clone A builds rv64 with both on, every compile also written to redis (CCACHE_RESHARE: what it
finds in this user's ccache counts as made by the teammate). Then, timed, each from a fresh clone
at another path with an empty local ccache: B with ccache_remote= alone, C with cache_dir= too
(goals: under 60 s and under 30 s), and D as B, on what is a new machine to rvbuild: a download
cache with the downloads only, so that it unpacks every tree (the others link the trees that this
machine's download cache keeps). Everything runs in a scratch folder, removed at the end.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, os.path.join(ROOT, "tests", "deps"))
from floor import downloads_without_trees  # noqa: E402

from servers import redis  # noqa: E402


def build(scratch, name, dl, options, env):
    """Clone HEAD to scratch/name and build rv64 there with `options`: (seconds, closing lines)."""
    path = f"{scratch}/{name}/rvbuild"
    subprocess.run(["git", "clone", "-q", ROOT, path], check=True)
    command = [sys.executable, "-m", "SCons", "-Q", "image", "variant=rv64", f"dl={dl}", "progress=0", *options]
    started = time.monotonic()
    result = subprocess.run(command, cwd=path, env=env, capture_output=True, text=True)
    took = time.monotonic() - started
    if result.returncode != 0:
        sys.exit(f"team_cache: the build in {path} failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}")
    return took, [line for line in result.stdout.splitlines() if line.startswith("rvbuild:")]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dl", default=f"{ROOT}/dl", help="download cache (default this checkout's dl/)")
    args = parser.parse_args()
    scratch = tempfile.mkdtemp(prefix="rvbuild-team-cache-")
    try:
        with redis(f"{scratch}/redis.log") as port:
            remote = f"ccache_remote=redis://127.0.0.1:{port}"
            cache_dir = f"cache_dir={scratch}/cache-dir"
            dl = os.path.realpath(args.dl)
            print("clone A fills redis and the cache_dir (not timed)", flush=True)
            build(scratch, "a", dl, [remote, cache_dir], dict(os.environ, CCACHE_RESHARE="1"))
            figures = []
            new_machine = downloads_without_trees(dl, f"{scratch}/dl")
            for name, options, goal, downloads in (
                ("b", [remote], 60, dl),
                ("c", [remote, cache_dir], 30, dl),
                ("d", [remote], None, new_machine),
            ):
                env = dict(os.environ, CCACHE_DIR=f"{scratch}/{name}/ccache")
                took, closing = build(scratch, name, downloads, options, env)
                label = " ".join(option.split("=")[0] + "=" for option in options)
                if downloads == new_machine:
                    label += " (no tree unpacked yet)"
                figures.append((label, took, goal))
                print(f"  {label}: {took:.1f} s", *closing, sep="\n    ", flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    load = re.sub(r"\s+", " ", open("/proc/loadavg").read()).split()[0]
    print(f"\nA fresh clone at another path, empty local ccache, {os.cpu_count()} cores (load {load} at the end):")
    for label, took, goal in figures:
        verdict = f"goal < {goal} s: {'met' if took < goal else 'NOT MET'}" if goal else "(no goal)"
        print(f"  {label:<46} {took:6.1f} s  {verdict}")


if __name__ == "__main__":
    main()
