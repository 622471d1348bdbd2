"""Every build says what ccache did for its compiles, and `scons ccache-stats` shows ccache's own
view of them. hello is compiled for real in the fake project (SCons' C builders through ccache)."""

import uuid

from fake_project import Project


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
