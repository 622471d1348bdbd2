"""A cheap fingerprint of a local source tree: it changes whenever a file in it changes.

In a git work tree: HEAD, `git status`, and the size and mtime of every file
status lists (git checks the rest against its index, fast even for a kernel).
Elsewhere: the path, size and mtime of every file, a walk that costs about a
second for a kernel tree.
"""

import hashlib
import os

from rvbuild.run import output


def _stat_line(path, shown_as):
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return f"{shown_as} deleted\n"
    return f"{shown_as} {st.st_mtime_ns} {st.st_size}\n"


def _walk(top, root, digest):
    with os.scandir(top) as entries:
        for entry in sorted(entries, key=lambda e: e.name):
            if entry.is_dir(follow_symlinks=False):
                if entry.name != ".git":
                    _walk(entry.path, root, digest)
            else:
                digest.update(_stat_line(entry.path, os.path.relpath(entry.path, root)).encode())


def _git(path, *args):
    return output(["git", "-C", path, *args], binary=True)


def fingerprint(path):
    digest = hashlib.sha256()
    if os.path.exists(os.path.join(path, ".git")):
        digest.update(_git(path, "rev-parse", "HEAD"))
        status = _git(path, "status", "--porcelain", "-z", "--untracked-files=all")
        digest.update(status)
        for entry in status.split(b"\0"):
            name = entry[3:].decode(errors="surrogateescape")
            if name:
                digest.update(_stat_line(os.path.join(path, name), name).encode(errors="surrogateescape"))
    else:
        _walk(path, path, digest)
    return digest.hexdigest()
