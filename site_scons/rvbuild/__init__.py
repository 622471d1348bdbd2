"""rvbuild: plain Python behind the SCons tools (importable without SCons)."""


class BuildError(Exception):
    """A problem the user can fix; its message says the cause and the fix on one line."""


# The date that build outputs carry (Linux's `uname -v`, BusyBox's banner, file times in the image),
# fixed so that identical inputs give identical bytes: 2023-11-14 22:13:20 UTC.
BUILD_EPOCH = 1_700_000_000
