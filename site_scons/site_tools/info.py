"""SCons tool: `info`, `graph`, `legal-info`, `sbom` and `build-time` for the variants being built.

env.Describe(version, license, license_files, source, tree)   in a component's SConscript: what
                                                             `info`, `legal-info` and `sbom` say of it
                                                             (supplier=: who supplies it, if not the
                                                             host of its first URL)
env.InfoTargets(settings, outputs, parts)                    once per variant, after its components
                                                             (parts: rvbuild.components.for_image's)

info         prints each variant's settings, components (version, licence, source and checksum)
             and outputs, and writes the same to build/<variant>/info.json
graph        build/<variant>/graph.dot, and graph.svg through Graphviz: the parts of the variant and
             what each is built from, read off SCons' own dependency graph
legal-info   build/<variant>/legal-info/: manifest.csv, the source files, the licence texts
sbom         build/<variant>/sbom.spdx.json: the image as an SPDX 2.3 document (rvbuild.sbom)
build-time   build/<variant>/build-time.png: how long each component's steps took when they last ran
             (every build appends its timed steps to build/<variant>/logs/build-time.log)
"""

import atexit
import collections
import json
import os
from dataclasses import asdict

import SCons.Script
from SCons.Node.FS import Dir

from build_action import action
from rvbuild import components, hosttools, info
from rvbuild.commands import Command
from rvbuild.run import output

COMMANDS = [
    Command(
        "info",
        "settings, components (version, licence, source, checksum), outputs (and as JSON in build/<variant>/info.json)",
        waits=False,
    ),
    Command("graph", "build/<variant>/graph.svg (and .dot): what each part is built from"),
    Command("legal-info", "build/<variant>/legal-info/: manifest.csv, the sources, the licence texts"),
    Command("sbom", "build/<variant>/sbom.spdx.json: the image's SBOM (SPDX 2.3): components, licences, checksums"),
    Command("build-time", "build/<variant>/build-time.png: how long each component took when it last built"),
]


def Describe(env, version, license, license_files=(), source=None, tree=None, own_dir=None, supplier=None, **variables):
    """`source` and `tree` as given to and returned by env.SourceTree; neither for the project's own
    components, whose source is their directory (`own_dir`, if not the SConscript's). `supplier` as
    SPDX names an actor ("Organization: Debian", "Person: Jane Doe"); by default from `source`.
    `variables`: COMPONENT and DEPENDS, if not the environment's (the programs of a build share one)."""
    of = {"COMPONENT": env.get("COMPONENT"), "DEPENDS": env.get("DEPENDS", []), **variables}
    local = env.get(f"{of['COMPONENT']}_src")
    supplier = supplier or info.supplier_of(source)
    source = getattr(tree, "source", None) or source  # the alternative the tree was unpacked from
    own_dir = None if source else own_dir or env.Dir(".").srcnode()
    component = info.Component(
        of["COMPONENT"],
        f"{version} (your tree)" if local else version,
        license,
        list(license_files),
        info.origin_of(source, local_tree=local and tree.path, repository_dir=own_dir and own_dir.path),
        archive=os.path.join(env["dl"], source.filename) if source and not local else "",
        tree=tree.path if tree else own_dir.abspath,
        unpack=(tree and tree.unpack) or {},
        depends=list(of["DEPENDS"]),
        supplier=supplier,
    )
    variants = _VARIANTS
    variants[env["VARIANT"]].components[component.name] = component
    # legal-info copies from these: the tree as unpacked (its files are not targets of their own),
    # or the files of the component's own folder, listed only if legal-info is built
    variants.inputs[env["VARIANT"]] += tree.nodes if tree else [own_dir]
    return component


def _print_info(target, source, env):
    for variant in _VARIANTS.values():
        path = env.File(f"#{variant.build_dir}/info.json").abspath
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            json.dump(variant.as_dict(), f, indent=2)
        print(f"{variant.text()}\n(as JSON: {variant.build_dir}/info.json)\n")


def _write_dot(target, source, env):
    with open(target[0].abspath, "w") as f:
        f.write(source[0].read())


def _write_svg(target, source, env):
    svg = output(["dot", "-Tsvg", source[0].abspath], binary=True)
    with open(target[0].abspath, "wb") as f:
        f.write(svg)
    print(f"graph: {target[0].path}")


def _write_legal_info(target, source, env):
    info.write_legal_info(_VARIANTS[env["VARIANT"]], target[0].dir.abspath)
    print(f"legal-info: {target[0].dir.path}/ (manifest.csv, sources/, licenses/)")


def _write_sbom(target, source, env, roles, image_depends):
    from rvbuild import sbom  # spdx-tools takes half a null build's time to import: only when asked

    sbom.write(_VARIANTS[env["VARIANT"]], roles, image_depends, target[0].abspath)
    print(f"sbom: {target[0].path}")


def _draw_build_time(target, source, env):
    log = env.File("$LOG_DIR/build-time.log").abspath
    if not os.path.exists(log):
        print(f"build-time: nothing timed yet for {env['VARIANT']}; build first (scons image)")
        return 0
    png = env.File(f"#build/{env['VARIANT']}/build-time.png").abspath
    durations = info.latest_durations(log)
    info.draw_build_times(durations, f"{env['VARIANT']}: build time per component", png)
    print(f"build-time: {os.path.relpath(png)}")
    for name, seconds in durations.items():
        print(f"  {name:<10} {seconds:8.1f} s")
    return 0


def InfoTargets(env, settings, outputs, parts):
    variant = _VARIANTS[env["VARIANT"]]
    variant.settings, variant.outputs = settings, {key: node.path for key, node in outputs.items()}
    build = f"#build/{env['VARIANT']}"

    # Declared only when asked for: walking the graph and writing the manifest is work a build
    # (a null build above all) has no use for.
    requested = set(SCons.Script.COMMAND_LINE_TARGETS)
    if "graph" in requested:
        hosttools.require("dot")
        edges = info.dependency_edges(list(outputs.values()))
        dot = env.Command(f"{build}/graph.dot", env.Value(info.dot(env["VARIANT"], edges)), action(_write_dot))
        env.Alias("graph", env.Command(f"{build}/graph.svg", dot, action(_write_svg)))
    if "legal-info" in requested:
        archives = [env.File(c.archive) for c in variant.components.values() if c.archive]
        legal = env.Command(
            f"{build}/legal-info/manifest.csv",
            [env.Value(variant.manifest_csv()), *archives, *_legal_inputs(_VARIANTS.inputs[env["VARIANT"]])],
            action(_write_legal_info),
        )
        env.Alias("legal-info", legal)
    if "sbom" in requested:
        roles, image_depends = {c.name: c.role for c in components.listed(parts)}, list(parts["rootfs"].depends)
        described = [roles, image_depends, variant.outputs["image"], [asdict(c) for c in variant.components.values()]]
        with open(os.path.join(os.path.dirname(info.__file__), "sbom.py")) as f:
            code = f.read()  # what else decides the document
        sbom = env.Command(
            f"{build}/sbom.spdx.json",
            env.Value(json.dumps(described)),
            action(_write_sbom, signature=code, roles=roles, image_depends=image_depends),
        )
        env.Alias("sbom", sbom)
    env.AlwaysBuild(env.Alias(f"build-time-{env['VARIANT']}", [], action(_draw_build_time)))
    env.Alias("build-time", f"build-time-{env['VARIANT']}")


def _legal_inputs(inputs):
    """`inputs` (Describe's) with each folder of the project's own (a Dir) as the files in it."""
    return [node for entry in inputs for node in (entry.glob("*") if isinstance(entry, Dir) else [entry])]


class _Variants(dict):
    """info.Variant by build name, made on first use."""

    def __init__(self):
        super().__init__()
        self.inputs = collections.defaultdict(list)

    def __missing__(self, name):
        self[name] = info.Variant(name, f"build/{name}", {})
        return self[name]


_VARIANTS = _Variants()  # of this scons run


def generate(env):
    if getattr(env, "InfoTargets", None):  # loaded already, by a tool that needs it
        return
    env.AlwaysBuild(env.Alias("info", [], action(_print_info)))
    env.AddMethod(Describe)
    env.AddMethod(InfoTargets)
    atexit.register(info.append_build_times, lambda variant: env.File(f"#build/{variant}/logs/build-time.log").abspath)


def exists(env):
    return True
