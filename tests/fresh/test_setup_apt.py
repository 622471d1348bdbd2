"""./setup's apt step alone (`./setup deb-src`) in fresh Debian roots whose apt lists Debian's archive in
each form a machine may have: one-line entries only (one with [signed-by=...], in sources.list.d), deb822
only (with Signed-By, as a fresh Debian 12 has), and both at once for the same archive. Each time apt
must still read its sources, deb-src must really serve (`apt-get source --print-uris`), no archive and
suite may get two deb-src entries, and a second run must change nothing. When apt refuses what setup
added, setup removes it again and says why in one line.

setup is this working tree's; the roots are tests/fresh/freshroot.py's, one per case.
"""

import glob
import os
import shutil
import subprocess

import pytest

from freshroot import FreshRoot, tarball
from helpers import ROOT

DEB822 = "/etc/apt/sources.list.d/0000debian.sources"  # as mmdebstrap writes the host's sources
# Third parties' sources that apt ignores (a name that is neither .list nor .sources; Enabled: no),
# in every layout: setup must ignore them too.
IGNORED = {
    "/etc/apt/sources.list.d/thirdparty.list.disabled": "deb http://apt.example.invalid/debian bookworm main\n",
    "/etc/apt/sources.list.d/thirdparty.sources": "Types: deb\nURIs: http://apt.example.invalid/node\n"
    "Suites: nodistro\nComponents: main\nSigned-By: /usr/share/keyrings/thirdparty.gpg\nEnabled: no\n",
}
KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"
OURS = "/etc/apt/sources.list.d/rvbuild-deb-src"  # .sources and .list: setup's files


@pytest.fixture(scope="module")
def tar(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.skip("making and entering a Debian root (mmdebstrap, chroot, mount) needs root; CI runs as root")
    return tarball(str(tmp_path_factory.mktemp("fresh-log") / "tarball.log"))


@pytest.fixture
def make_root(tar, tmp_path):
    """A fresh root with setup in /opt/rvbuild and apt's sources as `layout` lays them."""
    made = []

    def make(layout):
        root = FreshRoot.unpack(tar, str(tmp_path / "root"))
        os.makedirs(f"{root.path}/opt/rvbuild")
        shutil.copy(f"{ROOT}/setup", f"{root.path}/opt/rvbuild/setup")
        archives = deb822_archives(root)
        one_line = [f"deb {uri} {suite} {components}" for uri, suite, components in archives]
        files = dict(IGNORED)
        if layout == "one-line":
            os.remove(root.path + DEB822)
            files["/etc/apt/sources.list"] = "\n".join(line for line in one_line if "security" not in line) + "\n"
            files["/etc/apt/sources.list.d/security.list"] = "".join(
                line.replace("deb ", f"deb [ signed-by={KEYRING} ] ", 1) + "\n"
                for line in one_line
                if "security" in line
            )
        elif layout in ("both", "broken by an earlier setup"):
            files["/etc/apt/sources.list"] = "\n".join(one_line) + "\n"
        if layout == "broken by an earlier setup":  # it copied both forms: apt refused all its sources
            with open(root.path + DEB822) as f:
                files[f"{OURS}.sources"] = f.read().replace("Types: deb", "Types: deb-src")
            files[f"{OURS}.list"] = "".join(line.replace("deb ", "deb-src ", 1) + "\n" for line in one_line)
        if layout == "refused":
            # Debian's archive in one-line form, and in a deb822 stanza that is not Debian's alone (an extra
            # component) with a Signed-By: apt takes that order, but not a deb-src copy of the one-line entry
            # (no keyring) after the stanza's.
            files["/etc/apt/sources.list"] = "\n".join(one_line) + "\n"
            with open(root.path + DEB822) as f:
                files[DEB822] = f.read().replace("Components: main", "Components: main local")
        for path, text in files.items():
            with open(root.path + path, "w") as f:
                f.write(text)
        made.append(root)
        return root

    yield make
    for root in made:
        subprocess.run(["rm", "-rf", "--one-file-system", root.path])


def deb822_archives(root):
    """(URI, suite, components) of each archive and suite in the root's deb822 sources."""
    archives = []
    with open(root.path + DEB822) as f:
        for stanza in f.read().split("\n\n"):
            fields = dict(line.split(":", 1) for line in stanza.splitlines() if line and not line.startswith("#"))
            for uri in fields["URIs"].split():
                archives += [(uri, suite, fields["Components"].strip()) for suite in fields["Suites"].split()]
    return archives


def run(root, script):
    return subprocess.run(root.command(script), capture_output=True, text=True, stdin=subprocess.DEVNULL)


def apt_files(root):
    """Every file under the root's /etc/apt, with its text."""
    texts = {}
    for path in sorted(glob.glob(f"{root.path}/etc/apt/**", recursive=True)):
        if os.path.isfile(path):
            with open(path, "rb") as f:
                texts[path[len(root.path) :]] = f.read()
    return texts


def assert_apt_reads_its_sources(root):
    policy = run(root, "apt-cache policy")
    errors = [line for line in policy.stderr.splitlines() if line.startswith("E:")]
    assert policy.returncode == 0 and not errors, policy.stderr
    twice = [line for line in policy.stderr.splitlines() if "Target Sources" in line and "multiple times" in line]
    assert not twice, "an archive and suite with two deb-src entries:\n" + "\n".join(twice)


@pytest.mark.parametrize("layout", ["one-line", "deb822", "both", "broken by an earlier setup"])
def test_deb_src_in_the_form_apt_uses_and_once(make_root, layout):
    root = make_root(layout)
    first = run(root, "/opt/rvbuild/setup deb-src")
    assert first.returncode == 0, first.stdout + first.stderr
    assert_apt_reads_its_sources(root)
    uris = run(root, "cd /tmp && apt-get source --print-uris busybox")
    assert uris.returncode == 0 and ".dsc'" in uris.stdout, uris.stdout + uris.stderr

    added = {path: text.decode() for path, text in apt_files(root).items() if "rvbuild-deb-src" in path}
    if layout == "one-line":
        assert list(added) == [f"{OURS}.list"]
        assert f"deb-src [ signed-by={KEYRING} ] " in added[f"{OURS}.list"]
    else:  # the deb822 entries are copied, with their Signed-By, and the one-line ones are not
        assert list(added) == [f"{OURS}.sources"]
        assert f"Signed-By: {KEYRING}" in added[f"{OURS}.sources"]
    assert "example.invalid" not in "".join(added.values())

    before = apt_files(root)
    second = run(root, "/opt/rvbuild/setup deb-src")
    assert second.returncode == 0, second.stdout + second.stderr
    assert apt_files(root) == before
    assert second.stdout + second.stderr == "", "a second run did something"


def test_what_apt_refuses_is_removed_in_one_line(make_root):
    root = make_root("refused")
    assert_apt_reads_its_sources(root)
    before = apt_files(root)
    refused = run(root, "/opt/rvbuild/setup deb-src")
    assert refused.returncode == 1
    lines = refused.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("setup: apt refused the deb-src entries"), refused.stderr
    assert "Conflicting values set for option Signed-By" in lines[0]
    assert apt_files(root) == before
    assert_apt_reads_its_sources(root)
