"""Components are folders, found by discovery rather than listed anywhere.

- components/<name>/SConscript declares its role in data, as plain top-level assignments:
  ROLE = "kernel", "firmware", "package" or "rootfs"; a package may add DEFAULT = False to stay
  out of the image unless a variant or `packages=` selects it.
- programs/<name>/ is a program of the user's, and modules/<name>/ an out-of-tree kernel module:
  their folder says their role.
Names are unique across the three folders: each builds in build/<variant>/<name>/.
"""

import ast
import os
from dataclasses import dataclass

from rvbuild import BuildError

DECLARED_ROLES = ("kernel", "firmware", "package", "rootfs")  # by components/<name>/SConscript
FOLDER_ROLES = {"programs": "program", "modules": "module"}


@dataclass(frozen=True)
class Component:
    name: str
    role: str
    directory: str  # relative to the project, e.g. components/busybox
    default: bool = True


def declared(sconscript):
    """The upper-case literal assignments at the top level of `sconscript`."""
    with open(sconscript) as f:
        tree = ast.parse(f.read(), sconscript)
    values = {}
    for statement in tree.body:
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            name = getattr(statement.targets[0], "id", "")
            if name.isupper():
                try:
                    values[name] = ast.literal_eval(statement.value)
                except ValueError:
                    raise BuildError(f"{sconscript}:{statement.lineno}: {name} must be a plain value") from None
    return values


def _component(project, folder, name):
    directory = f"{folder}/{name}"
    if folder in FOLDER_ROLES:
        return Component(name, FOLDER_ROLES[folder], directory)
    sconscript = os.path.join(project, directory, "SConscript")
    values = declared(sconscript)
    role = values.get("ROLE")
    if role not in DECLARED_ROLES:
        raise BuildError(f"{sconscript} must declare its role: ROLE = one of {', '.join(map(repr, DECLARED_ROLES))}")
    return Component(name, role, directory, bool(values.get("DEFAULT", True)))


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


def packages(found, extra=()):
    """The packages an image holds: every default one, plus `extra` (names)."""
    available = with_role(found, "package")
    unknown = [name for name in extra if name not in {c.name for c in available}]
    if unknown:
        raise BuildError(
            f"unknown package(s) {', '.join(unknown)}; choose from: {', '.join(c.name for c in available)} "
            f'(folders in components/ with ROLE = "package")'
        )
    return [c for c in available if c.default or c.name in extra]


def for_image(found, firmware, extra_packages=()):
    """What one variant builds, by role: the kernel, the firmware named `firmware`, the packages
    (the default ones and `extra_packages`), every program and module, and the root filesystem."""
    return dict(
        kernel=one(found, "kernel"),
        firmware=one(found, "firmware", firmware),
        packages=packages(found, extra_packages),
        programs=with_role(found, "program"),
        modules=with_role(found, "module"),
        rootfs=one(found, "rootfs"),
    )


def listed(parts):
    """The components of for_image(...) in one list."""
    return [c for part in parts.values() for c in (part if isinstance(part, list) else [part])]
