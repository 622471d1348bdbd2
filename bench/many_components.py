#!/usr/bin/env python3
"""A null build as the system grows (issue: at most 0.5 s with 200 extra components). Prints figures; asserts nothing.

`scons image` with nothing to do, with the shipped components and with N extra programs of one
small C file each (programs/many<i>/): the median of each (wall clock, and CPU time, steadier on a
busy machine), what each extra component adds in ms, and whether the goal is met. Then SCons
alone, in the same hour (this machine's speed drifts by half from one hour to the next): an
SConstruct of no targets, and one of N targets of one source each copied by a command, taken in
turns: what SCons itself costs to start and for each target it finds up to date. With
--instructions, each of the four is also counted in instructions by valgrind's callgrind (one run
each, about a minute in all): a figure that does not drift with the hour.

    .venv/bin/python bench/many_components.py [--components N] [--runs N] [--instructions] [--profile FILE]
        [--scratch DIR]

Everything runs in a scratch clone of this checkout's HEAD (removed at the end unless --scratch
names a folder to keep, and to reuse: its build/ is kept), with links to this checkout's downloads
(--dl). Both are built first (not timed): the shipped system, then the same with the N programs,
so that a first run costs a full rv64 build (a few minutes with a warm ccache). Every build has
rootfs_size=256M, as in the issue, so that the image has room for the programs at any N. The
timed runs have Python's bytecode cache (PYTHONDONTWRITEBYTECODE is unset), as a user's do.
--profile FILE writes an SCons --profile of one null build with the N programs (read it with
`python -m pstats FILE`); it runs after the timed ones.
"""

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from floor import downloads_without_trees  # bench/ is on the path of a script run from it

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GOAL = (200, 0.5)  # (extra components, seconds): the goal for a null build
OPTIONS = ["variant=rv64", "rootfs_size=256M", "progress=0"]
PROGRAM = """#include <stdio.h>

int main(void)
{{
\tputs("many{index}: one of the programs of bench/many_components.py");
\treturn 0;
}}
"""


FLOOR_SCONSTRUCT = """# bench/many_components.py: SCons alone, N targets of one source each
env = Environment(tools=[])
for index in range(int(ARGUMENTS["n"])):
    env.Command(f"out/{index:04}", f"src/{index:04}.c", [["cp", "$SOURCE", "$TARGET"]])
"""


def scons_command(*args):
    """The command line of `scons -Q args`, run by this Python."""
    return [sys.executable, "-m", "SCons", "-Q", *args]


def instructions(command, cwd, env):
    """The instructions `command` runs, all its threads (not the processes it starts), by callgrind."""
    counted = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *command],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    said = [line.split()[-1] for line in counted.stderr.splitlines() if "Collected :" in line]
    if counted.returncode != 0 or not said:
        sys.exit(f"many_components: `{' '.join(command)}` under callgrind failed in {cwd}")
    return int(said[0])


def scons_alone(folder, count, runs, env, count_instructions=False):
    """Null builds of FLOOR_SCONSTRUCT with no targets and with `count`, taken in turns (after one
    untimed build of each): the two medians of wall-clock seconds, and the two instruction counts
    (or None)."""
    times = {0: [], count: []}
    for targets in times:
        os.makedirs(f"{folder}/{targets}/src", exist_ok=True)
        with open(f"{folder}/{targets}/SConstruct", "w") as f:
            f.write(FLOOR_SCONSTRUCT)
        for index in range(targets):
            with open(f"{folder}/{targets}/src/{index:04}.c", "w") as f:
                f.write(PROGRAM.format(index=index))
    for run in range(runs + 1):
        for targets, taken in times.items():
            started = time.monotonic()
            subprocess.run(
                scons_command(f"n={targets}"),
                cwd=f"{folder}/{targets}",
                env=env,
                stdout=subprocess.DEVNULL,
                check=True,
            )
            if run:  # the first builds the targets
                taken.append(time.monotonic() - started)
    medians = [statistics.median(taken) for taken in times.values()]
    if not count_instructions:
        return medians, None
    return medians, [instructions(scons_command(f"n={n}"), f"{folder}/{n}", env) for n in times]


class Clone:
    def __init__(self, path, dl, log):
        self.path, self.log = path, log
        self.options = [*OPTIONS, f"dl={dl}"]
        self.env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}

    def scons(self, *args):
        """Run `scons -Q args` in the clone; returns its wall-clock seconds (and its CPU seconds, with
        those of the commands it ran, as self.cpu)."""
        with open(self.log, "a") as log:
            log.write(f"\n# scons {' '.join(args)}\n")
            log.flush()
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.monotonic()
            status = subprocess.run(
                scons_command(*args, *self.options),
                cwd=self.path,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            took = time.monotonic() - started
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
        if status.returncode != 0:
            sys.exit(f"many_components: `scons {' '.join(args)}` failed in {self.path}; see {self.log}")
        return took

    def set_programs(self, count):
        """programs/many<i>/main.c for i < count, and no others of that name."""
        top = f"{self.path}/programs"
        for name in os.listdir(top):
            if name.startswith("many") and (not name[4:].isdigit() or int(name[4:]) >= count):
                shutil.rmtree(f"{top}/{name}")
        for index in range(count):
            os.makedirs(f"{top}/many{index:04}", exist_ok=True)
            path = f"{top}/many{index:04}/main.c"
            if not os.path.exists(path):
                with open(path, "w") as f:
                    f.write(PROGRAM.format(index=index))

    def null_builds(self, count, runs, count_instructions=False):
        """With `count` extra programs, built first (untimed), `runs` null builds' (wall, CPU) seconds,
        and the instructions of one more (or None)."""
        self.set_programs(count)
        self.scons("image")
        self.scons("image")  # the first after a change may still write Python's bytecode
        times = [(self.scons("image"), self.cpu) for _ in range(runs)]
        if not count_instructions:
            return times, None
        return times, instructions(scons_command("image", *self.options), self.path, self.env)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--components", type=int, default=GOAL[0], help=f"extra programs (default {GOAL[0]})")
    parser.add_argument("--runs", type=int, default=7, help="null builds timed each way, the median shown (default 7)")
    parser.add_argument("--instructions", action="store_true", help="also count instructions (needs valgrind)")
    parser.add_argument("--profile", help="also write an SCons --profile of a null build with the extra programs")
    parser.add_argument("--dl", default=f"{ROOT}/dl", help="download cache (default this checkout's dl/)")
    parser.add_argument("--scratch", help="the scratch clone's folder, kept afterwards (made if missing)")
    args = parser.parse_args()
    if args.instructions and not shutil.which("valgrind"):
        sys.exit("many_components: --instructions counts with valgrind, which is missing: apt-get install valgrind")
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    scratch = os.path.abspath(args.scratch) if args.scratch else tempfile.mkdtemp(prefix="rvbuild-many-")
    path, log = f"{scratch}/rvbuild", f"{scratch}/many_components.log"
    try:
        if not os.path.exists(path):
            subprocess.run(["git", "clone", "-q", ROOT, path], check=True)
        subprocess.run(["git", "fetch", "-q", ROOT, "HEAD"], cwd=path, check=True)
        subprocess.run(["git", "reset", "-q", "--hard", head], cwd=path, check=True)
        clone = Clone(path, downloads_without_trees(args.dl, f"{scratch}/dl"), log)
        print(f"rvbuild {head[:12]} in {path}; scons' output in {log}", flush=True)
        print("building the shipped components, then timing null builds (the first build is untimed)", flush=True)
        shipped, shipped_instructions = clone.null_builds(0, args.runs, args.instructions)
        print(f"building {args.components} extra programs, then timing null builds", flush=True)
        grown, grown_instructions = clone.null_builds(args.components, args.runs, args.instructions)
        if args.profile:
            clone.scons("image", f"--profile={os.path.abspath(args.profile)}")
        print("timing SCons alone", flush=True)
        (alone, alone_more), alone_instructions = scons_alone(
            f"{scratch}/scons-alone", args.components, args.runs, clone.env, args.instructions
        )
    finally:
        if not args.scratch:
            shutil.rmtree(scratch, ignore_errors=True)
    load = os.getloadavg()[0]
    (base, base_cpu), (more, more_cpu) = (
        [statistics.median(column) for column in zip(*times, strict=True)] for times in (shipped, grown)
    )
    per_component = (more - base) / args.components * 1000 if args.components else 0.0
    per_component_cpu = (more_cpu - base_cpu) / args.components * 1000 if args.components else 0.0
    print(f"\nnull build (scons image), median of {args.runs}, {os.cpu_count()} cores, load {load:.1f} at the end:")
    for name, seconds, cpu, times in (
        ("shipped components", base, base_cpu, shipped),
        (f"with {args.components} extra programs", more, more_cpu, grown),
    ):
        spread = f"min {min(t[0] for t in times):.2f}, max {max(t[0] for t in times):.2f}"
        print(f"  {name + ':':<30} {seconds:.2f} s ({spread}; CPU {cpu:.2f} s)")
    print(f"  {'per extra component:':<30} {per_component:.2f} ms (CPU {per_component_cpu:.2f} ms)")
    projected = base + per_component * GOAL[0] / 1000
    met = "met" if projected <= GOAL[1] else "NOT MET"
    at = "" if args.components == GOAL[0] else f" (projected from {args.components}: {projected:.2f} s)"
    print(f"  goal: at most {GOAL[1]} s with {GOAL[0]} extra components{at}: {met}")
    per_target = (alone_more - alone) / args.components * 1000 if args.components else 0.0
    print(f"SCons alone, in turns, median of {args.runs}: {alone:.2f} s with no targets, {per_target:.2f} ms a target")
    if args.instructions:
        print("instructions, by callgrind (the same whatever the hour):")
        for name, (base_count, more_count) in (
            ("rvbuild", (shipped_instructions, grown_instructions)),
            ("SCons alone", alone_instructions),
        ):
            each = (more_count - base_count) / args.components / 1e6 if args.components else 0.0
            counts = f"{base_count / 1e9:.3f} G, {more_count / 1e9:.3f} G with {args.components}"
            print(f"  {name + ':':<30} {counts}: {each:.2f} M each")
    if args.profile:
        print(f"(profile of a null build with {args.components} extra programs: {args.profile})")


if __name__ == "__main__":
    main()
