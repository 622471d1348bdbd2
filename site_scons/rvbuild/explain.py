"""Say what a build rebuilt and why, in one line.

The deciders SCons asks "has this dependency changed for that target?" are
wrapped to remember every yes; when a target's action starts, its component and
the changed dependencies are noted. Targets rebuilt with no changed dependency
are new, or their build steps changed.
"""
import os
from collections import defaultdict


def component_of(path, build_dir="build"):
    """build/<variant>/<component>/... -> component; sources, downloads and keys -> None."""
    parts = os.path.normpath(path).split(os.sep)
    if parts[0] == build_dir and len(parts) > 3 and parts[1] != "src":
        return parts[2]
    return None


class Summary:
    def __init__(self):
        self.changed = defaultdict(list)  # target path -> what changed for it
        self.rebuilt = {}                 # component -> why

    def decider(self, decide):
        """Wrap a decider function (dependency, target, prev_ni, repo_node) -> bool."""
        def recording_decider(dependency, target, prev_ni, repo_node=None):
            changed = decide(dependency, target, prev_ni, repo_node)
            if changed:
                shown = "options" if dependency.__class__.__name__ == "Value" else str(dependency)
                if shown not in self.changed[target.path]:
                    self.changed[target.path].append(shown)
            return changed
        return recording_decider

    def why(self, target, built_before):
        causes = self.changed.get(target.path)
        if causes:
            return ", ".join(causes[:3]) + (", ..." if len(causes) > 3 else "") + " changed"
        return "its build steps changed" if built_before else "not built yet"

    def record(self, target, built_before):
        """Note that `target`'s action is starting; returns why, in words."""
        why = self.why(target, built_before)
        component = component_of(target.path)
        if component:
            self.rebuilt.setdefault(component, why)
        return why

    def line(self, components):
        up_to_date = len([name for name in components if name not in self.rebuilt])
        if not self.rebuilt:
            return f"rvbuild: nothing to rebuild; {up_to_date} up to date"
        rebuilt = ", ".join(f"{name} ({why})" for name, why in self.rebuilt.items())
        return f"rvbuild: rebuilt {rebuilt}; {up_to_date} up to date"
