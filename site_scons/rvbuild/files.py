"""Writing build outputs so that nothing half-written ever looks complete."""

import filecmp
import os
import shutil


def _replace_atomically(dest, write):
    tmp = f"{dest}.tmp"
    os.makedirs(os.path.dirname(os.path.abspath(dest)), exist_ok=True)
    write(tmp)
    os.replace(tmp, dest)


def _holds(path, content):
    """Whether the file `path` exists and holds exactly `content` (text or bytes)."""
    if not os.path.exists(path):
        return False
    with open(path, "rb" if isinstance(content, bytes) else "r") as f:
        return f.read() == content


def write_if_changed(dest, content):
    """Write `content` (text or bytes) to `dest` unless it already holds exactly that; True if written."""
    binary = "b" if isinstance(content, bytes) else ""
    if _holds(dest, content):
        return False

    def write(tmp):
        with open(tmp, "w" + binary) as f:
            f.write(content)

    _replace_atomically(dest, write)
    return True


def prepared_objdir(obj, settings):
    """`obj`, emptied first if it was built with other `settings` (text): make tracks sources, not
    flags or which tree they came from, and would keep objects made the old way. A tree linked from
    the store (rvbuild.unpack) may be older than objects built from another one, so the settings
    name the tree's content too."""
    record = os.path.join(obj, ".rvbuild-settings")
    if os.path.isdir(obj) and not _holds(record, settings):
        shutil.rmtree(obj)
    write_if_changed(record, settings)
    return obj


def link_entries(tree, links, skip=()):
    """Make `links` a folder of symbolic links to the entries at the top of `tree`, but `skip`."""
    wanted = {name: os.path.join(tree, name) for name in os.listdir(tree) if name not in skip}
    os.makedirs(links, exist_ok=True)
    for name in os.listdir(links):
        path = os.path.join(links, name)
        if not os.path.islink(path) or os.readlink(path) != wanted.get(name):
            os.remove(path)
    for name, target in wanted.items():
        if not os.path.lexists(os.path.join(links, name)):
            os.symlink(target, os.path.join(links, name))


def copy_if_changed(src, dest):
    """Copy `src` to `dest` unless they are already equal; True if copied."""
    if os.path.exists(dest) and filecmp.cmp(src, dest, shallow=False):
        return False
    _replace_atomically(dest, lambda tmp: shutil.copy2(src, tmp))
    return True


def relative_path(path, start):
    """`path` from `start`, as the file system resolves them (symbolic links followed). A build
    that names its files this way names them alike in every checkout, and ccache's direct mode,
    which hashes what the command line and the included files say, hits in another checkout."""
    return os.path.relpath(os.path.realpath(path), os.path.realpath(start))
