"""Tiers: unit (seconds) runs first; if it fails, the slow tiers are skipped so CI fails fast."""
import os
import socket
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "site_scons"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

_fast_tier_failed = []


def pytest_runtest_logreport(report):
    if report.failed and "/unit/" in report.nodeid.replace("tests/unit", "/unit"):
        _fast_tier_failed.append(report.nodeid)


def pytest_runtest_setup(item):
    if "unit" not in item.path.parts and _fast_tier_failed:
        pytest.skip(f"the fast tier failed ({_fast_tier_failed[0]}); slow tiers not run")


def scons(*args, cwd=ROOT, check=True, log=None):
    """Run the real scons of this environment; returns the CompletedProcess (output as text)."""
    result = subprocess.run([sys.executable, "-m", "SCons", "-Q", *args], cwd=cwd,
                            capture_output=True, text=True)
    if log:
        with open(log, "a") as f:
            f.write(f"$ scons {' '.join(args)}\n{result.stdout}{result.stderr}\n")
    if check and result.returncode != 0:
        raise AssertionError(f"scons {' '.join(args)} failed ({result.returncode}):\n"
                             f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
