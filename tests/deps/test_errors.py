"""Bad input from the command line or the host ends in one clear line with the fix."""

import os
import re
import shutil
import socket
import subprocess
import sys

import pytest

from helpers import ROOT
from rvbuild import lock

# Would rebuild the userland and the image, were the run not stopped first.
SOMETHING_TO_BUILD = "userspace_cflags=-DBADINPUT_TEST"


def run(project, *args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "SCons", "-Q", *args, *project.options],
        cwd=project.path,
        capture_output=True,
        text=True,
        env=env,
    )


def test_unknown_variant_lists_the_variants(project):
    result = run(project, "variant=rv65")
    assert result.returncode == 2
    assert "rvbuild: error: unknown variant 'rv65'; choose one of: rv32, rv64, rv64-linux6.12" in result.stderr


def test_unknown_option_points_at_help(project):
    result = run(project, "kernal=6.12")
    assert result.returncode == 2
    assert "unknown option(s) kernal; `scons -h` lists the options" in result.stderr


def path_without(tmp_path, tool):
    """A PATH with everything /usr/bin and /usr/sbin have, except `tool`."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for directory in ("/usr/bin", "/usr/sbin"):
        for name in os.listdir(directory):
            if name != tool and not (bin_dir / name).exists():
                os.symlink(f"{directory}/{name}", bin_dir / name)
    return bin_dir


def test_missing_cross_compiler_names_its_debian_package(project, tmp_path):
    bin_dir = path_without(tmp_path, "riscv64-linux-gnu-gcc")
    result = run(project, "image", env=dict(os.environ, PATH=str(bin_dir)))
    assert result.returncode == 2
    assert (
        "missing host tool riscv64-linux-gnu-gcc: run ./setup, or apt-get install gcc-riscv64-linux-gnu"
        in result.stderr
    )


@pytest.mark.parametrize("target", ["boot", "run", "test"])
def test_boot_run_and_test_take_one_variant(project, target):
    result = run(project, target, "variant=rv64,rv32", "cmd=true")
    assert result.returncode == 2
    assert f"scons {target} takes one variant; name just one with variant=" in result.stderr


def fails_in_one_line(result):
    """The one line a run failed with, having checked that it stopped before any build step."""
    assert result.returncode == 2, result.stdout + result.stderr
    # No build step ran (KCONFIG, LINUX, ...), and no closing line claims anything is up to date.
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("rvbuild: error: "), result.stderr
    return lines[0]


@pytest.mark.parametrize(
    "option, says",
    [
        ("ssh_port=abc", "ssh_port=abc is not a port number; use a free port from 1 to 65535, e.g. ssh_port=10022"),
        ("ssh_port=65536", "ssh_port=65536 is not a port number"),
        ("gdb_port=0", "gdb_port=0 is not a port number; use a free port from 1 to 65535, e.g. gdb_port=1234"),
        (
            "memory=garbage",
            "memory=garbage is not a size; use a whole number with K, M, G or T (or none, for MiB), e.g. memory=256M",
        ),
        (
            "rootfs_size=garbage",
            "rootfs_size=garbage is not a size; use a whole number with K, M, G or T, e.g. rootfs_size=32M",
        ),
        ("firmware=uboot", "firmware=uboot is unknown; use firmware=bbl or firmware=opensbi"),
        ("kernel=abc", "kernel=abc is not a Linux version like 6.1 or 6.12"),
        ("kernel=9.9", "no pin for Linux 9.9 ("),
        ("persist=maybe", "Invalid value for boolean variable: 'maybe'; `scons -h` lists the options"),
        ("variant=rv65", "unknown variant 'rv65'"),
    ],
)
def test_bad_option_fails_in_one_line_before_anything_builds(project, option, says):
    line = fails_in_one_line(run(project, "image", SOMETHING_TO_BUILD, option))
    assert says in line


@pytest.mark.parametrize(
    "fragment, bad_line",
    [
        ("components/linux/virt.config", "CONFIG_TMPFS = y"),
        ("components/linux/virt.config", "CONIFG_EXT4_FS=y"),
        ("components/linux/virt.config", "CONFIG_SMP=y # needed"),
        ("components/busybox/busybox.config", "FEATURE_EDITING=y"),
    ],
)
def test_fragment_line_that_is_not_kconfig_fails_with_file_and_line(project, fragment, bad_line):
    with open(project.file(fragment)) as f:
        original = f.read()
    try:
        project.edit(fragment, lambda text: text + bad_line + "\n")
        line = fails_in_one_line(run(project, "image"))
    finally:
        with open(project.file(fragment), "w") as f:
            f.write(original)
    assert f"{project.file(fragment)}:{original.count(chr(10)) + 1}: `{bad_line}` is not a Kconfig line (" in line


@pytest.mark.parametrize("target, purpose, option", [("boot", "SSH", "ssh_port"), ("debug", "gdb", "gdb_port")])
def test_a_taken_port_fails_before_building(project, target, purpose, option):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = fails_in_one_line(run(project, target, SOMETHING_TO_BUILD, f"{option}={port}"))
    assert f"port {port} on 127.0.0.1 is not free for {purpose}" in line
    assert f"choose another with {option}=" in line


def test_update_kernel_lock_pins_a_kernel_that_has_no_pin_yet(project):
    apt = subprocess.run(["apt-get", "download", "--print-uris", "linux-source-6.12"], capture_output=True, text=True)
    if apt.returncode != 0 or "SHA256:" not in apt.stdout:
        pytest.skip(f"apt knows no linux-source-6.12 here: {apt.stderr.strip()}")
    path = project.file("components/linux/linux-6.12.lock")
    saved = path + ".saved"
    shutil.move(path, saved)
    try:
        line = fails_in_one_line(run(project, "image", "kernel=6.12"))
        assert line.endswith("run `scons update-kernel-lock kernel=6.12`")
        pinned = run(project, "update-kernel-lock", "kernel=6.12")
        assert pinned.returncode == 0, pinned.stderr
        pin = lock.read(path)
    finally:
        shutil.move(saved, path)
    assert pin["package"] == "linux-source-6.12"
    assert f" {pin['filename']} " in apt.stdout and f"SHA256:{pin['sha256']}" in apt.stdout


def test_tool_failing_in_a_build_step_is_named_in_one_line(project, tmp_path):
    bin_dir = path_without(tmp_path, "ssh-keygen")
    (bin_dir / "ssh-keygen").write_text('#!/bin/sh\necho "ssh-keygen: cannot write the key" >&2\nexit 1\n')
    (bin_dir / "ssh-keygen").chmod(0o755)
    key = project.file("build/rv64/ssh/id_ed25519")
    for path in (key, key + ".pub"):
        os.unlink(path)
    result = run(project, "image", env=dict(os.environ, PATH=str(bin_dir)))
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"scons: *** [build/rv64/ssh/id_ed25519] `ssh-keygen -q -t ed25519 -N '' -C rvbuild -f {key}` failed "
        f"(status 1): ssh-keygen: cannot write the key"
    ]


def test_unusable_host_key_names_itself_and_the_fix(project):
    key = project.file("build/rv64/ssh/host_ed25519_key")
    original = open(key).read()
    with open(key, "w") as f:
        f.write("not a key\n")
    result = run(project, "image")
    with open(key, "w") as f:
        f.write(original)
    assert result.returncode == 2
    # Whichever of its two readers fails first says so, in its own words between the parentheses.
    assert re.search(
        r"the host key build/rv64/ssh/host_ed25519_key is unusable \(.*(key|format).*\): "
        r"fix it, or delete it and its \.pub to have a new one made",
        result.stderr,
    )
    assert "Traceback" not in result.stderr
    assert run(project, "image").returncode == 0
    assert project.up_to_date()


@pytest.mark.parametrize(
    "tool, package, target, real_source",
    [
        ("bzip2", "bzip2", "image", "dropbear"),  # Dropbear's own tarball is a .tar.bz2
        ("qemu-system-riscv64", "qemu-system-misc", "boot", None),
        ("gdb-multiarch", "gdb-multiarch", "debug", None),
    ],
)
def test_tools_of_later_steps_are_checked_before_anything_builds(project, tmp_path, tool, package, target, real_source):
    options = [option for option in project.options if not option.startswith(f"{real_source}_src=")]
    result = subprocess.run(
        [sys.executable, "-m", "SCons", "-Q", target, SOMETHING_TO_BUILD, *options],
        cwd=project.path,
        capture_output=True,
        text=True,
        env=dict(os.environ, PATH=str(path_without(tmp_path, tool))),
    )
    line = fails_in_one_line(result)
    assert line == f"rvbuild: error: missing host tool {tool}: run ./setup, or apt-get install {package}"


@pytest.fixture(scope="module")
def kernel_history(tmp_path_factory):
    """A git tree of two commits, HEAD~1 and HEAD, standing for a kernel's."""
    tree = tmp_path_factory.mktemp("kernel-history")
    git = ["git", "-C", str(tree), "-c", "user.name=t", "-c", "user.email=t@localhost"]
    subprocess.run([*git, "init", "-q"], check=True)
    for n in (1, 2):
        (tree / "Makefile").write_text(f"# {n}\n")
        subprocess.run([*git, "add", "Makefile"], check=True)
        subprocess.run([*git, "commit", "-qm", str(n)], check=True)
    return str(tree)


@pytest.mark.parametrize(
    "args, says",
    [
        (["test=hello"], "scons bisect needs both ends: add good=<commit that passes> bad=<commit that fails>"),
        (["good=HEAD~1", "bad=HEAD"], "one guest test or one command: add test=NAME or cmd=..."),
        (["good=HEAD~1", "bad=HEAD", "cmd=true", "test=hello"], "one guest test or one command"),
        (["good=HEAD~1", "bad=HEAD", f"guest_tests={ROOT}/tests/guest", "test=nosuch"], "no guest test 'nosuch' in"),
        (["good=HEAD~1", "bad=HEAD", "cmd=true", "runs=0"], "runs=0 is not a number of runs; use 1 or more"),
        (["good=nosuch", "bad=HEAD", "cmd=true"], "good=nosuch names no commit of "),
        (["good=HEAD", "bad=HEAD~1", "cmd=true"], "good=HEAD is not an ancestor of bad=HEAD~1 in "),
        (["good=HEAD~1", "bad=HEAD", "cmd=true", "linux_src=fixtures"], "/fixtures is not a git work tree"),
        (["good=HEAD~1", "bad=HEAD", "cmd=true", "variant=rv64,rv32"], "scons bisect takes one variant"),
    ],
)
def test_bad_bisection_fails_in_one_line_before_anything_builds(project, kernel_history, args, says):
    other_options = [option for option in project.options if not option.startswith("linux_src=")]
    result = subprocess.run(
        [sys.executable, "-m", "SCons", "-Q", "bisect", *other_options, f"linux_src={kernel_history}", *args],
        cwd=project.path,
        capture_output=True,
        text=True,
    )
    assert says in fails_in_one_line(result)
