"""Fetch source files into the shared download cache, verified before they are used.

A file reaches the cache only under a temporary name first, `.<name>.*.part`, and is
renamed into place after its sha256 matched, so a cut or corrupt download never looks
done. A download holds an flock on its part file; the kernel drops it when the process
dies, however it dies, so the next fetch removes the parts nobody holds (the cache may be
shared by several checkouts: a part another one is writing is held, and left alone).
A pinned size caps the download: a server sending more is cut off there.
"""

import fcntl
import hashlib
import os
import shlex
import shutil
import subprocess
import tempfile
from dataclasses import dataclass

from rvbuild import BuildError, diskspace, interrupt
from rvbuild.run import output, run

CHUNK = 1 << 20


@dataclass(frozen=True)
class Debian:
    """Where apt finds the same file: a source package's file, or a binary package (.deb).

    `filename` is the file's name in Debian when it differs from ours; `refresh` says
    how to pin a newer version once the pinned one has left the archive."""

    package: str
    filename: str = ""
    version: str = ""
    binary: bool = False
    refresh: str = ""

    def apt_command(self):
        spec = f"{self.package}={self.version}" if self.version else self.package
        if self.binary:
            return ["apt-get", "download", "--print-uris", spec]
        return ["apt-get", "source", "--print-uris", spec]


@dataclass(frozen=True)
class Source:
    """One pinned file: its name in the cache, its sha256, where to get it, and its size in bytes
    (optional: a download stops as soon as more than that arrives).

    `alternatives`: other files of the same release, each a Source with its own checksum (Debian's
    repack of zlib is not upstream's tarball byte for byte), and `subdir`, the tree's folder in it
    when that differs (see choose)."""

    filename: str
    sha256: str
    urls: tuple = ()
    debian: Debian = None
    size: int = None
    alternatives: tuple = ()
    subdir: str = ""

    def __post_init__(self):
        object.__setattr__(self, "urls", tuple(self.urls))
        object.__setattr__(self, "alternatives", tuple(self.alternatives))


def choose(source, cache_dir):
    """Which of `source` and its alternatives a build uses: the first already in the cache, else the
    first that apt can get where apt is (the Debian archive is the one reachable from more places,
    and every Debian machine then builds the same tree), else `source`."""
    candidates = [source, *source.alternatives]
    for candidate in candidates:
        if os.path.exists(os.path.join(cache_dir, candidate.filename)):
            return candidate
    if len(candidates) > 1 and shutil.which("apt-get"):
        return next((candidate for candidate in candidates if candidate.debian), source)
    return source


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def verify(path, sha256):
    actual = sha256_of(path)
    if actual != sha256:
        raise BuildError(
            f"checksum mismatch for {path}: got {actual}, expected {sha256}; "
            f"delete the file and run again (or fix the pinned sha256 if the release really changed)"
        )


def debian_uris(debian, filename, run=subprocess.run):
    """URLs apt would download `filename` from (no host is written down here)."""
    filename = debian.filename or filename
    try:
        out = run(debian.apt_command(), capture_output=True, text=True, check=False)
    except FileNotFoundError:
        return []
    if debian.version and "was not found" in out.stderr:
        raise BuildError(
            f"the pinned {debian.package} {debian.version} is no longer in the Debian archive; "
            f"{debian.refresh or 'pin a version apt-cache policy lists'}"
        )
    uris = []
    for line in out.stdout.splitlines():
        parts = shlex.split(line)
        if len(parts) >= 2 and parts[1] == filename and "://" in parts[0]:
            uris.append(parts[0])
    return uris


def progress_bar(total, desc, enabled):
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="B", unit_scale=True, unit_divisor=1024, leave=False)


def download(url, dest, progress=True, timeout=60, size=None):
    """Write what `url` serves to `dest`; with `size`, fail rather than take more bytes than that."""
    import urllib.request  # here: importing it takes longer than a whole null build may spend on it

    with urllib.request.urlopen(url, timeout=timeout) as response, open(dest, "wb") as out:
        total = int(response.headers.get("Content-Length") or 0) or None
        if size is not None and total is not None and total != size:
            raise OSError(f"the server announces {total} bytes, the pinned size is {size}")
        bar = progress_bar(total or size, os.path.basename(dest), progress)
        try:
            while chunk := response.read1(CHUNK if size is None else min(CHUNK, size - out.tell() + 1)):
                interrupt.check(f"the download of {url}")
                out.write(chunk)
                if size is not None and out.tell() > size:
                    raise OSError(f"the server sends more than the pinned size of {size} bytes")
                if bar:
                    bar.update(len(chunk))
        finally:
            if bar:
                bar.close()
        if total is not None and out.tell() != total:
            raise OSError(f"got {out.tell()} of {total} bytes")


def _new_part(cache_dir, filename):
    """A new part file for downloading `filename`, as (fd holding its flock, path)."""
    while True:
        fd, path = tempfile.mkstemp(prefix=f".{filename}.", suffix=".part", dir=cache_dir)
        fcntl.flock(fd, fcntl.LOCK_EX)
        if os.fstat(fd).st_nlink:  # else remove_stale_parts took it for stale before we held it
            return fd, path
        os.close(fd)


def remove_stale_parts(cache_dir):
    """Remove the part files in `cache_dir` that no process holds: downloads that were killed."""
    for name in os.listdir(cache_dir):
        if not (name.startswith(".") and name.endswith(".part")):
            continue
        path = os.path.join(cache_dir, name)
        try:
            fd = os.open(path, os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            continue  # gone meanwhile, or not ours to judge
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if os.path.samestat(os.fstat(fd), os.lstat(path)):  # not renamed into place meanwhile
                os.unlink(path)
        except OSError:
            pass  # held by a live download, or gone meanwhile
        finally:
            os.close(fd)


def fetch(source, cache_dir, progress=True, resolve_debian=debian_uris):
    """Return the path of `source` in `cache_dir`, downloading and verifying it if needed."""
    dest = os.path.join(cache_dir, source.filename)
    if os.path.exists(dest):
        verify(dest, source.sha256)
        return dest
    os.makedirs(cache_dir, exist_ok=True)
    candidates = list(source.urls)
    if source.debian:
        try:
            candidates += resolve_debian(source.debian, source.filename)
        except BuildError:
            if not candidates:
                raise
    failures = []
    remove_stale_parts(cache_dir)
    for url in candidates:
        fd, tmp = _new_part(cache_dir, source.filename)
        try:
            download(url, tmp, progress, size=source.size)
            actual = sha256_of(tmp)
            if actual != source.sha256:
                raise OSError(f"sha256 {actual}, expected {source.sha256}")
            os.replace(tmp, dest)
            return dest
        except interrupt.Interrupted:
            raise
        except Exception as error:  # every failure means: try the next place, but for a full disk
            if diskspace.is_disk_full(error):
                raise
            failures.append(f"{url}: {error}")
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
            os.close(fd)
    if not candidates:
        failures.append(
            "no URL known"
            + (
                f" and apt does not know {source.debian.package}"
                f"{'=' + source.debian.version if source.debian.version else ''}"
                if source.debian
                else ""
            )
        )
    raise BuildError(
        f"could not fetch {source.filename} ({'; '.join(failures)}); "
        f"put a verified copy in {cache_dir}/ or check the network and apt's deb-src entry"
    )


@dataclass(frozen=True)
class GitSource:
    """A git repository pinned by commit; the commit id is what verifies it."""

    name: str
    url: str
    commit: str

    @property
    def filename(self):
        """The commit's tree in the cache: a tar whose top directory is `name`."""
        return f"{self.name}-{self.commit}.tar"


def _git(*args, **kwargs):
    return subprocess.run(["git", *args], capture_output=True, text=True, **kwargs)


def fetch_git(source, cache_dir):
    """A bare clone in `cache_dir` that holds `source.commit`; returns its path."""
    repo = os.path.join(cache_dir, f"{source.name}.git")

    def has_commit():
        found = _git("--git-dir", repo, "rev-parse", "--verify", "--quiet", f"{source.commit}^{{commit}}")
        return found.returncode == 0 and found.stdout.strip() == source.commit

    if os.path.isdir(repo) and has_commit():
        return repo
    if not os.path.isdir(repo):
        output(["git", "init", "--quiet", "--bare", repo])
    fetched = run(
        [
            "git",
            "--git-dir",
            repo,
            "-c",
            "transfer.fsckObjects=true",
            "fetch",
            "--quiet",
            "--no-tags",
            source.url,
            "+refs/heads/*:refs/heads/*",
        ],
        capture_output=True,
        text=True,
    )
    if fetched.returncode != 0 or not has_commit():
        problem = fetched.stderr.strip().splitlines()[-1] if fetched.stderr.strip() else "commit not found"
        raise BuildError(
            f"could not fetch {source.name} {source.commit[:12]} from {source.url} ({problem}); "
            f"point {source.name.replace('-', '_')}_url= at a reachable clone"
        )
    return repo


def fetch_git_archive(source, cache_dir):
    """The path of `source.filename` in `cache_dir`, made from the bare clone there (fetch_git)."""
    dest = os.path.join(cache_dir, source.filename)
    if os.path.exists(dest):
        return dest
    repo = fetch_git(source, cache_dir)
    fd, tmp = tempfile.mkstemp(prefix=f".{source.filename}.", suffix=".part", dir=cache_dir)
    os.close(fd)
    try:
        archived = run(
            [
                "git",
                "--git-dir",
                repo,
                "archive",
                "--format=tar",
                f"--prefix={source.name}/",
                "--output",
                tmp,
                source.commit,
            ],
            capture_output=True,
            text=True,
        )
        if archived.returncode != 0:
            raise BuildError(f"git archive of {source.commit} in {repo} failed: {archived.stderr.strip()}")
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return dest
