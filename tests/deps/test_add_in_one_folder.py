"""Adding to the image takes one folder and no other file: a program in programs/, an overlay in
overlays/. Real scons on a copy of the project (fake make-based trees; the programs compile for
real with the cross compilers), the image read back with debugfs."""

import os
import subprocess

import pytest

from helpers import debugfs

GREET_CC = """#include <iostream>
int main() { std::cout << "greetings from C++" << std::endl; return 0; }
"""
GREET_SETTINGS = """install = "/usr/sbin/greet"
files = {"greet.conf": "/etc/greet.conf", "greet-hook": "/usr/libexec/greet-hook"}
"""


def image(project):
    return project.file("build/rv64/rootfs/rootfs.ext4")


def write(project, relative, text, mode=0o644):
    path = project.file(relative)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


def test_a_new_program_folder_is_built_and_installed_with_nothing_else_touched(project):
    before = project.component_count()
    write(project, "programs/greet/greet.cc", GREET_CC)
    write(project, "programs/greet/program.py", GREET_SETTINGS)
    write(project, "programs/greet/greet.conf", "loud = yes\n")
    write(project, "programs/greet/greet-hook", "#!/bin/sh\necho hook\n", 0o755)
    labels, components, output = project.build()
    assert components == {"greet", "rootfs"} and {"CXX", "LINK", "ROOTFS"} <= labels
    # One more component; of the others only the image rebuilt.
    assert project.component_count() == before + 1 and f"; {before - 1} up to date" in output
    binary = project.file("build/rv64/greet/greet")
    assert "RISC-V" in subprocess.run(["file", binary], capture_output=True, text=True).stdout
    assert "Type: regular    Mode:  0755" in debugfs(image(project), "stat /usr/sbin/greet")
    assert "Mode:  0644" in debugfs(image(project), "stat /etc/greet.conf")
    assert "Mode:  0755" in debugfs(image(project), "stat /usr/libexec/greet-hook")
    assert "loud = yes" in debugfs(image(project), "cat /etc/greet.conf")


def test_a_program_of_several_files_rebuilds_for_its_own_header_and_the_image_only_if_its_bytes_change(project):
    write(project, "programs/counter/src/main.c", '#include "count.h"\nint main(void) { return count(); }\n')
    write(project, "programs/counter/lib/count.c", '#include "../src/count.h"\nint count(void) { return STEP; }\n')
    write(project, "programs/counter/src/count.h", "#define STEP 1\nint count(void);\n")
    write(project, "programs/counter/program.py", 'sources = ["src/main.c", "lib/count.c"]\n')
    labels, components, _ = project.build()
    assert components == {"counter", "rootfs"} and {"CC", "LINK", "ROOTFS"} <= labels
    binary = project.file("build/rv64/counter/counter")
    built = open(binary, "rb").read()
    # A comment in the header both sources include: both recompile, the same bytes, not a new image.
    project.edit("programs/counter/src/count.h", lambda text: text + "/* one step */\n")
    labels, components, _ = project.build()
    assert components == {"counter"} and labels == {"CC", "LINK"} and open(binary, "rb").read() == built
    project.edit("programs/counter/src/count.h", lambda text: text.replace("STEP 1", "STEP 2"))
    assert project.build()[1] == {"counter", "rootfs"}
    assert project.up_to_date()
    assert "Removed build/rv64/counter/lib/count.o" in project.scons("-c", "-n", "image").stdout  # objects too


def test_overlays_for_all_variants_and_for_one_rebuild_only_the_image_owned_by_root(project):
    write(project, "overlays/common/etc/issue", "rvbuild test image\n")
    write(project, "overlays/rv64/etc/init.d/S50demo", "#!/bin/sh\necho demo $1\n", 0o775)
    write(project, "overlays/rv64.permissions", "/etc/init.d/S50demo 0750\n")
    write(project, "overlays/rv32/etc/only-rv32", "not in rv64\n")
    _, components, _ = project.build()
    assert components == {"rootfs"}
    script = debugfs(image(project), "stat /etc/init.d/S50demo")
    assert "User:     0   Group:     0" in script and "Mode:  0750" in script
    assert "rvbuild test image" in debugfs(image(project), "cat /etc/issue")
    etc = debugfs(image(project), "ls /etc")
    assert "issue" in etc and "only-rv32" not in etc
    write(project, "overlays/rv64.permissions", "/etc/init.d/S50demo 0700\n")
    assert project.build()[1] == {"rootfs"}
    assert "Mode:  0700" in debugfs(image(project), "stat /etc/init.d/S50demo")


@pytest.mark.parametrize(
    "folder, error",
    [
        ("programs/empty", "programs/empty has no C or C++ source"),
        ("overlays/rv46", "overlays/rv46 is for no variant; name it common or one of: rv32, rv64"),
        ("modules/empty", "modules/empty has no Kbuild file; write one: obj-m := empty.o"),
    ],
)
def test_a_folder_that_makes_no_sense_is_a_clear_error(project, folder, error):
    os.makedirs(project.file(folder))
    try:
        result = project.scons("image", check=False)
        assert result.returncode == 2
        assert f"rvbuild: error: {error}" in result.stderr.replace(project.path + "/", "")
    finally:
        os.rmdir(project.file(folder))
