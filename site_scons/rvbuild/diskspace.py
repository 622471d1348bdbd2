"""A step that failed for want of disk space says so, naming the file system, whatever the tool
said: tar says "Wrote only 1024 of 10240 bytes", gcc "No space left on device", and what they had
written is often gone by the time the failure is reported (a scratch tree removed, a half-written
object deleted), so the words are read as well as the free space."""

import errno
import os
import tempfile

# What tools say when a write finds the disk full (tar's short write is one).
FULL_DISK_WORDS = ("No space left on device", "Disk quota exceeded", "Wrote only ")
# A file system with less than this left for the user cannot take a build step's next file.
NEARLY_FULL_BYTES = 1 << 20


def _existing(path):
    while not os.path.exists(path):
        path = os.path.dirname(path)
    return path


def mount_point(path):
    """The mount point of the file system holding `path` (or its nearest existing parent)."""
    path = os.path.realpath(_existing(path))
    device = os.stat(path).st_dev
    while path != "/" and os.stat(os.path.dirname(path)).st_dev == device:
        path = os.path.dirname(path)
    return path


def available(path):
    stats = os.statvfs(_existing(path))
    return stats.f_bavail * stats.f_frsize


def _scratch_places():
    """Where compilers and ccache write besides the build's own folders."""
    ccache = os.environ.get("CCACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "ccache"
    )
    return [tempfile.gettempdir(), ccache]


def says_disk_full(text):
    return any(words in text for words in FULL_DISK_WORDS)


def full_disk_message(paths, said=""):
    """What to say when a step writing `paths` failed, having said `said`, if a disk was full: the
    file system among those holding `paths` and the compilers' scratch places that is nearly full,
    or, when `said` is a tool's words for a full disk, the one with the least room; else None."""
    places = {}
    for path in [*paths, *_scratch_places()]:
        mount = mount_point(path)
        places.setdefault(mount, available(mount))
    mount, free = min(places.items(), key=lambda place: place[1])
    if free < NEARLY_FULL_BYTES or says_disk_full(said):
        return (
            f"the file system at {mount} is full ({free // 1024} KiB free): free some space there and "
            f"run again; nothing half-written is kept"
        )
    return None


def is_disk_full(error):
    return isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT)
