"""Say what a build rebuilt and why, in one line.

The deciders SCons asks "has this dependency changed for that target?" are
wrapped to remember every yes; when a target's action starts, its component and
the changed dependencies are noted. Targets rebuilt with no changed file are new,
or their build steps or settings (an action's varlist) changed, or else one of their
options (Value nodes, which SCons decides on without asking the deciders).
"""

import os
from collections import defaultdict

from rvbuild import unpack
from rvbuild.bisect import STEPS


def component_of(path, build_dir="build"):
    """build/<variant>/<component>/... -> (variant, component), and a step of `scons bisect`'s
    build/<variant>/bisect/steps/<component>/... -> (<variant>/bisect/steps, component); unpacked
    sources, toolchains -> None."""
    parts = os.path.normpath(path).split(os.sep)
    if parts[0] != build_dir or len(parts) < 4 or parts[1] in ("src", "toolchains"):
        return None
    if "/".join(parts[2:4]) == STEPS and len(parts) > 5:
        return "/".join(parts[1:4]), parts[4]
    return parts[1], parts[2]


def _is_pinned_tree(path):
    """Whether `path` is a tree rvbuild unpacked (a dependency's folder: the tree's anchor file's)."""
    return os.path.exists(unpack.record_path(path))


def _own_trees(target):
    """The user's own trees (<component>_src=: rvbuild's Values of them) that `target` is built from."""
    return [source.value for source in target.sources if hasattr(getattr(source, "value", None), "edited")]


class Summary:
    def __init__(self):
        self.changed = defaultdict(list)  # target path -> what changed for it
        self.rebuilt = {}  # (variant, component) -> why
        self.components = []  # (variant, component) of everything in this build
        self.cancelled = False
        self.closing_lines = []  # functions giving more lines for the end of a build (or None)

    def decider(self, decide):
        """Wrap a decider function (dependency, target, prev_ni, repo_node) -> bool."""

        def recording_decider(dependency, target, prev_ni, repo_node=None):
            changed = decide(dependency, target, prev_ni, repo_node)
            if changed:
                if str(dependency) not in self.changed[target.path]:
                    self.changed[target.path].append(str(dependency))
            return changed

        return recording_decider

    def why(self, target, built_before, steps_changed, added=(), removed=()):
        if not built_before:
            return "not built yet"
        # A pinned tree's anchor file that came or went: built from a tree of the user's, or back.
        pinned = [os.path.dirname(path) for path in added if _is_pinned_tree(os.path.dirname(path))]
        if pinned or any(_is_pinned_tree(os.path.dirname(path)) for path in removed):
            return f"now built from {(pinned or [tree.path for tree in _own_trees(target)] or ['another tree'])[0]}"
        # A dependency list that grew or shrank (a package selected or left out) shifts the others:
        # SCons then compares each with the one that used to be at its place, so say what came and went.
        causes = [f"{path} added" for path in added] + [f"{path} removed" for path in removed]
        if causes:
            return ", ".join(causes[:3]) + (", ..." if len(causes) > 3 else "")
        causes = self.changed.get(target.path) or [path for tree in _own_trees(target) for path in tree.edited]
        if causes:
            return ", ".join(causes[:3]) + (", ..." if len(causes) > 3 else "") + " changed"
        return "its build steps or settings changed" if steps_changed else "its options changed"

    def record(self, target, built_before, steps_changed=False, added=(), removed=(), retrieved=False):
        """Note that `target`'s action is starting (or, `retrieved`, its copy from the cache
        directory); returns why, in words. `added`, `removed`: its dependencies (paths) that it did
        not have when last built, and those it no longer has."""
        why = self.why(target, built_before, steps_changed, added, removed) + ("; from cache_dir" if retrieved else "")
        component = component_of(target.path)
        if component:
            self.rebuilt.setdefault(component, why)
        return why

    def cancel(self):
        """The build stopped before it began: no closing line."""
        self.cancelled = True

    def line(self, failed_paths=()):
        """The closing line, over the (variant, component) pairs in self.components; `failed_paths`
        are the targets whose build failed. None if there were no components, or the build was
        cancelled."""
        if self.cancelled or not self.components:
            return None
        several = len({variant for variant, _ in self.components}) > 1

        def name(key):
            return "/".join(key) if several else key[1]

        rebuilt = ", ".join(f"{name(key)} ({why})" for key, why in self.rebuilt.items())
        if failed_paths:
            failed = sorted({name(component_of(path)) if component_of(path) else path for path in failed_paths})
            return f"rvbuild: build failed in {', '.join(failed)}" + (f"; rebuilt {rebuilt}" if rebuilt else "")
        up_to_date = len([key for key in self.components if key not in self.rebuilt])
        if not self.rebuilt:
            return f"rvbuild: nothing to rebuild; {up_to_date} up to date"
        return f"rvbuild: rebuilt {rebuilt}; {up_to_date} up to date"


# The one summary of this scons run: the tools that record, decide and print share it.
SUMMARY = Summary()
