"""Runs last: the whole suite left nothing in the checkout that git would see (caches and builds
live in ignored folders or in temporary directories)."""

import subprocess

from helpers import ROOT, STATUS_AT_START


def test_the_suite_left_the_checkout_as_it_found_it():
    now = subprocess.run(
        ["git", "-C", ROOT, "status", "--porcelain"], capture_output=True, text=True, check=True
    ).stdout
    assert now == STATUS_AT_START, f"git status before the tests:\n{STATUS_AT_START}\nand after:\n{now}"


def test_nothing_tracked_looks_like_an_unresolved_scons_path():
    tracked = subprocess.run(["git", "-C", ROOT, "ls-files"], capture_output=True, text=True, check=True).stdout
    assert not [path for path in tracked.splitlines() if path.startswith("#")]
