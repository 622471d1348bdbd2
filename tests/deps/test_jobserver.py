"""One jobserver: the makes that scons runs side by side share its -j, so the build never runs
more jobs at once than -j says, and a make running alone still gets them all."""

import os

import pytest

from fake_project import Project, copy_project


def most_jobs_at_once(log):
    events = []
    with open(log) as f:
        for line in f:
            kind, when = line.split()
            events.append((float(when), kind == "start"))  # at the same instant, an end goes first
    running = most = 0
    for _, starts in sorted(events):
        running += 1 if starts else -1
        most = max(most, running)
    return most


@pytest.mark.parametrize("jobs", [1, 2, 3])
def test_side_by_side_makes_share_the_jobs_of_scons(tmp_path, jobs):
    log = tmp_path / "jobs.log"
    project = Project(copy_project(str(tmp_path / "project")), env=dict(os.environ, RVBUILD_TEST_JOBS=str(log)))
    _, components, _ = project.build(f"-j{jobs}")
    assert {"linux", "busybox"} <= components
    assert most_jobs_at_once(log) == jobs
