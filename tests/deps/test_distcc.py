"""distcc_hosts=: compiles go through ccache to distcc (CCACHE_PREFIX), which ships them to the
hosts; here a private distccd on 127.0.0.1 that runs the cross compiler (hello's compile, for
real, and the fake libraries' and zlib-roundtrip's). Without -j, the build's jobserver holds as
many jobs as the hosts take."""

import os

from test_jobserver import most_jobs_at_once

import servers
from fake_project import Project, copy_project

SLOTS = 9  # more than a CI machine's cores, fewer than the fake trees' 12 parallel jobs


def test_compiles_run_on_the_distcc_host_and_the_jobs_fit_the_hosts(tmp_path):
    jobs_log, distccd_log = tmp_path / "jobs.log", tmp_path / "distccd.log"
    (tmp_path / "distcc").mkdir()  # distcc's own state and locks (DISTCC_DIR): it makes no parents
    env = dict(
        os.environ,
        CCACHE_DIR=str(tmp_path / "ccache"),
        DISTCC_DIR=str(tmp_path / "distcc"),
        RVBUILD_TEST_JOBS=str(jobs_log),
    )
    project = Project(copy_project(str(tmp_path / "project")), env=env)
    with servers.distccd(distccd_log) as port:
        output = project.build(f"distcc_hosts=127.0.0.1:{port}/{SLOTS}")[2]
    assert (
        "rvbuild: ccache: 0 of 4 compiles came from the cache" in output
    )  # hello's, fake zlib's and ncurses', zlib-roundtrip's
    served = [line for line in distccd_log.read_text().splitlines() if "COMPILE_OK" in line]
    for source in ("hello.c", "zutil.c", "ncurses.c", "zlib-roundtrip.c"):
        assert any("riscv64-linux-gnu-gcc" in line and source in line for line in served), distccd_log.read_text()
    # As many as the hosts take, less the slots that other components' steps may hold meanwhile.
    slots = min(max(os.cpu_count(), SLOTS), 12)
    assert slots - 2 <= most_jobs_at_once(jobs_log) <= slots


def test_distcc_hosts_needs_ccache(project):
    failed = project.scons("image", "ccache=0", "distcc_hosts=localhost", check=False)
    assert failed.returncode == 2
    assert "ccache_remote= and distcc_hosts= work through ccache; leave out ccache=0" in failed.stderr
