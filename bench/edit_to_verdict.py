#!/usr/bin/env python3
"""The edit-to-verdict loops of issue 20, on the real rv64 build (run `scons image` first), each
timed from the edit to the verdict; prints figures, asserts nothing.

    .venv/bin/python bench/edit_to_verdict.py [--runs N] [--kernel-tree DIR]

(b) a one-line edit to programs/hello/hello.c (the greeting), then `scons run cmd=hello`
    (goal: at most 4 s); and `scons run cmd=true` with nothing to rebuild.
(a) with --kernel-tree DIR, a local kernel tree (a copy: cp -a build/src/linux-<version> DIR): a
    one-line edit to DIR/init/main.c (a boot message), then `scons test linux_src=DIR` with one
    guest test (goal: at most 15 s). The first build of the tree is not timed.

Each edit changes what the line compiles to, and the runs alternate between the edit and the
original, so that every run rebuilds; the file is put back at the end, and the build (not timed).
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HELLO = f"{ROOT}/programs/hello/hello.c"
GREETING = 'printf("Hello from %s, built by rvbuild!\\n", machine.machine);'
KERNEL_LINE = 'pr_notice("%s", linux_banner);'
GUEST_TEST = "command: hello\nmatch: regex\n---\nHello from riscv64, built by rvbuild!.*\n"


def scons(*args):
    """`scons -Q args` for rv64; returns its wall-clock seconds."""
    started = time.monotonic()
    subprocess.run(
        [sys.executable, "-m", "SCons", "-Q", *args, "variant=rv64", "progress=0"],
        cwd=ROOT,
        check=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
    )
    return time.monotonic() - started


def edited(path, line, changed, runs, verdict):
    """Times `verdict()` after each of `runs` edits of `path`: `line` made `changed`, then put back."""
    with open(path) as f:
        original = f.read()
    assert line in original, f"{line} is not in {path}"
    times = []
    try:
        for run in range(runs):
            with open(path, "w") as f:
                f.write(original.replace(line, changed) if run % 2 == 0 else original)
            started = time.monotonic()
            verdict()
            times.append(time.monotonic() - started)
    finally:
        with open(path, "w") as f:
            f.write(original)
    return times


def report(name, times, goal=None):
    median = statistics.median(times)
    said = "" if goal is None else f"; goal at most {goal} s: {'met' if median <= goal else 'NOT MET'}"
    print(f"{name:44} median {median:5.2f} s (min {min(times):.2f}, max {max(times):.2f}, {len(times)} runs){said}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--kernel-tree", help="a local kernel tree to edit (a copy of the pinned one)")
    args = parser.parse_args()
    scons("image")
    report("scons run cmd=true, nothing to rebuild", [scons("run", "cmd=true") for _ in range(args.runs)])
    changed = GREETING.replace("rvbuild!", "rvbuild, edited!")
    hello_edit = edited(HELLO, GREETING, changed, args.runs, lambda: scons("run", "cmd=hello"))
    report("(b) edit hello.c -> scons run cmd=hello", hello_edit, goal=4)
    scons("image")
    if not args.kernel_tree:
        print("(a) skipped: give --kernel-tree DIR, a copy of build/src/linux-<version> (cp -a)")
        return
    tree = os.path.abspath(args.kernel_tree)
    with tempfile.TemporaryDirectory() as tests:
        with open(f"{tests}/hello.test", "w") as f:
            f.write(GUEST_TEST)
        options = [f"linux_src={tree}", f"guest_tests={tests}"]
        scons("image", *options)
        changed = KERNEL_LINE.replace('"%s"', '"edited: %s"')
        kernel_edit = edited(f"{tree}/init/main.c", KERNEL_LINE, changed, args.runs, lambda: scons("test", *options))
        report("(a) edit init/main.c -> scons test (1 test)", kernel_edit, goal=15)
        scons("image", *options)


if __name__ == "__main__":
    main()
