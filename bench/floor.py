#!/usr/bin/env python3
"""rvbuild against its floor (issue 10): the same work done by the same commands run directly, one
after another, with no orchestration; what no build system can beat without a cache. Prints a
table of rvbuild/floor ratios and the goals, and writes them as JSON and as a PNG chart.

    .venv/bin/python bench/floor.py [--variants rv64,rv32] [--skip-cold] [--runs N] [--out DIR]

Everything runs in a scratch clone of this checkout's HEAD (removed at the end unless --scratch
names a folder to keep), with this checkout's downloads (not its unpacked trees) and no ccache
(ccache=0 and CCACHE_DISABLE=1; --ccache keeps it on, for trying the script out, not for
figures). The figures are for rv64; the boot figures for each of --variants.

The floor is not a copy of rvbuild's command lines: rvbuild's component logs
(build/<variant>/logs/<component>.log) record every command it ran as a `$ ` line, with its
directory and added environment (rvbuild.run.logged_line), and the floor replays those lines
(rvbuild.run.parse_logged_line), each make with -j<cores> instead of rvbuild's jobserver. It also
does the few things rvbuild does in Python between them: the kernel's merged config copied into
obj/ and its Image copied out, and the root filesystem staged and imaged (rvbuild.rootfs).

- cold build: rvbuild's `scons image` in an empty build/ (and no tree kept to link from); then
  build/src/, the kept trees, each component's obj/ and the kernel's kconfig/ are removed, and the
  floor, in the same paths, unpacks every source as rvbuild does (rvbuild.unpack, given what
  info.json records), replays each component's commands in the order rvbuild started them, and
  makes the image (copy of the staged tree, mkfs.ext4, debugfs). The files rvbuild writes into
  obj/ before the first command (BusyBox's .config, Dropbear's localoptions.h, its settings
  record, the kernel fragments' values for Kconfig) are put back first. Not in the floor, as they
  take well under a second: `hello` (one C file, compiled by SCons itself) and the SSH keys. Both
  are timed in CPU seconds too: the floor's CPU time spread over every core is what no schedule of
  the same commands beats, printed under the table.
- null build: `scons image` with nothing to do, against every component's last make run again
  with nothing to do (what a script with no orchestration does every time).
- edits (a kernel option, a BusyBox option, an overlay file): the edit, `scons image` timed; the
  edit undone and built; the edit again, and the commands rvbuild logged for it replayed (plus the
  image when rvbuild made it); undone and replayed, which leaves the build as rvbuild left it.
- boot: `scons boot` until the guest's `login:` prompt, against the QEMU command it printed, run
  directly. A variant other than rv64 is built first (not timed).
"""

import argparse
import glob
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import pexpect

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "site_scons"))
from rvbuild import options, rootfs, run, unpack  # noqa: E402
from rvbuild.files import copy_if_changed  # noqa: E402

# What rvbuild writes into obj/ (and the kernel's kconfig/) itself.
SEEDS = (".rvbuild-settings", ".config", "localoptions.h", "fragments.config")
# name: [(file, old, new)], the files under the clone; those rvbuild writes from them in Python
# (BusyBox's obj/.config, the kernel fragments' values) are edited as it would write them.
EDITS = {
    "kernel-option edit": [
        (name, "CONFIG_PRINTK=y\n", "CONFIG_PRINTK=y\nCONFIG_IKCONFIG=y\n")
        for name in ("components/linux/virt.config", "build/rv64/linux/kconfig/fragments.config")
    ],
    "BusyBox-option edit": [
        (name, "CONFIG_FEATURE_EDITING_HISTORY=255", "CONFIG_FEATURE_EDITING_HISTORY=100")
        for name in ("components/busybox/busybox.config", "build/rv64/busybox/obj/.config")
    ],
    "overlay edit": [("components/rootfs/overlay/etc/motd", "Try `hello`.", "Try `hello` now.")],
}


def cpu_seconds():
    """CPU time used so far by this process and the commands it ran (and waited for)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def downloads_without_trees(dl, folder):
    """`folder`: a download cache holding links to the downloads in `dl` and no unpacked trees
    (rvbuild.unpack's store), so that a build with it unpacks every tree as on a new machine."""
    os.makedirs(folder, exist_ok=True)
    for entry in os.scandir(dl):
        if entry.is_file() and not os.path.lexists(f"{folder}/{entry.name}"):
            os.symlink(os.path.realpath(entry.path), f"{folder}/{entry.name}")
    return folder


class Clone:
    """A scratch clone of the checkout, its scons and its logs; `log` gets all they print."""

    def __init__(self, path, args, log):
        self.path, self.log, self.jobs = path, log, os.cpu_count()
        self.dl = downloads_without_trees(args.dl, f"{os.path.dirname(path)}/dl")
        self.options = [f"ccache={int(args.ccache)}", f"dl={self.dl}", "progress=0"]
        for name in ("MAKEFLAGS", "MFLAGS"):  # the floor's makes take -j, rvbuild's its own jobserver
            os.environ.pop(name, None)
        if not args.ccache:
            os.environ["CCACHE_DISABLE"] = "1"  # for rvbuild's commands and the floor's
        else:  # as SConstruct has it, for the floor's compiles to hit the cache as rvbuild's do
            os.environ.update(CCACHE_BASEDIR=path, CCACHE_NOHASHDIR="1")
        self.build = f"{path}/build/rv64"

    def scons(self, *args, check=True):
        started, cpu = time.monotonic(), cpu_seconds()
        with open(self.log, "a") as log:
            log.write(f"\n# scons {' '.join(args)}\n")
            log.flush()
            command = [sys.executable, "-m", "SCons", "-Q", *args, *self.options]
            status = subprocess.run(command, cwd=self.path, stdout=log, stderr=subprocess.STDOUT)
        self.cpu = cpu_seconds() - cpu
        if check and status.returncode != 0:
            sys.exit(f"floor: `scons {' '.join(args)}` failed in {self.path}; see {self.log}")
        return time.monotonic() - started, status.returncode

    def marks(self):
        return {path: os.path.getsize(path) for path in glob.glob(f"{self.build}/logs/*.log")}

    def since(self, marks):
        """What rvbuild ran since `marks`: [(component, [logged lines])], in the order it started them."""
        steps = [json.loads(line) for line in self.read_since(marks, "build-time.log").splitlines()]
        started = {}
        for step in steps:
            started[step["component"]] = min(step["start"], started.get(step["component"], step["start"]))
        return [
            (component, re.findall(r"^\$ (.*)$", self.read_since(marks, self.log_name(component)), re.MULTILINE))
            for component in sorted(started, key=started.get)
        ]

    def log_name(self, component):
        """The component's log: an out-of-tree kernel module's is module-<name>.log (kbuild tool)."""
        module = f"module-{component}.log"
        return module if os.path.exists(f"{self.build}/logs/{module}") else f"{component}.log"

    def read_since(self, marks, name):
        path = f"{self.build}/logs/{name}"
        if not os.path.exists(path):
            return ""
        with open(path) as f:
            f.seek(marks.get(path, 0))
            return f.read()

    def last_makes(self):
        """Each component's last make, as Clone.since gives: what a script reruns to find nothing to do."""
        makes = []
        for path in glob.glob(f"{self.build}/logs/*.log"):
            lines = re.findall(r"^\$ (.*)$", open(path).read(), re.MULTILINE)
            lines = [line for line in lines if run.parse_logged_line(line)[0][0] == "make"]
            if lines:
                makes.append((os.path.basename(path)[: -len(".log")], lines[-1:]))
        return sorted(makes, key=lambda make: make[0] != "linux")  # the firmware carries the kernel

    def edit(self, changes, undo=False):
        for name, old, new in changes:
            path = f"{self.path}/{name}"
            text = open(path).read()
            old, new = (new, old) if undo else (old, new)
            assert old in text, f"{path} no longer holds {old!r}: update EDITS"
            with open(path, "w") as f:
                f.write(text.replace(old, new, 1))

    def floor(self, ran):
        """Run again directly, timed, what rvbuild ran (Clone.since)."""
        started = time.monotonic()
        for component, lines in ran:
            if component == "rootfs":
                self.make_image()
            for line in lines:
                command, cwd, extra_env = run.parse_logged_line(line)
                obj = next((arg[2:] for arg in command if arg.startswith("O=")), "")
                kernel = component == "linux" and obj.endswith("/obj")  # not its kconfig/
                if kernel:  # rvbuild's kbuild tool: the merged config into obj/
                    copy_if_changed(f"{obj}/../kconfig/.config", f"{obj}/.config")
                if command[0] == "make":
                    command = ["make", f"-j{self.jobs}", *command[1:]]
                run.run_logged([command], self.log, cwd=cwd, extra_env=extra_env)
                if kernel:  # ... and the Image out, for the firmware
                    copy_if_changed(f"{obj}/arch/riscv/boot/Image", f"{self.build}/linux/Image")
        return time.monotonic() - started

    def make_image(self):
        """The image from the tree rvbuild staged last (the same files), as rvbuild makes it."""
        root = f"{self.build}/rootfs/floor-rootfs"
        rootfs.stage(root, [f"{self.build}/rootfs/rootfs"], [])
        info = json.load(open(f"{self.build}/info.json"))
        settings = info["settings"]
        headroom = options.size_in_bytes(settings["rootfs_headroom"])
        rootfs.make_ext4(root, f"{self.build}/rootfs/floor.ext4", settings["rootfs_size"], headroom)

    def cold_floor(self, ran):
        """Remove what the build unpacked and compiled, then unpack and replay, timed: (in all, unpacking);
        self.cpu: the CPU time it took."""
        trees = [c for c in json.load(open(f"{self.build}/info.json"))["components"].values() if c["unpack"]]
        objs = glob.glob(f"{self.build}/*/obj") + glob.glob(f"{self.build}/*/kconfig")
        seeds = {
            path: open(path, "rb").read()
            for path in (f"{obj}/{name}" for obj in objs for name in SEEDS)
            if os.path.exists(path)
        }
        stores = {tree["unpack"]["store"] for tree in trees}
        for path in [*objs, *(tree["tree"] for tree in trees), *stores]:
            shutil.rmtree(path)
        started, cpu = time.monotonic(), cpu_seconds()
        for tree in trees:
            unpack.unpack(tree["archive"], tree["tree"], progress=False, **tree["unpack"])
        for obj in objs:
            os.makedirs(obj)
        for path, content in seeds.items():
            with open(path, "wb") as f:
                f.write(content)
        unpacked = time.monotonic() - started
        replayed = self.floor(ran)
        self.cpu = cpu_seconds() - cpu
        return unpacked + replayed, unpacked


def boot_to_login(command, cwd, timeout=300):
    """Seconds from starting `command` to the guest's `login:` prompt, and what it printed before."""
    started = time.monotonic()
    child = pexpect.spawn(command[0], command[1:], cwd=cwd, encoding="utf-8", codec_errors="replace")
    try:
        child.expect("login:", timeout=timeout)
        return time.monotonic() - started, child.before.replace("\r", "")
    finally:
        child.sendcontrol("a")
        child.send("x")  # QEMU's console: Ctrl-A X ends it
        try:
            child.expect(pexpect.EOF, timeout=30)
        finally:
            child.close(force=True)


def boot(clone, variant, runs):
    """[(scons boot, QEMU alone)] seconds to `login:`, `runs` times."""
    times = []
    for _ in range(runs):
        with socket.socket() as probe:  # a free port: other guests may be running on this machine
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        scons = [sys.executable, "-m", "SCons", "-Q", "boot", f"variant={variant}", f"ssh_port={port}"]
        took, printed = boot_to_login(scons + clone.options, clone.path)
        qemu = re.search(r"^\$ (qemu-system-.*)$", printed, re.MULTILINE)
        assert qemu, f"`scons boot` printed no QEMU command line:\n{printed}"
        times.append((took, boot_to_login(run.parse_logged_line(qemu[1])[0], clone.path)[0]))
    return times


def measure(clone, args):
    figures, details = [], {}

    def figure(name, rvbuild, floor, goal, met, **more):
        figures.append(dict(name=name, rvbuild=rvbuild, floor=floor, goal=goal, met=met))
        details[name] = dict(rvbuild=rvbuild, floor=floor, **more)
        print(f"  {name}: rvbuild {rvbuild:.2f} s, floor {floor:.2f} s", flush=True)

    built = os.path.exists(f"{clone.build}/rootfs/rootfs.ext4")
    if not args.skip_cold:
        for folder in (f"{clone.path}/build", clone.dl):
            shutil.rmtree(folder, ignore_errors=True)
        downloads_without_trees(args.dl, clone.dl)
        print("cold build: rvbuild, then the floor", flush=True)
        rvbuild, _ = clone.scons("image", "variant=rv64")
        rvbuild_cpu = clone.cpu
        clone.scons("info", "variant=rv64")  # how each tree was unpacked
        ran = clone.since({})
        floor, unpacked = clone.cold_floor(ran)
        figure(
            "cold build",
            rvbuild,
            floor,
            "≤ 0.85× floor",
            rvbuild <= 0.85 * floor,
            floor_unpack=unpacked,
            rvbuild_cpu=rvbuild_cpu,
            floor_cpu=clone.cpu,
            commands=ran,
        )
        if clone.scons("-q", "image", "variant=rv64", check=False)[1] != 0:
            print("  warning: after the floor's build, rvbuild's is no longer up to date", flush=True)
    elif not built:
        print("building rv64 in the scratch clone first (not timed)", flush=True)
        clone.scons("image", "variant=rv64")
    clone.scons("info", "variant=rv64")

    print("null build: rvbuild, then the floor", flush=True)
    clone.scons("image", "variant=rv64")
    null = statistics.median(clone.scons("image", "variant=rv64")[0] for _ in range(args.runs))
    figure("null build", null, clone.floor(clone.last_makes()), "< 0.3 s", null < 0.3)

    for name, changes in EDITS.items():
        print(f"{name}: rvbuild, then the floor", flush=True)
        rvbuild_changes = [change for change in changes if change[0].startswith("components/")]
        timed = {}
        for undo in (False, True):
            clone.edit(rvbuild_changes, undo)
            marks = clone.marks()
            timed[undo] = (clone.scons("image", "variant=rv64")[0], clone.since(marks))
        floors = []
        for undo in (False, True):
            clone.edit(changes, undo)
            floors.append(clone.floor(timed[undo][1]))
        (rvbuild, ran), (rvbuild_undo, _) = timed[False], timed[True]
        figure(
            name,
            rvbuild,
            floors[0],
            "≤ floor + 1 s",
            rvbuild <= floors[0] + 1,
            commands=ran,
            undo=[rvbuild_undo, floors[1]],
        )

    for variant in args.variants:
        if variant != "rv64" and not os.path.exists(f"{clone.path}/build/{variant}/rootfs/rootfs.ext4"):
            print(f"building {variant} (not timed)", flush=True)
            clone.scons("image", f"variant={variant}")
        print(f"boot to login: {variant}", flush=True)
        times = boot(clone, variant, args.runs)
        rvbuild, floor = (statistics.median(t) for t in zip(*times, strict=True))
        figure(f"boot to login ({variant})", rvbuild, floor, "< 5 s", rvbuild < 5, runs=times)
    return figures, details


def parallel_bound(details):
    """What no schedule of the floor's own work can beat: its CPU time spread over every core."""
    cold = details.get("cold build")
    if not cold:
        return ""
    bound = cold["floor_cpu"] / os.cpu_count()
    return (
        f"cold build: the floor's commands used {cold['floor_cpu']:.0f} CPU-s (rvbuild {cold['rvbuild_cpu']:.0f}); "
        f"on {os.cpu_count()} cores no schedule of them ends before {bound:.0f} s, "
        f"{bound / cold['floor']:.2f}× the floor (rvbuild {cold['rvbuild'] / bound:.2f}× that)"
    )


def table(figures):
    lines = [f"{'':<24} {'rvbuild':>9} {'floor':>9} {'ratio':>6}  goal"]
    for f in figures:
        ratio = f"{f['rvbuild'] / f['floor']:.2f}" if f["floor"] else "-"
        met = "met" if f["met"] else "NOT MET"
        lines.append(f"{f['name']:<24} {f['rvbuild']:>7.2f} s {f['floor']:>7.2f} s {ratio:>6}  {f['goal']}: {met}")
    return "\n".join(lines)


def chart(figures, png, title):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    names = [f["name"] for f in figures][::-1]
    fig, ax = pyplot.subplots(figsize=(9, 0.6 * len(names) + 1.5))
    for offset, key, color in ((0.2, "rvbuild", "tab:blue"), (-0.2, "floor", "tab:gray")):
        values = [f[key] for f in figures][::-1]
        ax.barh([i + offset for i in range(len(names))], values, height=0.4, label=key, color=color)
    for i, f in enumerate(figures[::-1]):
        if f["floor"]:
            ax.text(f["rvbuild"], i + 0.2, f" {f['rvbuild'] / f['floor']:.2f}×", va="center", fontsize=8)
    ax.set_yticks(range(len(names)), names)
    ax.set_xscale("log")
    ax.set_xlabel("seconds (log scale); the figure beside a bar is rvbuild/floor")
    ax.set_title(title)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(png, dpi=100)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", default="rv64,rv32", help="variants to boot (default rv64,rv32)")
    parser.add_argument(
        "--skip-cold", action="store_true", help="no cold build (a scratch clone not built yet is built, untimed)"
    )
    parser.add_argument("--runs", type=int, default=3, help="null builds and boots timed, the median shown (default 3)")
    parser.add_argument("--out", default=f"{ROOT}/bench/results", help="where floor.json, floor.png and floor.log go")
    parser.add_argument("--dl", default=f"{ROOT}/dl", help="download cache (default this checkout's dl/)")
    parser.add_argument("--scratch", help="the scratch clone's folder, kept afterwards (made if missing)")
    parser.add_argument("--ccache", action="store_true", help="compile through ccache: for trying the script out")
    args = parser.parse_args()
    args.variants = args.variants.split(",")
    os.makedirs(args.out, exist_ok=True)
    log = f"{args.out}/floor.log"
    open(log, "w").close()
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    load = os.getloadavg()[0]  # figures are worth something on a quiet machine only
    scratch = args.scratch or tempfile.mkdtemp(prefix="rvbuild-floor-")
    path = f"{scratch}/rvbuild"
    try:
        if not os.path.exists(path):
            subprocess.run(["git", "clone", "-q", ROOT, path], check=True)
        subprocess.run(["git", "fetch", "-q", ROOT, "HEAD"], cwd=path, check=True)
        subprocess.run(["git", "reset", "-q", "--hard", head], cwd=path, check=True)
        print(f"rvbuild {head[:12]} in {path}; commands and output in {log}", flush=True)
        figures, details = measure(Clone(path, args, log), args)
    finally:
        if not args.scratch:
            shutil.rmtree(scratch, ignore_errors=True)
    title = f"rvbuild {head[:12]} against its floor, {os.cpu_count()} cores, load {load:.1f} at the start"
    if args.ccache:
        title += ", through ccache"
    print(f"\n{title}\n{table(figures)}\n{parallel_bound(details)}")
    report = dict(commit=head, cores=os.cpu_count(), load=load, ccache=args.ccache, date=time.strftime("%F %T"))
    report["figures"] = figures
    report["parallel_bound"] = parallel_bound(details)
    with open(f"{args.out}/floor.json", "w") as f:
        json.dump(dict(report, details=details), f, indent=2)
    chart(figures, f"{args.out}/floor.png", title)
    print(f"(as JSON: {args.out}/floor.json, as a chart: {args.out}/floor.png)")


if __name__ == "__main__":
    main()
