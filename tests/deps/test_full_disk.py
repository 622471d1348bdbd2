"""Running out of disk at any step is reported as a full disk naming the file system (never as a
bad download or a bad tool), and the next build after space is freed finishes with the same bytes.

Each step's folder is put on a small tmpfs of its own in a private mount namespace (a user
namespace too where the tests do not run as root), filled up, built into, emptied and built into
again. Real scons on the fake trees, with Dropbear fetched and unpacked for real. About 20 s.
"""

import os
import subprocess
import sys

import pytest

from fake_project import FAKES, Project, SlowServer, copy_project, fake_release, fetch_from

OUTPUTS = ["dropbear/dropbear", "hello/hello", "rootfs/rootfs.ext4"]
# The folder each step writes into: its file system is the one that fills up.
STEPS = {
    "download": "dl",
    "unpack": "build/src",
    "configure and make": "build/rv64/dropbear",
    "compile and link": "build/rv64/hello",
    "mkfs": "build/rv64/rootfs",
    "all of build/": "build",
}
WRONG_CAUSES = ["fetch it again", "checksum", "bigger rootfs_size", "Traceback"]
# Inside the namespace: a full file system at $FULL, a build, space freed, a build; the outputs are
# copied out, since the tmpfs goes with the namespace.
SCRIPT = """
set -u
cp -a build/rv64/ssh "$OUT/ssh"  # the image holds the build's SSH keys: the same ones
mkdir -p "$FULL" && mount -t tmpfs -o size=64m tmpfs "$FULL" || exit 99
[ -d build/rv64/ssh ] || { mkdir -p build/rv64 && cp -a "$OUT/ssh" build/rv64/; }
dd if=/dev/zero of="$FULL/filler" bs=64k >/dev/null 2>&1
"$PYTHON" -m SCons -Q image "$@" >"$OUT/full.log" 2>&1; echo $? >"$OUT/full.status"
rm "$FULL/filler"
"$PYTHON" -m SCons -Q image "$@" >"$OUT/freed.log" 2>&1; echo $? >"$OUT/freed.status"
for output in $OUTPUTS; do cp "build/rv64/$output" "$OUT/${output##*/}" || true; done
"""


def namespace():
    if os.geteuid() == 0:
        return ["unshare", "--mount", "--propagation", "private"]
    return ["unshare", "--user", "--map-root-user", "--mount"]


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    if subprocess.run([*namespace(), "true"], capture_output=True).returncode != 0:
        pytest.skip("this machine allows no private mount namespace (unshare)")
    path = tmp_path_factory.mktemp("full-disk")
    served = SlowServer(*fake_release(Project(copy_project(str(path / "release"))), "dropbear"))
    built = Project(copy_project(str(path / "project")), local={n: f for n, f in FAKES.items() if n != "dropbear"})
    built.options.append(f"dl={built.file('dl')}")
    fetch_from(built, "dropbear", served.url, served.body)
    built.build()
    built.reference = {output: open(built.file(f"build/rv64/{output}"), "rb").read() for output in OUTPUTS}
    yield built
    served.close()


def read(path):
    with open(path, "rb") as f:
        return f.read()


@pytest.mark.parametrize("step", STEPS)
def test_a_full_disk_is_named_and_the_build_after_freeing_space_is_the_same(project, step, tmp_path):
    full = project.file(STEPS[step])
    environment = dict(os.environ, FULL=full, OUT=str(tmp_path), PYTHON=sys.executable, OUTPUTS=" ".join(OUTPUTS))
    subprocess.run(
        [*namespace(), "sh", "-c", SCRIPT, "sh", *project.options],
        cwd=project.path,
        env=environment,
        check=True,
    )
    said = (tmp_path / "full.log").read_text()
    assert (tmp_path / "full.status").read_text().strip() == "2", said
    assert f"the file system at {os.path.realpath(full)} is full" in said, said
    assert not [cause for cause in WRONG_CAUSES if cause in said], said
    freed = (tmp_path / "freed.log").read_text()
    assert (tmp_path / "freed.status").read_text().strip() == "0", freed
    for output in OUTPUTS:
        assert read(tmp_path / os.path.basename(output)) == project.reference[output], output
