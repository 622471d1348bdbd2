"""Every build says what ccache did for its compiles, and `scons ccache-stats` shows ccache's own
view of them. hello is compiled for real in the fake project (SCons' C builders through ccache).
The tools the kernel and BusyBox build for this machine (HOSTCC) go through ccache too."""

import uuid

from fake_project import Project, copy_project
from rvbuild import run


def test_build_says_how_many_compiles_came_from_ccache(project: Project):
    original = open(project.file("programs/hello/hello.c")).read()
    project.edit("programs/hello/hello.c", lambda text: text + f'const char *marker = "{uuid.uuid4()}";\n')
    try:
        assert "rvbuild: ccache: 0 of 1 compiles came from the cache" in project.build()[2]
    finally:
        project.edit("programs/hello/hello.c", lambda text: original)
    assert "rvbuild: ccache: 1 of 1 compiles came from the cache" in project.build()[2]
    shown = project.scons("ccache-stats").stdout
    assert "Hits:" in shown and "1 / 1" in shown
    assert "rvbuild: ccache:" not in project.scons("image").stdout  # nothing compiled, nothing said


def _host_compilers(project):
    """HOSTCC of the last make the kernel's and BusyBox's logs record."""
    found = {}
    for name in ("linux", "busybox"):
        with open(project.file(f"build/rv64/logs/{name}.log")) as f:
            makes = [run.parse_logged_line(line[2:])[0] for line in f if line.startswith("$ make ")]
        found[name] = next(arg for arg in makes[-1] if arg.startswith("HOSTCC=")).removeprefix("HOSTCC=")
    return found


def test_host_tools_compile_through_ccache_but_never_through_distcc(tmp_path):
    local = Project(copy_project(str(tmp_path / "local")))
    local.build()
    assert _host_compilers(local) == {"linux": "ccache gcc", "busybox": "ccache gcc"}
    assert local.up_to_date("distcc_hosts=localhost")  # the same bytes either way: nothing rebuilds
    spread = Project(copy_project(str(tmp_path / "spread")))
    spread.build("distcc_hosts=localhost")  # distcc's hosts may be other machines: not for host tools
    assert _host_compilers(spread) == {"linux": "gcc", "busybox": "gcc"}
