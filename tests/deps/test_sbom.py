"""`scons sbom`: the image as an SPDX 2.3 document, written by spdx-tools, read back and validated
by it, and found to meet the NTIA minimum elements by ntia-conformance-checker. Real scons on a copy
of the project: its components from their pinned sources (the document needs none of them
fetched), plus a library and a package that DEPENDS on it, built from a tree of the user's."""

import json
import os

import pytest
from ntia_conformance_checker import NTIAChecker
from spdx_tools.spdx.model import RelationshipType, SpdxNoAssertion
from spdx_tools.spdx.parser.parse_anything import parse_file
from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

from fake_project import Project, copy_project
from rvbuild import BuildError, info, sbom

LIBGREET = """
from rvbuild.fetch import Source

ROLE = "package"
DEFAULT = False

Import("env")
source = Source("libgreet-1.4.2.tar.gz", sha256="ab" * 32, urls=["https://greet.example.org/libgreet-1.4.2.tar.gz"])
tree = env.SourceTree(source, "libgreet-1.4.2", subdir="libgreet-1.4.2")
env.Describe("1.4.2", "BSD-3-Clause, bzip2-1.0.6 (docs)", ["COPYING"], source, tree)
staged = []
Return("staged")
"""
GREETER = """
from rvbuild.fetch import Source

ROLE = "package"
DEPENDS = ["libgreet"]

Import("env", "depends")
source = Source("greeter-0.9.tar.gz", sha256="cd" * 32, urls=["https://github.com/greeters/greeter/archive/v0.9.tar.gz"])
tree = env.SourceTree(source, "greeter-0.9", subdir="greeter-0.9")
env.Describe("0.9", "MIT, Public domain", ["LICENSE"], source, tree)
installed = []
Return("installed")
"""
SBOM = "build/rv64/sbom.spdx.json"


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    path = copy_project(str(tmp_path_factory.mktemp("project")))
    for name, text in (("libgreet", LIBGREET), ("greeter", GREETER)):
        os.makedirs(f"{path}/components/{name}")
        with open(f"{path}/components/{name}/SConscript", "w") as f:
            f.write(text)
    os.makedirs(f"{path}/fixtures/greeter")
    built = Project(path, local={"greeter": "greeter"})
    built.said = built.scons("sbom").stdout
    built.scons("info")
    with open(built.file("build/rv64/info.json")) as f:
        built.info = json.load(f)["components"]
    return built


@pytest.fixture(scope="module")
def document(project):
    return parse_file(project.file(SBOM))


def packages(document):
    return {package.name: package for package in document.packages}


def related(document, kind):
    names = {package.spdx_id: package.name for package in document.packages}
    return {
        (names.get(r.spdx_element_id, r.spdx_element_id), names[r.related_spdx_element_id])
        for r in document.relationships
        if r.relationship_type == kind
    }


def test_the_document_is_valid_spdx_and_meets_the_ntia_minimum_elements(project, document):
    assert f"sbom: {SBOM}" in project.said
    assert validate_full_spdx_document(document) == []
    checker = NTIAChecker(project.file(SBOM))
    assert checker.compliant and not checker.parsing_errors and not checker.validation_messages
    assert not checker.floating_component_ids  # every package is reached from what the document describes
    assert checker.get_total_number_components() == len(project.info) + 1  # and the image
    assert document.creation_info.spdx_version == "SPDX-2.3"
    assert [str(actor) for actor in document.creation_info.creators] == ["Tool: rvbuild", "Organization: rvbuild"]
    assert document.creation_info.created.isoformat() == "2023-11-14T22:13:20"  # the build's date


def test_each_component_has_the_version_checksum_and_source_info_json_gives(project, document):
    described = packages(document)
    for name, component in project.info.items():
        package, origin = described[name], component["origin"]
        assert package.version == component["version"]
        assert [c.value for c in package.checksums] == ([origin["sha256"]] if "sha256" in origin else [])
        assert package.download_location == (origin["urls"][0] if origin.get("urls") else SpdxNoAssertion())
        assert str(package.supplier) == component["supplier"] != "NOASSERTION"
    assert str(described["libgreet"].supplier) == "Organization: greet.example.org"
    assert described["greeter"].version == "0.9 (your tree)" and not described["greeter"].checksums
    assert str(described["greeter"].supplier) == "Organization: greeters"  # the owner, on a forge
    assert str(described["hello"].supplier) == "Organization: rvbuild"


def test_licences_are_spdx_expressions(document):
    described = packages(document)
    assert str(described["greeter"].license_declared) == "MIT AND LicenseRef-Public-domain"
    assert str(described["libgreet"].license_declared) == "BSD-3-Clause AND bzip2-1.0.6"
    assert [ref.license_id for ref in document.extracted_licensing_info] == ["LicenseRef-Public-domain"]
    assert described["hello"].license_declared == SpdxNoAssertion()  # "the project's own" names none


@pytest.mark.parametrize(
    "described, expression",
    [
        ("MIT, BSD-2-Clause, Public domain", "MIT AND BSD-2-Clause AND LicenseRef-Public-domain"),
        ("LGPL-2.1-or-later, GPL-2.0-or-later (tests)", "LGPL-2.1-or-later AND GPL-2.0-or-later"),
        ("GPL-2.0-only WITH Linux-syscall-note", "GPL-2.0-only WITH Linux-syscall-note"),
        ("MIT OR Apache-2.0, Zlib", "(MIT OR Apache-2.0) AND Zlib"),
        ("as its MODULE_LICENSE says", "NOASSERTION"),
    ],
)
def test_what_describe_says_of_a_licence_becomes_an_spdx_expression(described, expression):
    assert str(sbom.license_expression(described)) == expression


def test_a_licence_or_supplier_that_is_no_spdx_is_named_with_the_fix():
    with pytest.raises(BuildError, match=r"^greeter: licence 'MIT AND \(' is no SPDX expression .*; fix env.Describe$"):
        sbom.package(info.Component("greeter", "0.9", "MIT AND ("))
    with pytest.raises(BuildError, match=r"^greeter: supplier 'Matt' is no SPDX actor; give env.Describe supplier="):
        sbom.package(info.Component("greeter", "0.9", "MIT", supplier="Matt"))


def test_the_image_contains_its_packages_and_each_depends_on_what_it_declares(project, document):
    described = related(document, RelationshipType.DESCRIBES)
    assert described == {("SPDXRef-DOCUMENT", "rootfs.ext4"), ("SPDXRef-DOCUMENT", "opensbi")}
    contains = related(document, RelationshipType.CONTAINS)
    in_image = {name for image, name in contains if image == "rootfs.ext4"}
    assert {"busybox", "dropbear", "greeter", "libgreet", "hello", "rvhello"} <= in_image
    assert "linux" not in in_image and "opensbi" not in in_image
    assert ("opensbi", "linux") in contains  # its payload
    depends = related(document, RelationshipType.DEPENDS_ON)
    assert {("greeter", "libgreet"), ("rootfs.ext4", "linux"), ("opensbi", "linux"), ("rvhello", "linux")} <= depends
    assert project.info["greeter"]["depends"] == ["libgreet"]


def test_each_variant_gets_its_own_document_and_the_same_sources_the_same_bytes(project):
    with open(project.file(SBOM), "rb") as f:
        first = f.read()
    os.remove(project.file(SBOM))
    project.scons("sbom", "variant=rv64,rv32")
    with open(project.file(SBOM), "rb") as f:
        assert f.read() == first
    assert validate_full_spdx_document(parse_file(project.file("build/rv32/sbom.spdx.json"))) == []


def test_a_build_that_does_not_ask_for_it_does_not_import_spdx_tools(project):
    importing = Project(project.path, local={"greeter": "greeter"}, env=dict(os.environ, PYTHONPROFILEIMPORTTIME="1"))
    result = importing.scons("-q", "image", check=False)
    assert "rvbuild.info" in result.stderr and "spdx_tools" not in result.stderr


def test_an_unknown_licence_fails_in_one_line_and_leaves_no_document(project):
    sconscript = "components/greeter/SConscript"
    project.edit(sconscript, lambda text: text.replace('"MIT, Public domain"', '"MIT, GPL2"'))
    try:
        result = project.scons("sbom", check=False)
    finally:
        project.edit(sconscript, lambda text: text.replace('"MIT, GPL2"', '"MIT, Public domain"'))
    assert result.returncode == 2
    error = [line for line in result.stderr.splitlines() if "GPL2" in line]
    assert len(error) == 1 and "Traceback" not in result.stderr, result.stderr
    assert error[0].startswith(f"scons: *** [{SBOM}] the SBOM of rv64 is not valid SPDX 2.3"), error
    assert "SPDXRef-greeter: Unrecognized license reference: GPL2" in error[0]
    assert not os.path.exists(project.file(SBOM)) and not os.path.exists(project.file(f"{SBOM}.tmp"))
