"""One build at a time per checkout: a second one is refused at once, naming the first, or waits
with wait=1; `scons -h` and `scons info` never wait."""

import subprocess
import sys
import time


def scons(project, *args):
    return subprocess.Popen(
        [sys.executable, "-m", "SCons", "-Q", *args, *project.options],
        cwd=project.path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_second_build_is_refused_or_waits(project):
    # A kernel make that takes a few seconds holds the lock long enough to try the others.
    project.edit(
        "fixtures/fake-linux/Makefile", lambda text: text.replace("\tgrep '^CONFIG_'", "\tsleep 6\n\tgrep '^CONFIG_'")
    )
    project.edit("fixtures/fake-linux/version.h", lambda text: text + "/* slower */\n")
    first = scons(project, "image")
    deadline = time.monotonic() + 60
    while f"pid {first.pid}:" not in open(project.file("build/.lock")).read():
        assert first.poll() is None and time.monotonic() < deadline, first.communicate()
        time.sleep(0.1)

    refused = scons(project, "image")
    out, err = refused.communicate(timeout=60)
    assert refused.returncode == 2
    assert f"rvbuild: error: another build is running in this checkout (pid {first.pid}: scons -Q image" in err
    assert "add wait=1" in err and "rvbuild: rebuilt" not in out and "up to date" not in out

    for reader in (["-h"], ["info", *project.options]):
        done = subprocess.run([sys.executable, "-m", "SCons", "-Q", *reader], cwd=project.path, capture_output=True)
        assert done.returncode == 0 and first.poll() is None, done.stderr

    waiting = scons(project, "image", "wait=1")
    out, err = waiting.communicate(timeout=120)
    assert first.wait(timeout=60) == 0
    assert waiting.returncode == 0, err
    assert "rvbuild: waiting for the build running in this checkout (pid" in out
    assert "rvbuild: nothing to rebuild" in out


def test_a_build_stopped_by_a_missing_tool_is_not_summarised_as_up_to_date(project, tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python").symlink_to(sys.executable)
    result = subprocess.run(
        [sys.executable, "-m", "SCons", "-Q", "image", *project.options],
        cwd=project.path,
        capture_output=True,
        text=True,
        env={"PATH": str(bin_dir), "HOME": str(tmp_path)},
    )
    assert result.returncode == 2 and "rvbuild: error: missing host tool" in result.stderr
    assert "up to date" not in result.stdout and "nothing to rebuild" not in result.stdout
