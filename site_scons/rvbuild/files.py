"""Writing build outputs so that nothing half-written ever looks complete."""

import filecmp
import os
import shutil


def _replace_atomically(dest, write):
    tmp = f"{dest}.tmp"
    os.makedirs(os.path.dirname(os.path.abspath(dest)), exist_ok=True)
    write(tmp)
    os.replace(tmp, dest)


def write_if_changed(dest, text):
    """Write `text` to `dest` unless it already holds exactly that; True if written."""
    if os.path.exists(dest):
        with open(dest) as f:
            if f.read() == text:
                return False

    def write(tmp):
        with open(tmp, "w") as f:
            f.write(text)

    _replace_atomically(dest, write)
    return True


def write_bytes_if_changed(dest, data):
    """Write the bytes `data` to `dest` unless it already holds exactly those; True if written."""
    if os.path.exists(dest):
        with open(dest, "rb") as f:
            if f.read() == data:
                return False

    def write(tmp):
        with open(tmp, "wb") as f:
            f.write(data)

    _replace_atomically(dest, write)
    return True


def copy_if_changed(src, dest):
    """Copy `src` to `dest` unless they are already equal; True if copied."""
    if os.path.exists(dest) and filecmp.cmp(src, dest, shallow=False):
        return False
    _replace_atomically(dest, lambda tmp: shutil.copy2(src, tmp))
    return True
