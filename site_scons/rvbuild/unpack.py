"""Unpack a verified archive into a source tree, all or nothing."""
import os
import shutil
import subprocess
import tempfile

from rvbuild import BuildError, interrupt
from rvbuild.fetch import CHUNK, progress_bar
from rvbuild.run import run

DECOMPRESS_FLAG = {".xz": "-J", ".bz2": "-j", ".gz": "-z", ".tgz": "-z", ".tar": ""}


def _run(command, **kwargs):
    result = run(command, **kwargs)
    if result.returncode != 0:
        raise BuildError(f"{' '.join(command)} failed with status {result.returncode}")


def _extract(tarball, subdir, dest, progress):
    """Extract `subdir` of `tarball` into `dest`, feeding tar ourselves to show progress."""
    flag = DECOMPRESS_FLAG.get(os.path.splitext(tarball)[1])
    if flag is None:
        raise BuildError(f"do not know how to unpack {tarball}")
    command = ["tar", "-x", "--touch", "--no-same-owner", "-f", "-", "-C", dest,
               f"--strip-components={subdir.count('/') + 1}", subdir]
    if flag:
        command.insert(1, flag)
    tar = subprocess.Popen(command, stdin=subprocess.PIPE)
    bar = progress_bar(os.path.getsize(tarball), f"unpack {os.path.basename(tarball)}", progress)
    try:
        with open(tarball, "rb") as f:
            while chunk := f.read(CHUNK):
                interrupt.check(f"unpacking {tarball}")
                tar.stdin.write(chunk)
                if bar:
                    bar.update(len(chunk))
        tar.stdin.close()
    except BrokenPipeError:
        pass
    except interrupt.Interrupted:
        tar.kill()
        tar.wait()
        raise
    finally:
        if bar:
            bar.close()
    if tar.wait() != 0:
        raise BuildError(f"tar could not unpack {subdir} from {tarball}")


def _build_in_place(dest, fill, patches):
    """Make `dest` by `fill(tree, scratch)` into a temporary tree, patching it, then renaming it."""
    parent = os.path.dirname(os.path.abspath(dest))
    os.makedirs(parent, exist_ok=True)
    work = tempfile.mkdtemp(prefix=".unpack-", dir=parent)
    try:
        tree = os.path.join(work, "tree")
        os.mkdir(tree)
        fill(tree, work)
        for patch in patches:
            with open(patch, "rb") as f:
                _run(["patch", "-p1", "-s", "-d", tree], stdin=f)
        if os.path.exists(dest):
            shutil.rmtree(dest)
        os.rename(tree, dest)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def unpack(archive, dest, subdir, inner=None, patches=(), progress=True):
    """Make `dest` the tree `subdir` of `archive` with `patches` applied.

    `inner` names a tarball inside a Debian binary package, for kernels shipped
    as linux-source-X.deb. Files get the time of unpacking (tar --touch), so a
    make that already built against an older tree rebuilds what changed.
    """
    def fill(tree, scratch):
        tarball = archive
        if inner:
            tarball = os.path.join(scratch, os.path.basename(inner))
            with open(tarball, "wb") as out:
                deb = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", archive], stdout=subprocess.PIPE)
                _run(["tar", "-xO", "-f", "-", "./" + inner.lstrip("./")], stdin=deb.stdout, stdout=out)
                if deb.wait() != 0:
                    raise BuildError(f"dpkg-deb could not read {archive}")
        _extract(tarball, subdir, tree, progress)
    _build_in_place(dest, fill, patches)
