"""A package left out of the image by default (strace: DEFAULT = False) is selected with
`packages=` or a variant's `packages = [...]`: selecting it builds it and the image, nothing else;
deselecting it rebuilds the image alone. Real scons on a copy of the project, fake trees."""

from helpers import debugfs


def in_image(project, path):
    return "Inode:" in debugfs(project.file("build/rv64/rootfs/rootfs.ext4"), f"stat {path}")


def test_the_default_image_has_no_strace(project):
    assert "strace" not in project.first_build_output
    assert not in_image(project, "/usr/bin/strace")


def test_selecting_strace_rebuilds_only_strace_and_the_image(project):
    labels, components, output = project.build("packages=strace")
    assert labels == {"STRACE", "ROOTFS"} and components == {"strace", "rootfs"}
    others = project.component_count(packages=["strace"]) - 2
    assert f"rvbuild: rebuilt strace (not built yet), rootfs (build/rv64/strace/strace added); {others} up" in output
    assert in_image(project, "/usr/bin/strace")
    built = open(project.file("build/rv64/strace/strace")).read()
    assert "6.1-fake" in built and "--enable-mpers=no" in built and "LDFLAGS=-static" in built
    assert project.up_to_date("packages=strace")


def test_deselecting_strace_rebuilds_only_the_image(project):
    labels, components, output = project.build()
    assert labels == {"ROOTFS"} and components == {"rootfs"}
    assert f"rootfs (build/rv64/strace/strace removed); {project.component_count() - 1} up to date" in output
    assert not in_image(project, "/usr/bin/strace")
    # Selected again, strace is still built: only the image is.
    _, components, _ = project.build("packages=strace")
    assert components == {"rootfs"}
    project.build()


def test_a_variant_file_selects_strace_and_packages_on_the_command_line_overrides_it(project):
    project.edit("variants/rv64.py", lambda text: text + 'packages = ["strace"]\n')
    try:
        _, components, _ = project.build()
        assert components == {"rootfs"} and in_image(project, "/usr/bin/strace")
        _, components, _ = project.build("packages=")
        assert components == {"rootfs"} and not in_image(project, "/usr/bin/strace")
    finally:
        project.edit("variants/rv64.py", lambda text: text.replace('packages = ["strace"]\n', ""))
    assert project.up_to_date()


def test_an_unknown_package_is_a_one_line_error_naming_the_packages(project):
    result = project.scons("image", "packages=strace,stracey", check=False)
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("rvbuild: error: unknown package(s) stracey; choose from: busybox, dropbear, ")
    assert " strace " in line or " strace," in line


def test_strace_on_rv32_is_a_one_line_error_saying_why(project):
    result = project.scons("image", "variant=rv32", "packages=strace", check=False)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        'rvbuild: error: strace 6.1 does not support 32-bit RISC-V (its configure stops: "architecture riscv32 '
        'is not supported by strace"); select it for rv64 variants only'
    ]
    assert not project.scons("image", "variant=rv32", "-n", check=False).returncode
