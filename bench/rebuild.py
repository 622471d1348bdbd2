#!/usr/bin/env python3
"""Figures for issue #3, on the real rv64 build (run `scons image` first): null build time,
and for a kernel-option edit and an overlay edit, the whole `scons image` against the time of the
make commands it ran (from the component logs): the rest is what rvbuild and SCons add. Prints figures; asserts nothing.

    .venv/bin/python bench/rebuild.py [--runs N]
"""

import argparse
import glob
import os
import re
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOGS = f"{ROOT}/build/rv64/logs"
FRAGMENT = f"{ROOT}/components/linux/virt.config"
MOTD = f"{ROOT}/components/rootfs/overlay/etc/motd"


def scons(*args):
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "SCons", "-Q", *args], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return time.monotonic() - started


def log_sizes():
    return {path: os.path.getsize(path) for path in glob.glob(f"{LOGS}/*.log")}


def command_time_since(sizes):
    """Seconds spent in the components' own commands logged after `sizes` were taken."""
    total = 0.0
    for path in glob.glob(f"{LOGS}/*.log"):
        with open(path) as f:
            f.seek(sizes.get(path, 0))
            total += sum(float(t) for t in re.findall(r"^# took ([\d.]+) s", f.read(), re.MULTILINE))
    return total


def timed_edit(path, old, new):
    """Time `scons image` after the edit and after undoing it; returns [(total, commands), ...]."""
    original = open(path).read()
    results = []
    try:
        for text in (original.replace(old, new, 1), original):
            with open(path, "w") as f:
                f.write(text)
            sizes = log_sizes()
            results.append((scons("image"), command_time_since(sizes)))
    finally:
        with open(path, "w") as f:
            f.write(original)
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    scons("image")
    null = [scons("image") for _ in range(runs)]
    print(
        f"null build (scons image, nothing changed): median {statistics.median(null):.2f} s, "
        f"min {min(null):.2f} s over {runs} runs"
    )
    for name, path, old, new in [
        (
            "kernel option (CONFIG_IKCONFIG on, then off)",
            FRAGMENT,
            "CONFIG_PRINTK=y\n",
            "CONFIG_PRINTK=y\nCONFIG_IKCONFIG=y\n",
        ),
        ("overlay file (etc/motd)", MOTD, "Try `hello`.", "Try `hello` now."),
    ]:
        for (total, commands), step in zip(timed_edit(path, old, new), ("edit", "undo"), strict=True):
            split = f", its make commands {commands:.2f} s, the rest {total - commands:.2f} s" if commands else ""
            print(f"{name}, {step}: scons image {total:.2f} s{split}")


if __name__ == "__main__":
    main()
