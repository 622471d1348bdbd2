"""rvbuild.info: what `scons info`, `graph`, `legal-info` and `build-time` are made of."""

import csv
import io
import json

import pytest

from rvbuild import BuildError, info
from rvbuild.fetch import Debian, GitSource, Source


def variant(tmp_path):
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "COPYING").write_text("the licence\n")
    archive = tmp_path / "pkg-1.0.tar.gz"
    archive.write_bytes(b"archive")
    source = Source("pkg-1.0.tar.gz", "ab" * 32, urls=["https://example.org/pkg-1.0.tar.gz"], debian=Debian("pkg"))
    built = info.Variant("rv64", "build/rv64", {"xlen": 64})
    built.components["pkg"] = info.Component(
        "pkg", "1.0", "MIT", ["COPYING"], info.origin_of(source), archive=str(archive), tree=str(tree)
    )
    git = GitSource("fw", "https://example.org/fw.git", commit="c0ffee" * 6 + "c0ff")
    built.components["fw"] = info.Component("fw", "c0ffee", "BSD-2-Clause", [], info.origin_of(git), tree=str(tree))
    return built


def test_manifest_has_a_row_per_component_with_its_checksum(tmp_path):
    rows = list(csv.DictReader(io.StringIO(variant(tmp_path).manifest_csv())))
    assert [(row["component"], row["sha256 or commit"]) for row in rows] == [
        ("pkg", "ab" * 32),
        ("fw", "c0ffee" * 6 + "c0ff"),
    ]
    assert rows[0]["from"] == "https://example.org/pkg-1.0.tar.gz source package pkg"


def test_legal_info_copies_sources_and_licences(tmp_path):
    info.write_legal_info(variant(tmp_path), str(tmp_path / "legal"))
    assert (tmp_path / "legal/sources/pkg-1.0.tar.gz").read_bytes() == b"archive"
    assert (tmp_path / "legal/licenses/pkg/COPYING").read_text() == "the licence\n"


def test_missing_licence_file_is_named(tmp_path):
    built = variant(tmp_path)
    built.components["pkg"].license_files.append("LICENSE")
    with pytest.raises(BuildError, match=r"pkg: licence file LICENSE is not in .*components/pkg/SConscript"):
        info.write_legal_info(built, str(tmp_path / "legal"))


def test_dot_draws_each_edge_and_dashes_source_trees():
    text = info.dot("rv64", [("linux", "opensbi"), ("src/linux-6.1", "linux")])
    assert '"linux" -> "opensbi";' in text and '"src/linux-6.1" [label="src/linux-6.1", style=dashed];' in text


def test_latest_durations_add_up_each_components_latest_steps(tmp_path):
    log = tmp_path / "build-time.log"
    entries = [
        dict(build=1, component="linux", target="build/rv64/linux/Image", start=0, end=100),
        dict(build=1, component="busybox", target="build/rv64/busybox/busybox", start=0, end=30),
        dict(build=2, component="linux", target="build/rv64/linux/Image", start=200, end=210),
        dict(build=2, component="linux", target="build/rv64/linux/kernel.config", start=190, end=192),
    ]
    log.write_text("".join(json.dumps(entry) + "\n" for entry in entries))
    assert info.latest_durations(str(log)) == {"busybox": 30, "linux": 12}
