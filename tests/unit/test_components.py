"""Discovery: components are folders, their roles declared in data or given by their folder."""

import pytest

from rvbuild import BuildError, components


def make(tmp_path, files):
    for relative, text in files.items():
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return str(tmp_path)


PROJECT = {
    "components/linux/SConscript": 'ROLE = "kernel"\nImport("env")\n',
    "components/opensbi/SConscript": 'import os\n\nROLE = "firmware"\n',
    "components/busybox/SConscript": 'ROLE = "package"\n',
    "components/strace/SConscript": 'ROLE = "package"\nDEFAULT = False\n',
    "components/rootfs/SConscript": 'ROLE = "rootfs"\n',
    "components/notes/README": "not a component: no SConscript\n",
    "programs/hello/hello.c": "int main(void) { return 0; }\n",
    "modules/rvhello/Kbuild": "obj-m := rvhello.o\n",
}


def test_every_folder_is_found_with_its_role(tmp_path):
    found = components.discover(make(tmp_path, PROJECT))
    assert {name: c.role for name, c in found.items()} == {
        "busybox": "package",
        "linux": "kernel",
        "opensbi": "firmware",
        "rootfs": "rootfs",
        "strace": "package",
        "hello": "program",
        "rvhello": "module",
    }
    parts = components.for_image(found, "opensbi")
    assert [c.name for c in components.listed(parts)] == ["linux", "opensbi", "busybox", "hello", "rvhello", "rootfs"]
    with_strace = components.for_image(found, "opensbi", ["strace"])
    assert [c.name for c in with_strace["packages"]] == ["busybox", "strace"]


@pytest.mark.parametrize(
    "files, error",
    [
        (
            {"components/x/SConscript": "Import('env')\n"},
            r"x/SConscript must declare its role: ROLE = one of",
        ),
        ({"components/x/SConscript": "ROLE = 'kernel' + ''\n"}, r"SConscript:1: ROLE must be a plain value"),
        ({"programs/rootfs/main.c": ""}, r"programs/rootfs and components/rootfs share a name; rename one"),
    ],
)
def test_a_component_that_says_too_little_is_a_clear_error(tmp_path, files, error):
    with pytest.raises(BuildError, match=error):
        components.discover(make(tmp_path, {**PROJECT, **files}))


def test_unknown_package_or_firmware_names_what_there_is(tmp_path):
    found = components.discover(make(tmp_path, PROJECT))
    with pytest.raises(BuildError, match=r"unknown package\(s\) stracee; choose from: busybox, strace"):
        components.packages(found, ["stracee"])
    with pytest.raises(BuildError, match=r"needs firmware 'uboot' in components/; it has: opensbi"):
        components.one(found, "firmware", "uboot")


def wired(tmp_path, files, start="rootfs"):
    found = components.discover(make(tmp_path, {**PROJECT, **files}))
    parts = components.for_image(found, "opensbi")
    built = {}

    def build(component, chain=()):
        if component.name not in built:
            built[component.name] = (component.name, components.wire(component, parts, build, chain))
        return built[component.name]

    return build(found[start])


def test_a_component_gets_what_it_depends_on_by_name_or_role(tmp_path):
    files = {
        "components/rootfs/SConscript": 'ROLE = "rootfs"\nDEPENDS = ["kernel", "packages", "modules"]\n',
        "components/busybox/SConscript": 'ROLE = "package"\nDEPENDS = ["linux"]\n',
    }
    name, depends = wired(tmp_path, files)
    assert depends["kernel"] == ("linux", {})
    assert depends["packages"] == [("busybox", {"linux": ("linux", {})})]
    assert depends["modules"] == [("rvhello", {"kernel": ("linux", {})})]


@pytest.mark.parametrize(
    "files, error",
    [
        (
            {
                "components/rootfs/SConscript": 'ROLE = "rootfs"\nDEPENDS = ["bbl"]\n',
                "components/bbl/SConscript": 'ROLE = "firmware"\n',
            },
            r"^rootfs: components/rootfs depends on 'bbl', which is not in this image$",
        ),
        (
            {
                "components/rootfs/SConscript": 'ROLE = "rootfs"\nDEPENDS = ["kernel"]\n',
                "components/linux/SConscript": 'ROLE = "kernel"\nDEPENDS = ["rootfs"]\n',
            },
            r"in a circle: rootfs -> linux -> rootfs$",
        ),
        ({"components/busybox/SConscript": 'ROLE = "package"\nDEPENDS = "zlib"\n'}, r"DEPENDS must be a list"),
    ],
)
def test_a_dependency_that_cannot_be_met_names_the_chain(tmp_path, files, error):
    with pytest.raises(BuildError, match=error):
        wired(tmp_path, files)


LIBRARIES = {
    "components/zlib/SConscript": 'ROLE = "package"\nDEFAULT = False\n',
    "components/ncurses/SConscript": 'ROLE = "package"\nDEFAULT = False\n',
    "components/htop/SConscript": 'ROLE = "package"\nDEFAULT = False\nDEPENDS = ["ncurses"]\n',
    "components/dropbear/SConscript": 'ROLE = "package"\nDEPENDS = ["zlib"]\n',
}


def test_a_package_brings_what_it_depends_on(tmp_path):
    found = components.discover(make(tmp_path, {**PROJECT, **LIBRARIES}))
    assert [c.name for c in components.packages(found)] == ["busybox", "dropbear", "zlib"]
    assert [c.name for c in components.packages(found, ["htop"])] == [
        "busybox",
        "dropbear",
        "htop",
        "ncurses",
        "zlib",
    ]


@pytest.mark.parametrize(
    "files, error",
    [
        (
            {"components/ncurses/SConscript": 'ROLE = "package"\nDEFAULT = False\nDEPENDS = ["terminfo"]\n'},
            r"^htop -> ncurses -> terminfo: components/ncurses depends on 'terminfo', which is no component",
        ),
        (
            {"components/ncurses/SConscript": 'ROLE = "package"\nDEFAULT = False\nDEPENDS = ["htop"]\n'},
            r"^packages depend on each other in a circle: htop -> ncurses -> htop$",
        ),
    ],
)
def test_a_selection_that_cannot_be_met_names_the_chain(tmp_path, files, error):
    found = components.discover(make(tmp_path, {**PROJECT, **LIBRARIES, **files}))
    with pytest.raises(BuildError, match=error):
        components.packages(found, ["htop"])


def test_a_dependency_this_variant_cannot_build_names_the_chain(tmp_path):
    files = {
        "components/rootfs/SConscript": 'ROLE = "rootfs"\nDEPENDS = ["packages"]\n',
        "components/busybox/SConscript": 'ROLE = "package"\nDEPENDS = ["strace"]\n',
        "components/strace/SConscript": 'ROLE = "package"\nDEPENDS = ["zlib"]\n',
        "components/zlib/SConscript": 'ROLE = "package"\nDEFAULT = False\n',
    }
    found = components.discover(make(tmp_path, {**PROJECT, **files}))
    parts = components.for_image(found, "opensbi")

    def build(component, chain=()):
        if component.name == "zlib":
            raise BuildError("zlib does not build for rv32")
        return components.wire(component, parts, build, chain)

    with pytest.raises(BuildError, match=r"^rootfs -> busybox -> strace -> zlib: zlib does not build for rv32$"):
        build(found["rootfs"])


def test_a_program_s_depends_select_the_libraries_it_names(tmp_path):
    program = {
        "components/zlib/SConscript": 'ROLE = "package"\nDEFAULT = False\n',
        "programs/zlib-roundtrip/program.py": 'depends = ["zlib"]\nlibs = ["z"]\n',
        "programs/zlib-roundtrip/main.c": "int main(void) { return 0; }\n",
    }
    found = components.discover(make(tmp_path, {**PROJECT, **program}))
    assert found["zlib-roundtrip"].depends == ("zlib",)
    assert [c.name for c in components.for_image(found, "opensbi")["packages"]] == ["busybox", "zlib"]


def test_a_program_that_depends_on_no_component_is_named_in_the_error(tmp_path):
    program = {
        "programs/zlib-roundtrip/program.py": 'depends = ["libz"]\n',
        "programs/zlib-roundtrip/main.c": "int main(void) { return 0; }\n",
    }
    found = components.discover(make(tmp_path, {**PROJECT, **program}))
    with pytest.raises(BuildError, match=r"^zlib-roundtrip -> libz: programs/zlib-roundtrip depends on 'libz', which"):
        components.for_image(found, "opensbi")
