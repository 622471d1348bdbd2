"""`scons sbom`: a variant's image as an SPDX 2.3 document in JSON, made and validated with
spdx-tools (imported by this step alone: it takes half as long as a null build).

The document describes the root filesystem image and the firmware. Each component is a package
with what its env.Describe says: version, declared licence (as an SPDX expression), download
location (its source's first upstream URL), the pinned sha256 of its source, supplier. The image
CONTAINS the components of the plural roles its DEPENDS names (packages, programs, modules: their
files are in it) and DEPENDS_ON the others (the kernel, whose modules it holds); a firmware
CONTAINS the kernel, its payload; each component DEPENDS_ON what its DEPENDS names. A document
that does not validate is not written.
"""

import hashlib
import io
import json
import os
import re
import threading
from datetime import UTC, datetime

from license_expression import ExpressionError
from spdx_tools.common.spdx_licensing import spdx_licensing
from spdx_tools.spdx.model import (
    Actor,
    ActorType,
    Checksum,
    ChecksumAlgorithm,
    CreationInfo,
    Document,
    ExtractedLicensingInfo,
    Package,
    Relationship,
    RelationshipType,
    SpdxNoAssertion,
)
from spdx_tools.spdx.parser.actor_parser import ActorParser
from spdx_tools.spdx.parser.error import SPDXParsingError
from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document
from spdx_tools.spdx.validation.uri_validators import validate_download_location
from spdx_tools.spdx.writer.json.json_writer import write_document_to_stream

from rvbuild import BUILD_EPOCH, BuildError
from rvbuild.components import PLURAL_ROLES
from rvbuild.files import write_if_changed
from rvbuild.info import words

DOCUMENT = "SPDXRef-DOCUMENT"
RVBUILD = Actor(ActorType.ORGANIZATION, "rvbuild")
CREATORS = [Actor(ActorType.TOOL, "rvbuild"), RVBUILD]
CONTAINS, DEPENDS_ON = RelationshipType.CONTAINS, RelationshipType.DEPENDS_ON

# Licence names env.Describe may give that are not SPDX identifiers: what the document says instead.
RENAMED = {"Public domain": "LicenseRef-Public-domain"}
LICENSE_REFS = [
    ExtractedLicensingInfo(
        "LicenseRef-Public-domain",
        "Public domain",
        "Public domain",
        comment="No licence: the parts so marked are in the public domain; the component's licence files say which.",
    )
]
UNSTATED = ("", "as its MODULE_LICENSE says", "the project's own")  # these name no licence: NOASSERTION
REMARK = re.compile(r"\s*\([a-z][a-z ]*\)$")  # "GPL-2.0-or-later (tests)": the part it covers
# license_expression's parser is not thread-safe, and scons -j makes the variants' documents at once.
ONE_AT_A_TIME = threading.Lock()


def license_expression(text):
    """env.Describe's licence, "MIT, BSD-2-Clause, Public domain" (a comma between the licences of
    different parts), as an SPDX expression: MIT AND BSD-2-Clause AND LicenseRef-Public-domain."""
    if text.strip() in UNSTATED:
        return SpdxNoAssertion()
    terms = [term for term in (REMARK.sub("", term.strip()) for term in text.split(",")) if term]
    return spdx_licensing.parse(" AND ".join(f"({RENAMED.get(term, term)})" for term in terms))


def spdx_id(name):
    return "SPDXRef-" + re.sub(r"[^A-Za-z0-9.-]", "-", name)


def download_location(origin):
    """The first URL of the source that SPDX takes for a download location (a git one at its commit)."""
    urls = [f"git+{origin['git']}@{origin['commit']}"] if "git" in origin else origin.get("urls", [])
    return next((url for url in urls if not validate_download_location(url)), SpdxNoAssertion())


def supplier(component):
    if component.supplier == "NOASSERTION":
        return SpdxNoAssertion()
    try:
        return ActorParser.parse_actor(component.supplier)
    except SPDXParsingError:
        raise BuildError(
            f"{component.name}: supplier {component.supplier!r} is no SPDX actor; give env.Describe "
            'supplier="Organization: <name>" or "Person: <name>"'
        ) from None


def package(component):
    c, origin = component, component.origin
    try:
        declared = license_expression(c.license)
    except (ExpressionError, IndexError) as error:  # an IndexError: license_expression on "MIT AND ("
        raise BuildError(f"{c.name}: licence {c.license!r} is no SPDX expression ({error}); fix env.Describe") from None
    return Package(
        spdx_id(c.name),
        c.name,
        download_location(origin),
        version=c.version,
        supplier=supplier(c),
        files_analyzed=False,
        checksums=[Checksum(ChecksumAlgorithm.SHA256, origin["sha256"])] if "sha256" in origin else [],
        source_info="; ".join(f"{key}: {words(value)}" for key, value in origin.items()),
        license_concluded=SpdxNoAssertion(),
        license_declared=declared,
        license_comment=f"env.Describe says: {c.license}; licence texts: {' '.join(c.license_files) or 'none named'}",
        copyright_text=SpdxNoAssertion(),
    )


def relationships(image, roles, image_depends, components):
    def named(entry):
        """The packages a DEPENDS entry names: a component, or those of a role."""
        return [spdx_id(n) for n, role in roles.items() if entry in (n, role) or role == PLURAL_ROLES.get(entry)]

    firmware, kernel = named("firmware"), named("kernel")
    listed = [Relationship(DOCUMENT, RelationshipType.DESCRIBES, target) for target in [image, *firmware]]
    for entry in image_depends:
        listed += [Relationship(image, CONTAINS if entry in PLURAL_ROLES else DEPENDS_ON, p) for p in named(entry)]
    listed += [Relationship(f, CONTAINS, k) for f in firmware for k in kernel]  # the kernel is its payload
    for c in components:
        listed += [Relationship(spdx_id(c.name), DEPENDS_ON, p) for entry in c.depends for p in named(entry)]
    return listed


def document(variant, roles, image_depends):
    """`variant`: an rvbuild.info.Variant; `roles`: each of its components' role; `image_depends`:
    the root filesystem's DEPENDS."""
    rootfs = next(name for name, role in roles.items() if role == "rootfs")
    roles = {name: role for name, role in roles.items() if name != rootfs}
    undescribed = sorted(set(roles) - set(variant.components))
    if undescribed:
        raise BuildError(f"{', '.join(undescribed)}: no env.Describe(version, licence, ...) in its SConscript")
    components = list(variant.components.values())
    packages = [package(c) for c in components]
    # The image has no version of its own: what it is made of stands for one (and names the document).
    made_of = json.dumps([[c.name, c.version, c.license, c.origin] for c in components], sort_keys=True)
    version = hashlib.sha256(made_of.encode()).hexdigest()[:16]
    image = Package(
        spdx_id(rootfs),
        os.path.basename(variant.outputs["image"]),
        SpdxNoAssertion(),
        version=version,
        file_name=variant.outputs["image"],
        supplier=RVBUILD,
        files_analyzed=False,
        license_concluded=SpdxNoAssertion(),
        license_declared=SpdxNoAssertion(),
        copyright_text=SpdxNoAssertion(),
        comment=f"The root filesystem image of {variant.name}, built by rvbuild; its version is a digest of its parts.",
    )
    expressions = [p.license_declared for p in packages if p.license_declared != SpdxNoAssertion()]
    used = {key for expression in expressions for key in spdx_licensing.license_keys(expression)}
    return Document(
        CreationInfo(
            "SPDX-2.3",
            DOCUMENT,
            f"rvbuild {variant.name} image",
            f"https://rvbuild.invalid/spdx/{variant.name}-{version}",  # rvbuild has no site: .invalid says so
            CREATORS,
            datetime.fromtimestamp(BUILD_EPOCH, UTC),  # the build's date: the same document every time
        ),
        packages=[image, *packages],
        relationships=relationships(image.spdx_id, roles, image_depends, components),
        extracted_licensing_info=[ref for ref in LICENSE_REFS if ref.license_id in used],
    )


def write(variant, roles, image_depends, path):
    """The document, validated, to `path` (whole or not at all)."""
    with ONE_AT_A_TIME:
        spdx = document(variant, roles, image_depends)
        problems = validate_full_spdx_document(spdx)
    if problems:
        first = problems[0]
        where = first.context.spdx_id or first.context.parent_id or DOCUMENT
        raise BuildError(
            f"the SBOM of {variant.name} is not valid SPDX 2.3 ({len(problems)} problem(s)), so it is not written; "
            f"{where}: {' '.join(first.validation_message.split())} (each package is what env.Describe says of it)"
        )
    text = io.StringIO()
    write_document_to_stream(spdx, text, validate=False)
    write_if_changed(path, text.getvalue())
