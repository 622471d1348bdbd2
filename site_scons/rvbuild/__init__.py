"""rvbuild: plain Python behind the SCons tools (importable without SCons)."""


class BuildError(Exception):
    """A problem the user can fix; its message says the cause and the fix on one line."""
