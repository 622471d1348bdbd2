"""Kernel modules: what `make modules_install` staged, packed as one reproducible archive, and
the module tree of an image with depmod's data."""

import io
import os
import shutil

from rvbuild import BUILD_EPOCH, BuildError
from rvbuild.run import run

EXTRA = "extra"  # where out-of-tree modules go under lib/modules/<release>/, as Kbuild puts them


def pack(directory):
    """The regular files under `directory` as tar bytes: sorted, owned by root, times fixed, so
    that equal files give equal bytes (the `build` and `source` symlinks into the host are left
    out)."""
    names = sorted(
        os.path.relpath(os.path.join(parent, name), directory)
        for parent, _, files in os.walk(directory)
        for name in files
        if not os.path.islink(os.path.join(parent, name))
    )
    import tarfile  # here, not at the top: most builds never need it

    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name in names:
            info = tarfile.TarInfo(name)
            info.size = os.path.getsize(os.path.join(directory, name))
            info.mode, info.mtime = 0o644, BUILD_EPOCH
            with open(os.path.join(directory, name), "rb") as f:
                tar.addfile(info, f)
    return data.getvalue()


def install(root, archive, release, extra=()):
    """Unpack `archive` (made by pack) into `root`/lib/modules/<release>/, with the `extra`
    module files in its extra/; returns that directory."""
    directory = os.path.join(root, "lib/modules", release)
    os.makedirs(os.path.join(directory, EXTRA), exist_ok=True)
    import tarfile

    with tarfile.open(archive) as tar:
        # pack() writes regular files with relative names only; refuse anything else. (Not
        # extractall's filter=: Debian 12's Python 3.11.2 predates it.)
        for member in tar.getmembers():
            if not member.isfile() or os.path.isabs(member.name) or ".." in member.name.split("/"):
                raise BuildError(f"{archive}: {member.name} is not a module file; delete the archive and rebuild")
        tar.extractall(directory)
    for module in extra:
        shutil.copyfile(module, os.path.join(directory, EXTRA, os.path.basename(module)))
    return directory


def depmod(root, release):
    """depmod's data (modules.dep and the rest) for the modules in `root`/lib/modules/<release>/."""
    result = run(["depmod", "-b", root, release], capture_output=True, text=True)
    said = (result.stderr or "").strip().splitlines()
    if result.returncode != 0 or said:
        more = f" (and {len(said) - 1} more lines)" if len(said) > 1 else ""
        raise BuildError(
            f"depmod failed for {root}/lib/modules/{release}: {said[0] if said else result.returncode}{more}"
        )
