"""ccache_remote=: compiles go through ccache's remote storage (a private redis here), so a
checkout elsewhere, with an empty local ccache, has them answered from the team's cache. The
compiles are hello's, for real, through SCons' C builders and ccache, the fake libraries' and
the program's built with one."""

import os
import shutil
import time

import servers
from fake_project import Project, copy_project


def test_checkout_elsewhere_with_empty_ccache_hits_the_remote_storage(tmp_path):
    ccache_dir = tmp_path / "ccache"
    env = dict(os.environ, CCACHE_DIR=str(ccache_dir))
    first = copy_project(str(tmp_path / "a"))
    second = shutil.copytree(first, tmp_path / "elsewhere" / "b", symlinks=True)
    with servers.redis(tmp_path / "redis.log") as port:
        remote = [f"ccache_remote=redis://127.0.0.1:{port}"]
        built = Project(first, env=env, options=remote).build()[2]
        assert "rvbuild: ccache: 0 of 4 compiles came from the cache, 0 of them from the remote storage" in built
        shutil.rmtree(ccache_dir)
        started = time.monotonic()
        built = Project(str(second), env=env, options=remote).build()[2]
        print(f"checkout b, empty local ccache, built in {time.monotonic() - started:.1f} s")
    assert "rvbuild: ccache: 4 of 4 compiles came from the cache, 4 of them from the remote storage" in built


def test_ccache_remote_needs_ccache(project):
    failed = project.scons("image", "ccache=0", "ccache_remote=redis://127.0.0.1:1", check=False)
    assert failed.returncode == 2
    assert "ccache_remote= and distcc_hosts= work through ccache; leave out ccache=0" in failed.stderr
