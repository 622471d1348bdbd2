"""A step of `scons bisect` (bisect_step=1) builds the kernel and what it reaches apart, in
build/rv64/bisect/steps, and shares the rest with the variant's build; a kernel option that does
not stick there is reported, not fatal. Real scons on the fake trees; the bisection itself, which
boots, is in tests/real/test_kernel_bisection.py."""

import re

from helpers import scons

BUILT = re.compile(r"^[A-Z][A-Z0-9_]* +(build/\S+)$", re.MULTILINE)
STEPS = "build/rv64/bisect/steps/"


def built_paths(output):
    return BUILT.findall(output)


def test_a_step_builds_the_kernel_and_what_it_reaches_apart_and_shares_the_rest(project):
    output = project.scons("image", "bisect_step=1").stdout
    paths = built_paths(output)
    assert paths and all(path.startswith(STEPS) for path in paths), output
    assert {path[len(STEPS) :].split("/")[0] for path in paths} >= {"linux", "opensbi", "rvhello", "rootfs"}
    summary = output.splitlines()[-1]
    assert "rebuilt rv64/bisect/steps/linux (not built yet)" in summary and "busybox" not in summary, output
    assert project.scons("-q", "image", "bisect_step=1", check=False).returncode == 0
    assert project.up_to_date()  # the variant's own build is as it was


def test_a_kernel_option_that_does_not_stick_is_reported_in_a_step(project):
    project.edit("components/linux/virt.config", lambda text: text + "CONFIG_EXT4FS=y\n")
    try:
        result = scons("image", "bisect_step=1", *project.options, cwd=project.path)
    finally:
        project.edit("components/linux/virt.config", lambda text: text.replace("CONFIG_EXT4FS=y\n", ""))
    assert "rvbuild: warning: kernel options did not stick at this commit: CONFIG_EXT4FS=y (got n)" in result.stdout
    assert project.up_to_date()
