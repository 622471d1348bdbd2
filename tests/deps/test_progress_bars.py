"""Progress on a terminal: real scons on a pseudo-terminal (pexpect) draws a bar of the running
component's compiles against those its last build made, under a line saying what runs and the time
left; off a terminal the log stays plain lines."""

import os
import re
import sys

import pexpect

from helpers import scons

COMPILES = 12


def test_a_component_s_bar_counts_its_compiles_against_its_last_build_and_finishes(project):
    env = dict(os.environ, RVBUILD_FAKE_COMPILES=str(COMPILES))
    # Off a terminal: plain lines only, and what BusyBox compiled is remembered.
    plain = scons("image", *project.options, "userspace_cflags=-DFIRST", cwd=project.path, env=env)
    assert "busybox (rv64)" not in plain.stdout + plain.stderr and "\r" not in plain.stdout + plain.stderr
    console = pexpect.spawn(
        sys.executable,
        ["-m", "SCons", "-Q", "image", *project.options, "userspace_cflags=-DSECOND"],
        cwd=project.path,
        env=env,
        encoding="utf-8",
        timeout=120,
        dimensions=(30, 160),
    )
    console.expect(pexpect.EOF)
    console.close()
    drawn = console.before
    assert console.exitstatus == 0, drawn
    counts = [int(done) for done in re.findall(rf"busybox \(rv64\):.*?(\d+)/{COMPILES}\b", drawn)]
    assert counts and counts == sorted(counts) and counts[0] < COMPILES and counts[-1] == COMPILES, drawn
    assert re.search(r"rvbuild: building [^\r\n]*busybox \(rv64\)[^\r\n]*; about \d+ s left", drawn), drawn
    assert "rebuilt busybox" in drawn
