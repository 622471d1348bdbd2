"""The style gate: ruff's linter and formatter (ruff.toml) pass on the whole codebase, and the
plain-Python half of it, site_scons/rvbuild, imports without SCons."""

import glob
import os
import subprocess
import sys

import pytest

from helpers import ROOT


@pytest.mark.parametrize("command", [["check"], ["format", "--check", "--diff"]], ids=["lint", "format"])
def test_ruff_passes(command):
    result = subprocess.run([sys.executable, "-m", "ruff", *command, "."], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, f"`ruff {' '.join(command)}` (fix with `ruff check --fix .; ruff format .`):\n" + (
        result.stdout + result.stderr
    )


def test_rvbuild_imports_without_scons():
    modules = sorted(f"rvbuild.{os.path.basename(path)[:-3]}" for path in glob.glob(f"{ROOT}/site_scons/rvbuild/*.py"))
    code = "import sys; sys.modules['SCons'] = None\n" + "".join(f"import {module}\n" for module in modules)
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=f"{ROOT}/site_scons",
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr


def test_test_modules_have_names_of_their_own():
    """pytest imports test modules by their file name: two tiers' test_x.py stop the suite at collection."""
    names = [os.path.basename(path) for path in glob.glob(f"{ROOT}/tests/*/test_*.py")]
    assert sorted({name for name in names if names.count(name) > 1}) == []


def test_site_tools_hide_no_module_of_pythons_own():
    """SCons imports each site tool as a top-level module of its name: a tool called bisect.py took
    the place of Python's bisect, and every download (urllib) failed."""
    tools = {os.path.basename(path)[:-3] for path in glob.glob(f"{ROOT}/site_scons/site_tools/*.py")}
    assert sorted(tools & sys.stdlib_module_names) == []
