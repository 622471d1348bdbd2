"""`scons bisect` on a git history made from the pinned kernel tree: its files committed once, then
a harmless commit, one that does not build and its revert, one that breaks `uname -m` (what the
guest test uname-m-rv64 checks), and another harmless one. The bisection names the breaking commit,
skips the one that does not build, confirms the culprit by its revert, leaves the user's tree as
it was, and resumes after being killed mid-step. Each step builds on the last one's objects, the
first on what ccache kept of the pinned tree's build. About 4 minutes.
"""

import hashlib
import json
import os
import subprocess
import sys
import time

import pytest

from helpers import ROOT, scons

REPORT = f"{ROOT}/build/rv64/bisect/bisect.json"
STEP_LOGS = f"{ROOT}/build/rv64/bisect/logs"
GIT = ["git", "-c", "user.name=Kernel Developer", "-c", "user.email=dev@localhost", "-c", "core.looseCompression=1"]


def edit(path, old, new, after=None):
    with open(path) as f:
        text = f.read()
    start = text.index(after) if after else 0
    at = text.index(old, start)
    with open(path, "w") as f:
        f.write(text[:at] + new + text[at + len(old) :])


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    """The user's git tree, and its commits by what they do."""
    scons("image")
    scons("info")
    with open(f"{ROOT}/build/rv64/info.json") as f:
        pinned = json.load(f)["components"]["linux"]["tree"]
    tree = str(tmp_path_factory.mktemp("history") / "linux")
    subprocess.run(["cp", "-a", pinned, tree], check=True)
    git = [*GIT, "-C", tree]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-f", "."], check=True)  # Debian's .gitignore ignores its own tree

    def commit(message):
        subprocess.run([*git, "commit", "-qam", message], check=True)
        return subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()

    commits = {"base": commit("base")}
    with open(f"{tree}/Documentation/process/howto.rst", "a") as f:
        f.write("\nA harmless line.\n")
    commits["docs"] = commit("docs: a harmless change")
    sys_c = f"{tree}/kernel/sys.c"
    edit(sys_c, "{\n", '{\n#error "this commit does not build"\n', after="SYSCALL_DEFINE1(newuname")
    commits["no build"] = commit("sys: does not build")
    subprocess.run([*git, "revert", "--no-edit", "HEAD"], check=True, capture_output=True)
    edit(sys_c, "\tup_read(&uts_sem);\n", '\tup_read(&uts_sem);\n\tstrcpy(tmp.machine, "broken");\n', "newuname")
    commits["break"] = commit("sys: uname's machine broken")
    edit(f"{tree}/init/main.c", "", "/* a harmless comment */\n")
    commits["bad"] = commit("init: a harmless comment")
    return tree, commits


def state_of(tree):
    """What the user sees of their tree: HEAD, the index, the files' status."""
    git = ["git", "-C", tree]
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout
    status = subprocess.run([*git, "status", "--porcelain", "--ignored"], capture_output=True, check=True).stdout
    with open(f"{tree}/.git/index", "rb") as f:
        return head, hashlib.sha256(f.read()).hexdigest(), status


def scons_bisect_processes():
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if b"bisect_step=1" in f.read():
                    found.append(pid)
        except OSError:
            pass
    return found


def test_bisect_names_the_culprit_skips_what_does_not_build_and_resumes_when_killed(history, tmp_path):
    tree, commits = history
    before = state_of(tree)
    args = ["bisect", f"linux_src={tree}", f"good={commits['base']}", "bad=HEAD", "test=uname-m-rv64", "runs=2"]

    for stale in (REPORT, STEP_LOGS):  # another bisection's, which this one would replace anyway
        subprocess.run(["rm", "-rf", stale], check=True)
    # Killed once both ends are judged and the first step is building.
    with open(tmp_path / "killed.log", "w") as log:
        bisecting = subprocess.Popen([sys.executable, "-m", "SCons", "-Q", *args], cwd=ROOT, stdout=log, stderr=log)
    deadline = time.monotonic() + 900
    while not (os.path.isdir(STEP_LOGS) and any(name.endswith("-step.log") for name in os.listdir(STEP_LOGS))):
        assert bisecting.poll() is None, open(tmp_path / "killed.log").read()
        assert time.monotonic() < deadline
        time.sleep(0.5)
    time.sleep(2)
    bisecting.kill()
    bisecting.wait()
    while scons_bisect_processes():  # the step's scons ends with it
        assert time.monotonic() < deadline
        time.sleep(0.5)
    with open(REPORT) as f:
        assert [step["role"] for step in json.load(f)["steps"]] == ["good", "bad"]

    output = scons(*args).stdout
    assert "resuming the bisection in build/rv64/bisect/bisect.json (2 steps done)" in output
    with open(REPORT) as f:
        report = json.load(f)
    steps = {(step["role"], step["commit"]): step for step in report["steps"]}
    assert [step["role"] for step in report["steps"]].count("good") == 1  # the ends were not judged again
    assert report["culprit"] == commits["break"]
    assert f"{commits['break']} is the first bad commit: sys: uname's machine broken" in output
    unbuildable = steps[("step", commits["no build"])]
    assert unbuildable["verdict"] == "skip"
    assert unbuildable["reason"].startswith("the build failed: kernel/sys.c:"), unbuildable
    assert steps[("step", commits["break"])]["votes"] == ["fail", "fail"]
    assert report["confirmation"] == "confirmed: bad with it reverted passes"
    assert not report["same_image_as_parent"]
    assert state_of(tree) == before
    for step in report["steps"]:
        print(f"{step['role']:<6} {step['verdict']:<5} build {step['build_seconds']} s, boot {step['boot_seconds']} s")
