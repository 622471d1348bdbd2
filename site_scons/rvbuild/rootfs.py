"""Assemble a root filesystem tree and turn it into an ext4 image.

Everything in the image is owned by root: the tree is chowned and imaged inside
one fakeroot session, so a user builds it as themselves, with no loop mount.
"""

import os
import shutil
import signal
from dataclasses import dataclass

from rvbuild import BUILD_EPOCH, BuildError, modules
from rvbuild.run import run

# Fixed identity and time, so identical inputs give a byte-identical image.
IMAGE_UUID = "5b6f7276-6275-696c-642d-726f6f746673"
IMAGE_TIME = BUILD_EPOCH


@dataclass(frozen=True)
class Install:
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

    def files(self):
        return [self.source, self.release, *self.extra]


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


def stage(root, overlay, items, dirs=(), symlinks=None, permissions=None):
    """Build the tree `root` afresh from the overlay, the packages' files and the tables."""
    if os.path.exists(root):
        shutil.rmtree(root)
    shutil.copytree(overlay, root, symlinks=True)
    for directory in dirs:
        os.makedirs(_inside(root, directory), exist_ok=True)
    for link, target in (symlinks or {}).items():
        os.makedirs(os.path.dirname(_inside(root, link)), exist_ok=True)
        os.symlink(target, _inside(root, link))
    for item in items:
        if isinstance(item, BusyBoxLinks):
            with open(item.source) as f:
                for applet in f.read().split():
                    dest = _inside(root, applet)
                    if not os.path.lexists(dest):
                        os.makedirs(os.path.dirname(dest), exist_ok=True)
                        os.symlink(item.binary, dest)
        elif isinstance(item, KernelModules):
            with open(item.release) as f:
                release = f.read().strip()
            modules.install(root, item.source, release, item.extra)
            modules.depmod(root, release)
        else:
            dest = _inside(root, item.path)
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            shutil.copyfile(item.source, dest)
    _normalize_modes(root)
    modes = {item.path: item.mode for item in items if isinstance(item, Install)}
    for path, mode in {**modes, **(permissions or {})}.items():
        if not os.path.exists(_inside(root, path)):
            raise BuildError(f"the permissions table names {path}, which is not in the image")
        os.chmod(_inside(root, path), mode)
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
    result = run(["debugfs", "-w", "-f", "-", image], input=requests, env=env, capture_output=True, text=True)
    # debugfs exits 0 even when requests fail; each failure is a line on stderr after its banner.
    errors = [line for line in result.stderr.splitlines() if line.strip() and not line.startswith("debugfs ")]
    if result.returncode != 0 or errors:
        raise BuildError(
            f"debugfs could not set inode times in {image}: "
            f"{errors[0] if errors else result.returncode}"
            f"{f' (and {len(errors) - 1} more)' if len(errors) > 1 else ''}"
        )


def make_ext4(root, image, size):
    """Write the ext4 image of `root` to `image` (through a temporary file)."""
    tmp = f"{image}.tmp"
    script = 'chown -R 0:0 "$1" && mkfs.ext4 -q -F -L rootfs -U "$3" -E hash_seed="$3" -d "$1" "$2" "$4"'
    env = dict(os.environ, E2FSPROGS_FAKE_TIME=str(IMAGE_TIME))
    try:
        # fakeroot stops its faked daemon, which lives in a session of its own, on SIGINT only.
        result = run(
            ["fakeroot", "--", "sh", "-c", script, "sh", root, tmp, IMAGE_UUID, size],
            stop_signal=signal.SIGINT,
            env=env,
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            problem = "; ".join((result.stderr or result.stdout).strip().splitlines())
            raise BuildError(f"mkfs.ext4 failed: {problem} (a bigger rootfs_size may help)")
        pin_inode_times(root, tmp, env)
        os.replace(tmp, image)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
