"""Shared by the test tiers: the project root, real scons runs, free ports."""

import os
import shutil
import socket
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# What `git status` said when the tests were collected, before any ran: tests/final checks that
# the suite added nothing to it.
STATUS_AT_START = subprocess.run(["git", "-C", ROOT, "status", "--porcelain"], capture_output=True, text=True).stdout


def scons(*args, cwd=ROOT, check=True, log=None, env=None):
    """Run the real scons of this environment; returns the CompletedProcess (output as text)."""
    result = subprocess.run(
        [sys.executable, "-m", "SCons", "-Q", *args], cwd=cwd, capture_output=True, text=True, env=env
    )
    if log:
        with open(log, "a") as f:
            f.write(f"$ scons {' '.join(args)}\n{result.stdout}{result.stderr}\n")
    if check and result.returncode != 0:
        raise AssertionError(
            f"scons {' '.join(args)} failed ({result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    return result


def copy_build_files(path):
    """The project's build files, as the working tree has them, to `path`: a checkout elsewhere."""
    os.makedirs(path, exist_ok=True)
    for name in ("SConstruct", "site_scons", "components", "programs", "modules", "overlays", "variants"):
        if os.path.exists(f"{ROOT}/{name}"):
            copy = shutil.copytree if os.path.isdir(f"{ROOT}/{name}") else shutil.copy
            copy(f"{ROOT}/{name}", f"{path}/{name}")
    return path


def scons_without_terminal(*args, timeout=600):
    """A real scons run with no terminal, as `scons run` and `scons test` get in CI."""
    return subprocess.run(
        [sys.executable, "-m", "SCons", "-Q", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def debugfs(image, request):
    """What debugfs answers to `request` (e.g. "stat /etc/shadow") about the ext4 image."""
    return subprocess.run(["debugfs", "-R", request, image], capture_output=True, text=True).stdout
