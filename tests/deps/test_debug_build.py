"""debug=1 builds a kernel with debug info, and the firmware that carries it, in build/rv64-debug,
beside the shared rest in build/rv64: switching debug on and off rebuilds nothing."""

from rvbuild.steps import STEP


def build(project, *options):
    output = project.scons("image", *options).stdout
    return {(directory, component) for _, directory, component in STEP.findall(output)}, output


def read(project, path):
    with open(project.file(path)) as f:
        return f.read()


def test_debug_builds_the_kernel_and_its_firmware_in_their_own_directory(project):
    built, output = build(project, "debug=1")
    assert built == {("rv64-debug", "linux"), ("rv64-debug", "opensbi")}
    # build/rv64's kernel counts too: the image's modules come from it.
    up_to_date = project.component_count() + 1 - 2
    assert f"rebuilt rv64-debug/linux (not built yet), rv64-debug/opensbi (not built yet); {up_to_date} up to date" in (
        output
    )
    assert "CONFIG_GDB_SCRIPTS=y" in read(project, "build/rv64-debug/linux/kernel.config")
    assert "CONFIG_GDB_SCRIPTS" not in read(project, "build/rv64/linux/kernel.config")
    # The kernel's gdb scripts, and beside vmlinux the file through which gdb loads them (the fake
    # kernel is a tree of the user's own: built in local/obj/).
    assert read(project, "build/rv64-debug/linux/local/obj/ran.log") == "vmlinux\nscripts_gdb\n"
    assert "'local/obj', \"vmlinux-gdb.py\"" in read(project, "build/rv64-debug/linux/vmlinux-gdb.py")
    assert "fake gdb scripts" in read(project, "build/rv64-debug/linux/local/obj/vmlinux-gdb.py")


def test_switching_debug_off_and_on_again_rebuilds_nothing(project):
    assert project.up_to_date()
    assert project.up_to_date("debug=1")
    assert project.up_to_date("debug=0")
