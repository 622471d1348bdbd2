"""Components are folders, found by discovery rather than listed anywhere.

- components/<name>/SConscript declares its role in data, as plain top-level assignments:
  ROLE = "kernel", "firmware", "package" or "rootfs"; a package may add DEFAULT = False to stay
  out of the image unless a variant or `packages=` selects it. DEPENDS names what it is built
  with: components by name, or roles ("kernel", "firmware"; "packages", "programs", "modules" for
  all of the image's); its SConscript imports them as `depends`, each as the SConscript of that
  component returned it (a list of them for a plural role). OPTIONS = {"name": "help"}: options
  of its own (`scons name=value`), read as env["name"].
- programs/<name>/ is a program of the user's, and modules/<name>/ an out-of-tree kernel module
  (built with the kernel): their folder says their role.
Names are unique across the three folders: each builds in build/<variant>/<name>/.
"""

import ast
import os
from dataclasses import dataclass, field

from rvbuild import BuildError

DECLARED_ROLES = ("kernel", "firmware", "package", "rootfs")  # by components/<name>/SConscript
FOLDER_ROLES = {"programs": "program", "modules": "module"}
FOLDER_DEPENDS = {"program": (), "module": ("kernel",)}
PLURAL_ROLES = {"packages": "package", "programs": "program", "modules": "module"}


@dataclass(frozen=True)
class Component:
    name: str
    role: str
    directory: str  # relative to the project, e.g. components/busybox
    default: bool = True
    depends: tuple = ()
    options: dict = field(default_factory=dict, compare=False, hash=False)


def declared(sconscript, wanted=str.isupper):
    """The literal assignments at the top level of `sconscript` to the names `wanted` takes."""
    with open(sconscript) as f:
        tree = ast.parse(f.read(), sconscript)
    values = {}
    for statement in tree.body:
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            name = getattr(statement.targets[0], "id", "")
            if wanted(name):
                try:
                    values[name] = ast.literal_eval(statement.value)
                except ValueError:
                    raise BuildError(f"{sconscript}:{statement.lineno}: {name} must be a plain value") from None
    return values


def _checked_depends(depends, path, name="DEPENDS"):
    if not (isinstance(depends, (list, tuple)) and all(isinstance(entry, str) for entry in depends)):
        raise BuildError(f'{path}: {name} must be a list of names, e.g. {name} = ["zlib"]')
    return tuple(depends)


def _component(project, folder, name):
    directory = f"{folder}/{name}"
    if folder in FOLDER_ROLES:
        depends = FOLDER_DEPENDS[FOLDER_ROLES[folder]]
        program_py = os.path.join(project, directory, "program.py")
        if folder == "programs" and os.path.exists(program_py):  # `depends`, as a program says it
            depends = _checked_depends(
                declared(program_py, {"depends"}.__contains__).get("depends", ()), program_py, "depends"
            )
        return Component(name, FOLDER_ROLES[folder], directory, depends=depends)
    sconscript = os.path.join(project, directory, "SConscript")
    values = declared(sconscript)
    role = values.get("ROLE")
    if role not in DECLARED_ROLES:
        raise BuildError(f"{sconscript} must declare its role: ROLE = one of {', '.join(map(repr, DECLARED_ROLES))}")
    depends, options = _checked_depends(values.get("DEPENDS", ()), sconscript), values.get("OPTIONS", {})
    if not (isinstance(options, dict) and all(isinstance(v, str) for v in options.values())):
        raise BuildError(f'{sconscript}: OPTIONS must map each option\'s name to its help, e.g. {{"url": "..."}}')
    return Component(name, role, directory, bool(values.get("DEFAULT", True)), depends, options)


def _is_component(folder, path):
    return os.path.isfile(os.path.join(path, "SConscript")) if folder == "components" else os.path.isdir(path)


def discover(project):
    """Every component of the project at `project`, by name."""
    found = {}
    for folder in ("components", *FOLDER_ROLES):
        path = os.path.join(project, folder)
        names = sorted(os.listdir(path)) if os.path.isdir(path) else []
        for name in names:
            if name.startswith(".") or not _is_component(folder, os.path.join(path, name)):
                continue
            if name in found:
                raise BuildError(f"{folder}/{name} and {found[name].directory} share a name; rename one")
            found[name] = _component(project, folder, name)
    return found


def with_role(found, role):
    return [component for component in found.values() if component.role == role]


def one(found, role, name=None):
    """The component of `role` (named `name`, if several may have it)."""
    candidates = [c for c in with_role(found, role) if name is None or c.name == name]
    if len(candidates) != 1:
        names = ", ".join(c.name for c in with_role(found, role)) or "none"
        wanted = f"{role} {name!r}" if name else f"one {role}"
        raise BuildError(f"the project needs {wanted} in components/; it has: {names}")
    return candidates[0]


def packages(found, extra=(), users=()):
    """The packages an image holds: every default one, plus `extra` (names), plus the packages
    those and `users` (its programs) DEPEND on, and so on."""
    available = {c.name: c for c in with_role(found, "package")}
    unknown = [name for name in extra if name not in available]
    if unknown:
        raise BuildError(
            f"unknown package(s) {', '.join(unknown)}; choose from: {', '.join(available)} "
            f'(folders in components/ with ROLE = "package")'
        )
    chosen = set()

    def choose(package, chain):
        chain = (*chain, package.name)
        for entry in package.depends:
            if entry in chain:
                raise BuildError(f"packages depend on each other in a circle: {' -> '.join((*chain, entry))}")
            if entry not in found and entry not in (*DECLARED_ROLES, *PLURAL_ROLES):
                raise BuildError(
                    f"{' -> '.join((*chain, entry))}: {package.directory} depends on {entry!r}, which is no "
                    f"component; name one of: {', '.join(found)}"
                )
            if entry in available and entry not in chosen:
                choose(available[entry], chain)
        if package.role == "package":
            chosen.add(package.name)

    for package in [*available.values(), *users]:
        if package.default or package.name in extra:
            choose(package, ())
    return [c for c in available.values() if c.name in chosen]


def for_image(found, firmware, extra_packages=()):
    """What one variant builds, by role: the kernel, the firmware named `firmware`, the packages
    (the default ones and `extra_packages`), every program and module, and the root filesystem."""
    return dict(
        kernel=one(found, "kernel"),
        firmware=one(found, "firmware", firmware),
        packages=packages(found, extra_packages, with_role(found, "program")),
        programs=with_role(found, "program"),
        modules=with_role(found, "module"),
        rootfs=one(found, "rootfs"),
    )


def listed(parts):
    """The components of for_image(...) in one list."""
    return [c for part in parts.values() for c in (part if isinstance(part, list) else [part])]


def wire(found, parts, built, chain=()):
    """What `found` imports as `depends`: for each entry of its DEPENDS, built(component, chain) of
    the component it names (a list, for a plural role). `parts`: for_image(...); `chain`: the
    components whose DEPENDS led here, so that a circle is an error naming it."""
    chain = (*chain, found.name)
    depends = {}
    for entry in found.depends:
        named = _named(entry, parts)
        if entry not in PLURAL_ROLES:
            if not named:
                raise BuildError(
                    f"{' -> '.join(chain)}: {found.directory} depends on {entry!r}, which is not in this image"
                )
        for component in named:
            if component.name in chain:
                raise BuildError(
                    f"components depend on each other in a circle: {' -> '.join((*chain, component.name))}"
                )
        if entry in PLURAL_ROLES:
            depends[entry] = [built(component, chain) for component in named]
            continue
        try:
            depends[entry] = built(named[0], chain)
        except DependencyError:
            raise
        except BuildError as error:  # this variant cannot build what `found` needs
            raise DependencyError(f"{' -> '.join((*chain, named[0].name))}: {error}") from None
    return depends


def _named(entry, parts):
    """The components a DEPENDS entry names: all of a plural role's, or the one of that name or role."""
    if entry in PLURAL_ROLES:
        return [c for c in listed(parts) if c.role == PLURAL_ROLES[entry]]
    return [c for c in listed(parts) if entry in (c.name, c.role)][:1]


def reaches(found, parts, role):
    """Whether `found` is of `role` or depends on one, through its DEPENDS and theirs."""
    return found.role == role or any(reaches(c, parts, role) for e in found.depends for c in _named(e, parts))


class DependencyError(BuildError):
    """A component that cannot be built for what depends on it, the chain named."""
