"""Tiers: unit (seconds) runs first; if it fails, the slow tiers are skipped so CI fails fast."""

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "site_scons"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

_fast_tier_failed = []


def pytest_runtest_logreport(report):
    if report.failed and report.nodeid.startswith("tests/unit/"):
        _fast_tier_failed.append(report.nodeid)


def pytest_runtest_setup(item):
    if "unit" not in item.path.parts and _fast_tier_failed:
        pytest.skip(f"the fast tier failed ({_fast_tier_failed[0]}); slow tiers not run")
