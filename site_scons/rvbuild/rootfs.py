"""Assemble a root filesystem tree and turn it into an ext4 image.

Everything in the image is owned by root: the tree is chowned and imaged inside
one fakeroot session, so a user builds it as themselves, with no loop mount.
"""

import os
import shutil
import signal
import stat
from dataclasses import dataclass

from rvbuild import BUILD_EPOCH, BuildError, diskspace, modules
from rvbuild.run import output, run

# Fixed identity and time, so identical inputs give a byte-identical image.
IMAGE_UUID = "5b6f7276-6275-696c-642d-726f6f746673"
IMAGE_TIME = BUILD_EPOCH
DEFAULT_HEADROOM = 16 << 20  # free space a sized-to-fit image leaves the guest (rootfs_headroom=)
# ext4's own share of an image: a journal of up to 4 MiB below 256 MiB, and inode tables, bitmaps
# and group descriptors of about a tenth of it; a first guess, which make_ext4 grows if need be.
ESTIMATED_METADATA = 6 << 20
GROWTHS = 8  # a quarter more each time: up to six times the first guess


@dataclass(frozen=True)
class ImageFile:
    """Put the built file `source` at `path` in the image."""

    source: str
    path: str
    mode: int = 0o755


@dataclass(frozen=True)
class BusyBoxLinks:
    """Symlink every applet named in a busybox.links file to `binary`."""

    source: str
    binary: str = "/bin/busybox"


@dataclass(frozen=True)
class KernelModules:
    """The kernel's modules (`source`: the archive rvbuild.modules.pack made of what
    modules_install staged) under /lib/modules/<the release in the file `release`>/, the
    out-of-tree `extra` module files in its extra/, and depmod's data for all of them."""

    source: str
    release: str
    extra: tuple = ()


def read_permissions(path):
    """Lines of `path mode` (octal); '#' starts a comment."""
    modes = {}
    with open(path) as f:
        for number, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            try:
                name, mode = line.split()
                modes[name] = int(mode, 8)
            except ValueError:
                raise BuildError(f"{path}:{number}: expected `/path octal-mode`, got {line!r}") from None
    return modes


def _inside(root, path):
    return os.path.join(root, path.lstrip("/"))


def _destination(root, path, made_links):
    """Where `path` goes under `root`, its directories made. Never through a link (a link is read in
    the guest: on the host it may lead out of the image, onto the host's own files), and never over
    one that staging did not make itself (`made_links`, BusyBox's applet links)."""
    parts = path.strip("/").split("/")
    dest = root
    for depth, part in enumerate(parts, 1):
        dest = os.path.join(dest, part)
        if not os.path.islink(dest):
            if depth < len(parts) and not os.path.isdir(dest):
                os.makedirs(dest)
            continue
        if depth == len(parts) and dest in made_links:
            os.unlink(dest)
            made_links.discard(dest)
            continue
        link = "/" + "/".join(parts[:depth])
        raise BuildError(
            f"cannot put {path} in the image: {link} there is a link (to {os.readlink(dest)}); "
            f"install to the path it stands for instead"
        )
    return dest


def _copy_overlay(overlay, root, made_links):
    for directory, subdirs, files in os.walk(overlay):
        relative = os.path.relpath(directory, overlay)
        for name in sorted(subdirs + files):
            source = os.path.join(directory, name)
            path = os.path.normpath(os.path.join("/", relative, name))
            if os.path.isdir(source) and not os.path.islink(source):
                dest = _inside(root, path)
                if not os.path.isdir(dest) or os.path.islink(dest):
                    os.mkdir(_destination(root, path, made_links))
                continue
            dest = _destination(root, path, made_links)
            if os.path.islink(source):
                if os.path.lexists(dest):
                    os.unlink(dest)
                os.symlink(os.readlink(source), dest)
            else:
                shutil.copy2(source, dest)


def stage(root, overlays, items, dirs=(), symlinks=None, permissions=None):
    """Build the tree `root` afresh: the tables' directories and links, the packages' files, then
    each overlay in order, a later one's file replacing an earlier one's."""
    if os.path.exists(root):
        shutil.rmtree(root)
    os.makedirs(root)
    made_links = set()
    for directory in dirs:
        os.makedirs(_inside(root, directory), exist_ok=True)
    for link, target in (symlinks or {}).items():
        os.symlink(target, _destination(root, link, made_links))
    for item in items:
        if isinstance(item, BusyBoxLinks):
            with open(item.source) as f:
                for applet in f.read().split():
                    if not os.path.lexists(_inside(root, applet)):
                        dest = _destination(root, applet, made_links)
                        os.symlink(item.binary, dest)
                        made_links.add(dest)
        elif isinstance(item, KernelModules):
            with open(item.release) as f:
                release = f.read().strip()
            _destination(root, f"/lib/modules/{release}", made_links)  # no link on the way
            modules.install(root, item.source, release, item.extra)
            modules.depmod(root, release)
        else:
            shutil.copyfile(item.source, _destination(root, item.path, made_links))
    for overlay in overlays:
        _copy_overlay(overlay, root, made_links)
    _normalize_modes(root)
    modes = {item.path: item.mode for item in items if isinstance(item, ImageFile)}
    for path, mode in {**modes, **(permissions or {})}.items():
        inside = _inside(root, path)
        if os.path.realpath(inside) != _inside(os.path.realpath(root), os.path.normpath(path)) or not (
            os.path.exists(inside)  # through a link, or missing
        ):
            raise BuildError(f"the permissions table names {path}, which is not a file or directory in the image")
        os.chmod(inside, mode)
    for directory, subdirs, files in os.walk(root):
        for name in subdirs + files:
            os.utime(os.path.join(directory, name), (IMAGE_TIME, IMAGE_TIME), follow_symlinks=False)


def _normalize_modes(root):
    """0755 for directories and executables, 0644 for the rest: the image must not depend on the
    umask of whoever checked out or built (a umask of 002 would make /etc/passwd 0664)."""
    os.chmod(root, 0o755)
    for directory, subdirs, files in os.walk(root):
        for name in subdirs + files:
            path = os.path.join(directory, name)
            if not os.path.islink(path):
                executable = os.path.isdir(path) or os.stat(path).st_mode & 0o111
                os.chmod(path, 0o755 if executable else 0o644)


def pin_inode_times(root, image, env=None):
    """mkfs.ext4 -d copies each file's ctime and atime, which nothing can set: pin them in the image."""
    paths = ["/"] + [
        "/" + os.path.relpath(os.path.join(directory, name), root)
        for directory, subdirs, files in os.walk(root)
        for name in subdirs + files
    ]
    requests = "".join(
        f'set_inode_field "{path}" {field} @{IMAGE_TIME}\n' for path in paths for field in ("ctime", "atime")
    )
    # The superblock counts the kilobytes written to the image, and how mkfs.ext4 -d reads a file
    # depends on the file system it is staged on (tmpfs or ext4 find holes differently).
    requests += "set_super_value kbytes_written 0\n"
    result = run(["debugfs", "-w", "-f", "-", image], input=requests, env=env, capture_output=True, text=True)
    # debugfs exits 0 even when requests fail; each failure is a line on stderr after its banner.
    errors = [line for line in result.stderr.splitlines() if line.strip() and not line.startswith("debugfs ")]
    if result.returncode != 0 or errors:
        raise BuildError(
            f"debugfs could not set inode times in {image}: "
            f"{errors[0] if errors else result.returncode}"
            f"{f' (and {len(errors) - 1} more)' if len(errors) > 1 else ''}"
        )


def _content_size(root):
    """Bytes the files and directories of `root` take in 1 KiB blocks (mkfs.ext4's for an image
    under 512 MiB), and their inodes."""
    total = 0
    for directory, subdirs, files in os.walk(root):
        for name in subdirs + files:
            st = os.lstat(os.path.join(directory, name))
            total += 256 + (0 if stat.S_ISLNK(st.st_mode) else -(-st.st_size // 1024) * 1024)
    return total


def _free_bytes(image):
    """The free space of the ext4 file system in `image`."""
    header = dict(line.split(":", 1) for line in output(["dumpe2fs", "-h", image]).splitlines() if ":" in line)
    return int(header["Free blocks"]) * int(header["Block size"])


def make_ext4(root, image, size="", headroom=DEFAULT_HEADROOM):
    """Write the ext4 image of `root` to `image` (through a temporary file): `size` bytes (as
    mkfs.ext4 reads it: 32M), or, when empty, sized for what it holds plus `headroom` bytes free.

    The size for the content is found by trying: from an estimate, a quarter more each time until
    mkfs.ext4 takes it all and leaves the headroom, so the same content gives the same size."""
    tmp = f"{image}.tmp"
    script = 'chown -R 0:0 "$1" && mkfs.ext4 -q -F -L rootfs -U "$3" -E hash_seed="$3" -d "$1" "$2" "$4"'
    env = dict(os.environ, E2FSPROGS_FAKE_TIME=str(IMAGE_TIME))
    fixed = bool(size)
    mib = 1 << 20
    estimate = (_content_size(root) + headroom) * 11 // 10 + ESTIMATED_METADATA
    try:
        for growth in range(GROWTHS + 1):
            if not fixed:
                size = f"{-(-estimate // mib)}M"
            # fakeroot stops its faked daemon, which lives in a session of its own, on SIGINT only.
            result = run(
                ["fakeroot", "--", "sh", "-c", script, "sh", root, tmp, IMAGE_UUID, size],
                stop_signal=signal.SIGINT,
                env=env,
                capture_output=True,
                text=True,
            )
            problem = "; ".join((result.stderr or result.stdout).strip().splitlines())
            if fixed or diskspace.says_disk_full(problem):
                break
            if result.returncode == 0 and _free_bytes(tmp) >= headroom:
                break
            if growth == GROWTHS:
                raise BuildError(f"mkfs.ext4 could not fit {root} in {size}: {problem or 'too little room left'}")
            estimate += estimate // 4
        if result.returncode != 0:
            raise BuildError(f"mkfs.ext4 failed: {problem} (a bigger rootfs_size may help)")
        pin_inode_times(root, tmp, env)
        os.replace(tmp, image)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
