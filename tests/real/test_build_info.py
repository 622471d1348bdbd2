"""`scons info`, `graph`, `legal-info` and `build-time` on the real rv64 build: what they say
matches the pinned sources, the trees and SCons' own graph."""

import csv
import json
import os

import pytest

from helpers import ROOT, scons
from rvbuild import components, lock
from rvbuild.fetch import sha256_of

BUILD = f"{ROOT}/build/rv64"
# Every component of the image but the image itself, which is made of them.
COMPONENTS = {c.name for c in components.listed(components.for_image(components.discover(ROOT), "opensbi"))} - {
    "rootfs"
}


@pytest.fixture(scope="module")
def info():
    scons("image")
    output = scons("info").stdout
    assert "GPL-2.0-only WITH Linux-syscall-note" in output
    with open(f"{BUILD}/info.json") as f:
        return json.load(f)


def test_info_names_each_component_with_its_pinned_source(info):
    assert set(info["components"]) == COMPONENTS
    kernel_pin = lock.source(f"{ROOT}/components/linux/linux-6.1.lock", "")
    linux = info["components"]["linux"]
    assert (linux["version"], linux["origin"]["sha256"]) == (kernel_pin.debian.version, kernel_pin.sha256)
    for component in info["components"].values():
        if component["archive"]:
            assert sha256_of(component["archive"]) == component["origin"]["sha256"], component["name"]
    assert info["settings"]["xlen"] == 64
    assert info["outputs"]["image"] == "build/rv64/rootfs/rootfs.ext4"


def test_graph_is_read_off_the_build(info):
    scons("graph")
    with open(f"{BUILD}/graph.dot") as f:
        dot = f.read()
    edges = ("linux -> opensbi", "busybox -> rootfs", "dropbear -> rootfs", "hello -> rootfs", "ssh -> rootfs")
    edges += ("linux -> rvhello", "rvhello -> rootfs", "linux -> rootfs")  # the image holds the modules
    for edge in edges:
        assert '"{}" -> "{}"'.format(*edge.split(" -> ")) in dot
    with open(f"{BUILD}/graph.svg") as f:
        assert "<svg" in f.read()


def test_legal_info_holds_sources_and_licence_texts(info):
    scons("legal-info")
    legal = f"{BUILD}/legal-info"
    with open(f"{legal}/manifest.csv") as f:
        rows = {row["component"]: row for row in csv.DictReader(f)}
    assert set(rows) == COMPONENTS
    for name, row in rows.items():
        component = info["components"][name]
        if component["archive"]:
            assert sha256_of(f"{legal}/sources/{row['source']}") == row["sha256 or commit"]
        for licence in row["license files"].split():
            with (
                open(f"{legal}/licenses/{name}/{licence}", "rb") as copy,
                open(f"{component['tree']}/{licence}", "rb") as original,
            ):
                assert copy.read() == original.read()
    assert rows["busybox"]["license"].startswith("GPL-2.0")
    assert os.path.exists(f"{legal}/sources/hello/hello.c")


def test_build_time_charts_the_steps_that_ran(info):
    output = scons("build-time").stdout
    with open(f"{BUILD}/build-time.png", "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    timed = {line.split()[0] for line in output.splitlines() if line.startswith("  ")}
    assert {"linux", "busybox", "dropbear", "opensbi", "rootfs"} <= timed
