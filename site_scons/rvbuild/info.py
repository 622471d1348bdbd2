"""What a build is made of and what it did: the data behind `scons info`, `scons graph`,
`scons legal-info`, `scons sbom` (rvbuild.sbom) and `scons build-time`.

Each component describes itself (version, licence, where its source comes from); the variant adds
its settings and outputs. Build steps are timed as they run and appended to a log per variant.
"""

import io
import json
import os
import shutil
import threading
import time
from dataclasses import asdict, dataclass, field
from urllib.parse import urlsplit

from rvbuild import BuildError
from rvbuild.explain import component_of
from rvbuild.fetch import GitSource


@dataclass
class Component:
    name: str
    version: str
    license: str
    license_files: list = field(default_factory=list)
    origin: dict = field(default_factory=dict)  # where the source comes from, in words a user can follow
    archive: str = ""  # the source file in the download cache
    tree: str = ""  # the unpacked (or the user's own) source tree
    unpack: dict = field(default_factory=dict)  # rvbuild.unpack.unpack's subdir, inner and patches for it
    depends: list = field(default_factory=list)  # what it is built with: its DEPENDS
    supplier: str = "NOASSERTION"  # as SPDX names an actor: "Organization: busybox.net"


def origin_of(source, local_tree=None, repository_dir=None):
    """`source` (a Source or GitSource) as plain data; or the user's own tree, or this repository."""
    if local_tree:
        return {"local tree": local_tree}
    if repository_dir:
        return {"in this repository": repository_dir}
    if isinstance(source, GitSource):
        return {"git": source.url, "commit": source.commit}
    origin = {"file": source.filename, "sha256": source.sha256}
    if source.size:
        origin["size"] = source.size
    if source.urls:
        origin["urls"] = list(source.urls)
    if source.debian:
        kind = "binary package" if source.debian.binary else "source package"
        version = f"={source.debian.version}" if source.debian.version else ""
        origin["debian"] = f"{kind} {source.debian.package}{version}"
    return origin


FORGES = ("github.com", "gitlab.com", "codeberg.org")  # hosts of many projects: the owner supplies


def supplier_of(source):
    """Who supplies `source` (None: the project's own), as SPDX names an actor: the host of its
    first URL (on a forge, the repository's owner), or Debian for a file that only apt gets."""
    if source is None:
        return "Organization: rvbuild"
    url = urlsplit(source.url if isinstance(source, GitSource) else next(iter(source.urls), ""))
    owner = url.path.strip("/").split("/")[0]
    if url.hostname in FORGES and owner:
        return f"Organization: {owner}"
    if url.hostname:
        return f"Organization: {url.hostname.removeprefix('www.')}"
    return "Organization: Debian" if getattr(source, "debian", None) else "NOASSERTION"


@dataclass
class Variant:
    name: str
    build_dir: str
    settings: dict
    outputs: dict = field(default_factory=dict)
    components: dict = field(default_factory=dict)

    def as_dict(self):
        return asdict(self)

    def text(self):
        lines = [f"{self.name} ({self.build_dir}/)"]
        lines += [f"  {key:<20} {value}" for key, value in self.settings.items()]
        lines.append("components:")
        for component in self.components.values():
            lines.append(f"  {component.name:<10} {component.version:<14} {component.license}")
            lines += [f"  {'':<10} {key}: {words(value)}" for key, value in component.origin.items()]
            if component.depends:
                lines.append(f"  {'':<10} built with: {', '.join(component.depends)}")
        lines.append("outputs:")
        lines += [f"  {key:<20} {path}" for key, path in self.outputs.items()]
        return "\n".join(lines)

    def manifest_csv(self):
        """legal-info's manifest: one row per component."""
        import csv  # here, not at the top: most builds never need it

        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["component", "version", "license", "license files", "source", "sha256 or commit", "from"])
        for c in self.components.values():
            origin = c.origin
            source = origin.get("file") or origin.get("git") or origin.get("local tree") or origin["in this repository"]
            where = [*origin.get("urls", []), origin.get("debian", "")] if "file" in origin else []
            checksum = origin.get("sha256") or origin.get("commit", "")
            writer.writerow(
                [
                    c.name,
                    c.version,
                    c.license,
                    " ".join(c.license_files),
                    source,
                    checksum,
                    " ".join(filter(None, where)),
                ]
            )
        return out.getvalue()


def words(value):
    return ", ".join(map(str, value)) if isinstance(value, list) else str(value)


def write_legal_info(variant, destination):
    """The manifest, each component's source file and its licence texts, under `destination`."""
    if os.path.isdir(destination):
        shutil.rmtree(destination)
    os.makedirs(os.path.join(destination, "sources"))
    for c in variant.components.values():
        if c.archive:  # cached files are never written in place: a hard link is a copy
            _link_or_copy(c.archive, os.path.join(destination, "sources", os.path.basename(c.archive)))
        elif c.tree and "in this repository" in c.origin:
            shutil.copytree(c.tree, os.path.join(destination, "sources", c.name))
        for name in c.license_files:
            original, copy = os.path.join(c.tree, name), os.path.join(destination, "licenses", c.name, name)
            if not os.path.isfile(original):
                raise BuildError(
                    f"{c.name}: licence file {name} is not in {c.tree}; fix the list given to env.Describe "
                    f"in components/{c.name}/SConscript"
                )
            os.makedirs(os.path.dirname(copy), exist_ok=True)
            shutil.copy2(original, copy)
    with open(os.path.join(destination, "manifest.csv"), "w") as f:
        f.write(variant.manifest_csv())


def _link_or_copy(path, copy):
    try:
        os.link(path, copy)
    except OSError:
        shutil.copyfile(path, copy)


def dependency_edges(outputs):
    """(from, to) pairs between the parts of a variant, read off SCons' graph: starting from the
    variant's output nodes, a node built under build/<variant>/<part>/ belongs to that part, an
    unpacked tree under build/src/<tree>/ is a part of its own ("src/<tree>")."""
    edges, seen = set(), set()

    def part_of(node):
        path = getattr(node, "path", "")  # Value nodes have none
        component = component_of(path) if path else None
        if component:
            return component[1]
        parts = path.split(os.sep)
        return f"src/{parts[2]}" if parts[:2] == ["build", "src"] and len(parts) > 3 else None

    def walk(node, owner):
        for child in node.children(scan=0):
            child_owner = part_of(child)
            if child_owner and child_owner != owner:
                edges.add((child_owner, owner))
            if child_owner and child.path not in seen:
                seen.add(child.path)
                walk(child, child_owner)

    for node in outputs:
        seen.add(node.path)
        walk(node, part_of(node))
    return sorted(edges)


def dot(name, edges):
    lines = [f'digraph "{name}" {{', "  rankdir=LR;", "  node [shape=box, fontname=sans];"]
    for part in sorted({part for edge in edges for part in edge}):
        style = ", style=dashed" if part.startswith("src/") else ""
        lines.append(f'  "{part}" [label="{part}"{style}];')
    lines += [f'  "{a}" -> "{b}";' for a, b in edges]
    return "\n".join(lines + ["}"]) + "\n"


# Build times: every timed step of this scons run, written to each variant's log at exit.
_steps = []
_steps_lock = threading.Lock()
BUILD_STARTED = time.time()


def record_step(target_path, started, ended):
    with _steps_lock:
        _steps.append((target_path, started, ended))


def append_build_times(log_for_variant):
    """Append this run's steps to build/<variant>/logs/build-time.log (JSON lines);
    `log_for_variant(variant)` names the log."""
    with _steps_lock:
        steps = list(_steps)
    for target_path, started, ended in steps:
        component = component_of(target_path)
        if not component:
            continue
        log = log_for_variant(component[0])
        os.makedirs(os.path.dirname(log), exist_ok=True)
        with open(log, "a") as f:
            entry = dict(build=BUILD_STARTED, component=component[1], target=target_path, start=started, end=ended)
            f.write(json.dumps(entry) + "\n")


def latest_durations(log):
    """{component: seconds} from each target's latest build step in the log."""
    latest = {}
    with open(log) as f:
        for line in f:
            entry = json.loads(line)
            latest[entry["target"]] = entry
    durations = {}
    for entry in latest.values():
        durations[entry["component"]] = durations.get(entry["component"], 0) + entry["end"] - entry["start"]
    return dict(sorted(durations.items(), key=lambda item: -item[1]))


def draw_build_times(durations, title, png):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(8, 0.5 * len(durations) + 1.5))
    names = list(durations)[::-1]
    axes.barh(names, [durations[name] for name in names])
    axes.set_xlabel("seconds (the latest build of each step)")
    axes.set_title(title)
    figure.tight_layout()
    figure.savefig(png)
    pyplot.close(figure)
