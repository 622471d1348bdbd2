"""A build killed at any step leaves no process behind and nothing half-written that looks done,
and the next run ends with the same outputs as a build that was never interrupted.

Real scons on the fake trees, with Dropbear fetched from a local HTTP server and unpacked for
real (with a patch). Each test makes the build pause at one step, kills scons there, and runs
the build again: SIGTERM (what `kill` and CI timeouts send), SIGKILL, and at one step SIGHUP and
Ctrl-C (SIGINT to the whole process group). The pauses: the server sends half the tarball, then
crawls; `patch` and `mkfs.ext4` are wrappers that pause first; the fake Dropbear's configure and
make pause themselves (tests/fixtures/fake-dropbear/pause).
About 2 s a test, 25 s for the module.
"""

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid

import pytest

from fake_project import FAKES, Project, SlowServer, copy_project, fake_release, fetch_from

DROPBEAR = "dropbear-2022.83"
PAUSE = "fixtures/fake-dropbear/pause"
# For each step: what to remove so that the next build runs it again, and what a build killed
# there must not leave behind (the step's own output; make deletes the target it was writing).
POINTS = {
    "fetch": ([f"dl/{DROPBEAR}.tar.bz2"], f"dl/{DROPBEAR}.tar.bz2"),
    "unpack": ([f"build/src/{DROPBEAR}", "dl/unpacked"], f"build/src/{DROPBEAR}/configure"),
    "configure": (["build/rv64/dropbear"], "build/rv64/dropbear/dropbear"),
    "make": (["build/rv64/dropbear"], "build/rv64/dropbear/obj/dropbear"),
    "image": (["build/rv64/rootfs/rootfs.ext4"], "build/rv64/rootfs/rootfs.ext4"),
}
KILLS = [(point, sig) for point in POINTS for sig in (signal.SIGTERM, signal.SIGKILL)] + [
    ("make", signal.SIGHUP),
    ("make", signal.SIGINT),
]
PROMPT_SECONDS = 10  # each pause lasts a minute


def digest(path):
    if os.path.islink(path):
        return f"-> {os.readlink(path)}"
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class KilledBuild(Project):
    def __init__(self, path):
        super().__init__(path, local={name: fake for name, fake in FAKES.items() if name != "dropbear"})
        filename, body = fake_release(self, "dropbear")
        self.server = SlowServer(filename, body)
        fetch_from(self, "dropbear", self.server.url, body)
        with open(self.file("components/dropbear/0001-version.patch"), "w") as f:
            f.write(
                '--- a/version.h\n+++ b/version.h\n@@ -1 +1 @@\n-#define FAKE_DROPBEAR_VERSION "2022.83-fake"\n'
                '+#define FAKE_DROPBEAR_VERSION "2022.83-fake-patched"\n'
            )
        self.bin = self.file("bin")
        os.mkdir(self.bin)
        for tool, point in (("patch", "unpack"), ("mkfs.ext4", "image")):
            with open(f"{self.bin}/{tool}", "w") as f:
                f.write(f'#!/bin/sh\n{self.file(PAUSE)} {point}\nexec {shutil.which(tool)} "$@"\n')
            os.chmod(f"{self.bin}/{tool}", 0o755)
        self.mark = self.file("paused")
        self.token = None
        self.env = self.environment()

    def environment(self, **extra):
        """Every process of a build run with it carries a new RVBUILD_TEST_RUN token."""
        self.token = uuid.uuid4().hex
        return dict(os.environ, PATH=f"{self.bin}:{os.environ['PATH']}", RVBUILD_TEST_RUN=self.token, **extra)

    def outputs(self):
        """sha256 of every file the build made: under build/ and dl/, except make's own directories,
        the logs, and dot files (SCons' database, the leftovers of a killed download or unpack)."""
        found = {}
        for top in ("build", "dl"):
            for directory, subdirs, files in os.walk(self.file(top)):
                subdirs[:] = [d for d in subdirs if d not in ("obj", "logs") and not d.startswith(".")]
                for name in files:
                    if not name.startswith("."):
                        path = os.path.join(directory, name)
                        found[os.path.relpath(path, self.path)] = digest(path)
        return found

    def start_paused_at(self, point):
        """Start `scons image` and return it once it is pausing at `point`."""
        for path in POINTS[point][0]:
            (shutil.rmtree if os.path.isdir(self.file(path)) else os.unlink)(self.file(path))
        if os.path.exists(self.mark):
            os.unlink(self.mark)
        if point == "fetch":
            self.server.slow_down()
        process = subprocess.Popen(
            [sys.executable, "-m", "SCons", "-Q", "image", *self.options],
            cwd=self.path,
            env=self.environment(RVBUILD_FAKE_PAUSE=point, RVBUILD_FAKE_PAUSE_MARK=self.mark),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while not (self.server.halfway.is_set() if point == "fetch" else os.path.exists(self.mark)):
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"the build never paused at {point}:\n" + "\n".join(process.communicate()))
            time.sleep(0.05)
        return process

    def survivors(self, wait=5):
        """Processes of the last build still alive after `wait` seconds: their command lines."""
        deadline = time.monotonic() + wait
        while True:
            alive = []
            for pid in filter(str.isdigit, os.listdir("/proc")):
                try:
                    with open(f"/proc/{pid}/environ", "rb") as f:
                        if f"RVBUILD_TEST_RUN={self.token}".encode() in f.read().split(b"\0"):
                            with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                                alive.append(cmdline.read().replace(b"\0", b" ").decode())
                except OSError:
                    pass  # gone already
            if not alive or time.monotonic() > deadline:
                return alive
            time.sleep(0.1)


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    built = KilledBuild(copy_project(str(tmp_path_factory.mktemp("killed"))))
    built.build()
    built.uninterrupted = built.outputs()
    yield built
    built.server.close()


@pytest.mark.parametrize("point, sig", KILLS, ids=[f"{point}-{sig.name}" for point, sig in KILLS])
def test_killed_build_completes_on_the_next_run(build, point, sig):
    process = build.start_paused_at(point)
    killed = time.monotonic()
    if sig == signal.SIGINT:
        os.killpg(process.pid, sig)  # Ctrl-C in a terminal signals the whole foreground group
    else:
        process.send_signal(sig)
    _, stderr = process.communicate(timeout=60)
    if sig == signal.SIGKILL:
        assert process.returncode == -signal.SIGKILL
    else:
        assert process.returncode == 2 and "Build interrupted." in stderr, stderr
        assert time.monotonic() - killed < PROMPT_SECONDS, f"scons went on with the {point} step"
    assert build.survivors() == [], "processes of the build outlived it"
    assert not os.path.exists(build.file(POINTS[point][1])), "a half-done step left its output"
    now = build.outputs()
    assert {path: digest for path, digest in now.items() if build.uninterrupted.get(path) != digest} == {}, (
        "a half-written output"
    )
    build.env = build.environment()
    build.build()
    assert build.outputs() == build.uninterrupted
    assert build.survivors(wait=0) == []
    assert build.up_to_date()
