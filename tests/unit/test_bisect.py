"""`scons bisect`'s pieces that need no build: which components a step builds apart, where their
steps show in the summary, the ends of a bisection, why a step stopped, and the one test it runs."""

import subprocess

import pytest

from helpers import ROOT
from rvbuild import BuildError, bisect, components, guest_tests
from rvbuild.explain import component_of


def test_a_step_builds_apart_what_reaches_the_kernel_and_shares_the_rest():
    found = components.discover(ROOT)
    parts = components.for_image(found, "opensbi", [])
    reaching = {c.name for c in components.listed(parts) if components.reaches(c, parts, "kernel")}
    assert {"linux", "opensbi", "rvhello", "rootfs"} <= reaching
    assert not reaching & {"busybox", "dropbear", "zlib", "hello"}


def test_a_steps_outputs_belong_to_its_build():
    assert component_of("build/rv64/bisect/steps/linux/Image") == ("rv64/bisect/steps", "linux")
    assert component_of("build/rv64/linux/Image") == ("rv64", "linux")


@pytest.fixture
def history(tmp_path):
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@localhost"]
    subprocess.run([*git, "init", "-q"], check=True)
    commits = []
    for n in range(3):
        (tmp_path / "Makefile").write_text(f"# {n}\n")
        subprocess.run([*git, "add", "Makefile"], check=True)
        subprocess.run([*git, "commit", "-qm", str(n)], check=True)
        commits.append(subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip())
    return str(tmp_path), commits


def test_the_ends_are_the_commits_they_name(history):
    tree, commits = history
    assert bisect.ends(tree, "HEAD~2", "HEAD", "linux_src") == (commits[0], commits[2])
    with pytest.raises(BuildError, match="good=HEAD is not an ancestor of bad=HEAD~1"):
        bisect.ends(tree, "HEAD", "HEAD~1", "linux_src")


def test_a_failed_step_is_said_by_the_compilers_first_error(tmp_path):
    log = tmp_path / "step.log"
    log.write_text(
        "  CC      kernel/sys.o\n"
        '/src/kernel/sys.c:1301:2: error: #error "does not build"\n'
        "/src/kernel/sys.c:1400:1: error: expected ';'\n"
        "scons: *** [build/rv64/bisect/steps/linux/Image] `make ...` failed (status 2)\n"
    )
    assert bisect._cause(str(log)) == '/src/kernel/sys.c:1301:2: error: #error "does not build"'
    log.write_text("rvbuild: error: the guest did not answer SSH within 180 s\n")
    assert bisect._cause(str(log)) == "rvbuild: error: the guest did not answer SSH within 180 s"


def test_test_names_one_guest_test():
    assert [test.name for test in guest_tests.chosen(f"{ROOT}/tests/guest", "hello")] == ["hello"]
    assert len(guest_tests.chosen(f"{ROOT}/tests/guest")) > 1
    with pytest.raises(BuildError, match="no guest test 'nosuch' in .*; choose one of: hello, "):
        guest_tests.chosen(f"{ROOT}/tests/guest", "nosuch")
