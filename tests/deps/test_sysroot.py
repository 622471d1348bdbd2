"""Packages built with libraries (issue 18): each against a sysroot of exactly what it DEPENDS on,
with exact rebuilds across those edges. Real scons on a copy of the project: the zlib component
with a fake tree (fixtures' fake-zlib, compiled by the cross compiler, staged by `make install`),
the Dropbear that DEPENDS on it, and a package that includes its header and asks pkg-config for
it (fake-zpipe, preprocessed by the cross compiler)."""

import json
import os

import pytest

from fake_project import FAKES, Project, copy_project

ZPIPE = """
from rvbuild.fetch import Source
from rvbuild.rootfs import ImageFile

ROLE = "package"
DEPENDS = ["zlib"]

Import("env", "depends")
source = Source("zpipe-1.0.tar.gz", sha256="0" * 64, size=1, urls=["https://example.org/zpipe-1.0.tar.gz"])
tree = env.SourceTree(source, "zpipe-1.0", subdir="zpipe-1.0", anchor="configure")
env.Describe("1.0", "Zlib", [], source, tree)
built = env.AutotoolsPackage("zpipe", tree, outputs={"zpipe": "zpipe"}, depends=depends)
installed = [ImageFile(built[0], "/usr/bin/zpipe")]
Return("installed")
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    built = Project(
        copy_project(str(tmp_path_factory.mktemp("project"))),
        local={**FAKES, "zpipe": "fake-zpipe"},
    )
    os.makedirs(built.file("components/zpipe"))
    with open(built.file("components/zpipe/SConscript"), "w") as f:
        f.write(ZPIPE)
    built.first_build_output = built.build()[2]
    return built


def zpipe(project):
    with open(project.file("build/rv64/zpipe/zpipe")) as f:
        return f.read()


def test_a_package_is_built_against_its_library_through_the_compiler_and_pkg_config(project):
    assert 'built_with = "1.2.13-fake"' in zpipe(project)
    assert 'found = "by pkg-config"' in zpipe(project)
    sysroot = project.file("build/rv64/zpipe/sysroot")
    files = sorted(os.path.relpath(os.path.join(d, n), sysroot) for d, _, names in os.walk(sysroot) for n in names)
    assert files == ["usr/include/zconf.h", "usr/include/zlib.h", "usr/lib/libz.a", "usr/lib/pkgconfig/zlib.pc"]
    assert "zlib" in project.first_build_output and "zpipe" in project.first_build_output


def test_info_says_what_each_package_is_built_with(project):
    said = project.scons("info").stdout
    assert "  zpipe " in said and "built with: zlib" in said
    with open(project.file("build/rv64/info.json")) as f:
        components = json.load(f)["components"]
    assert components["zpipe"]["depends"] == ["zlib"] and components["zlib"]["depends"] == []


def test_a_library_edit_rebuilds_it_its_users_and_the_image_only(project):
    project.edit("fixtures/fake-zlib/zlib.h", lambda text: text.replace("1.2.13-fake", "1.2.13-edited"))
    _, components, output = project.build()
    assert components == {"zlib", "zpipe", "dropbear", "zlib-roundtrip", "rootfs"}, output
    assert 'built_with = "1.2.13-edited"' in zpipe(project)


def test_a_library_rebuilt_to_the_same_files_rebuilds_none_of_its_users(project):
    project.edit("fixtures/fake-zlib/configure", lambda text: text + "# a comment\n")
    _, components, output = project.build()
    assert components == {"zlib"}, output


def test_adding_a_dependency_rebuilds_that_package_only(project):
    project.build("packages=strace")
    project.edit(
        "components/strace/SConscript",
        lambda text: (
            text.replace('ROLE = "package"', 'ROLE = "package"\nDEPENDS = ["zlib"]')
            .replace('Import("env")', 'Import("env", "depends")')
            .replace('    "strace",\n    tree,', '    "strace",\n    tree,\n    depends=depends,')
        ),
    )
    labels, components, output = project.build("packages=strace")
    assert components - {"rootfs"} == {"strace"}, output  # the image, as the fake strace prints its flags
    assert os.path.exists(project.file("build/rv64/strace/sysroot/usr/include/zlib.h"))


def test_an_ncurses_edit_rebuilds_htop_and_the_image_and_not_dropbear(project):
    project.edit("fixtures/fake-ncurses/curses.h", lambda text: text.replace("6.4-fake", "6.4-edited"))
    _, components, output = project.build()
    assert components == {"ncurses", "htop", "rootfs"}, output
    with open(project.file("build/rv64/htop/htop")) as f:
        htop = f.read()
    assert 'built_with = "6.4-edited"' in htop and 'found = "by pkg-config"' in htop  # ncursesw.pc's flags
    sysroot = project.file("build/rv64/htop/sysroot/usr/include")
    assert sorted(os.listdir(sysroot))[:2] == ["curses.h", "eti.h"] and "zlib.h" not in os.listdir(sysroot)


def test_a_header_of_a_library_not_declared_is_not_found(project):
    project.edit("components/zpipe/SConscript", lambda text: text.replace('DEPENDS = ["zlib"]', "DEPENDS = []"))
    result = project.scons("image", check=False)
    assert result.returncode == 2
    assert "zlib.h: No such file or directory" in result.stdout + result.stderr
    assert not os.path.exists(project.file("build/rv64/zpipe/sysroot/usr/include/zlib.h"))
