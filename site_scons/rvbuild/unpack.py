"""Unpack a verified archive into a source tree, all or nothing, and never outside it.

The tree is built in a scratch directory beside `dest`, `.unpack-<pid>-*`, and renamed into
place only once every member is written and every patch applied, so a failed or killed
unpack never leaves a tree that looks complete; the next unpack removes the scratch of one
that was killed.

GNU tar writes the members, without --strip-components (which can turn `pkg//etc/x` into
`/etc/x`): the whole path lands under the scratch directory and the wanted subdirectory is
renamed into place; members outside it are not written at all. tar itself refuses `..` in
member names, re-roots absolute names and hard-link targets inside the scratch directory, and
creates symlinks that point up or out only after every other member, so nothing is written
through them. On top of that an archive that tries to reach outside fails with one line
naming it and the member: absolute, `..` or `//` names (checked in tar's listing), hard links
that tar had to re-root, symlinks that resolve outside the tree once unpacked, and device
nodes. Files get the time of unpacking, so a make that already built against an older tree
rebuilds what changed, in the order of their times in the archive (a generated file stays newer
than what it is made from: with tar's --touch, strace's make wrote 682 headers into its sources),
and the user's umask (so no setuid bits, even for root).

With a store (a writable directory beside the downloads, on the tree's file system), the patched
tree is unpacked there once, its files made read-only, and each tree is a copy of it made of hard
links: creating the 80k files of a kernel tree costs this kind of machine 10-45 s, linking them
2 s, and another checkout that shares the downloads (dl=) shares the trees' disk too. Components
build out of tree and write nothing into their sources (a component's own tree is <component>_src=).

A linked file written in place (by root, or by an editor that keeps hard links, as vim does)
changes the store's copy and every checkout's with it, and nothing can stop that. So each tree
has a record beside it, `<tree>.unpacked`, whose time is when its content was made: anything in
the tree newer than that was changed since (EditSearch), and unpack() then neither replaces nor
uses the tree, and drops the store's copy if the change reached it, to be unpacked anew from the
verified archive.
"""

import contextlib
import hashlib
import os
import shutil
import stat
import subprocess
import tempfile
import time

from rvbuild import BuildError, interrupt
from rvbuild.fetch import CHUNK, progress_bar
from rvbuild.run import Started, run

DECOMPRESS_FLAG = {".xz": "-J", ".bz2": "-j", ".gz": "-z", ".tgz": "-z", ".tar": ""}
DECOMPRESSOR = {"-J": "xz", "-j": "bzip2", "-z": "gzip"}  # what tar runs for each flag
SCRATCH_PREFIX = ".unpack-"
# Part of a kept tree's name: trees kept before their files' times kept the archive's order are
# not linked (nor those from before a kept tree's time said when its content was complete).
STORE_LAYOUT = "3"
TAR_EXTRACT = [
    "tar",
    "-x",
    "--verbose",
    "--quoting-style=escape",
    "--no-same-owner",
    "--no-same-permissions",
    "-f",
    "-",
]
# tar's warnings when a name or a hard link's target reached outside and it put it back inside.
TAR_REROOTED = "Removing leading"


def _untranslated():
    """The environment for tools whose messages we read."""
    return {**os.environ, "LC_ALL": "C"}


def _unsafe_name(name):
    """Why the member name `name` (as tar lists it) reaches outside, or None."""
    if name.startswith("/"):
        return "is an absolute path"
    parts = name.split("/")
    if ".." in parts:
        return "contains '..'"
    if "" in parts[:-1]:  # a directory may be listed as "dir/"
        return "contains '//'"
    return None


def _refuse(archive, member, reason):
    return BuildError(
        f"refusing to unpack {archive}: member {member} {reason}; "
        f"the archive is not a plain source tree, check where its pin came from"
    )


def _untar(stdin, archive, root, members=(), feed=None):
    """Run tar to write `members` (all when empty) of the tar stream on `stdin` below `root`.

    `feed(pipe)`, when given, writes the stream into tar's stdin. tar's own protections keep
    every write below `root`; its listing, read once it is done, names the members to refuse."""
    with tempfile.TemporaryFile() as listing, tempfile.TemporaryFile(mode="w+", errors="replace") as errors:
        tar = subprocess.Popen(
            TAR_EXTRACT + ["-C", root, *members], stdin=stdin, stdout=listing, stderr=errors, env=_untranslated()
        )
        try:
            if feed:
                feed(tar.stdin)
            status = tar.wait()
        finally:
            if tar.poll() is None:
                tar.kill()
                tar.wait()
        listing.seek(0)
        for line in listing:
            name = line.decode(errors="replace").rstrip("\n")
            problem = _unsafe_name(name)
            if problem:
                raise _refuse(archive, name, problem)
        errors.seek(0)
        problems = [line.strip().removeprefix("tar: ") for line in errors if "Exiting with failure status" not in line]
    if status != 0 or any(problem.startswith(TAR_REROOTED) for problem in problems):
        specific = [problem for problem in problems if not problem.startswith(TAR_REROOTED)]
        detail = (specific or problems or [f"status {status}"])[0]
        raise BuildError(
            f"tar could not unpack {archive} ({detail}); delete it and fetch it again, "
            f"and if it fails the same way, check where its pin came from"
        )


def _unsafe_entries(tree):
    """What below `tree` a source tree must not hold, as (path relative to tree, why): symlinks
    that resolve outside it, and device nodes, fifos or sockets (tar run by root makes them)."""
    top = os.path.realpath(tree)
    found = []

    def scan(directory):
        with os.scandir(directory) as entries:
            for entry in entries:
                if entry.is_symlink():
                    resolved = os.path.realpath(entry.path)
                    if resolved != top and not resolved.startswith(top + os.sep):
                        found.append((entry.path, f"is a symlink to {os.readlink(entry.path)}, outside the tree"))
                elif entry.is_dir():
                    scan(entry.path)
                elif not entry.is_file():
                    found.append((entry.path, "is a device, fifo or socket"))

    scan(tree)
    return [(os.path.relpath(path, tree), why) for path, why in found]


def _safe_tree(root, subdir, archive):
    """`root`/`subdir`, once checked to be a real directory holding nothing `_unsafe_entries` finds."""
    parts = [part for part in subdir.split("/") if part not in ("", ".")]
    tree = os.path.join(root, *parts)
    if os.path.realpath(tree) != os.path.join(os.path.realpath(root), *parts) or not os.path.isdir(tree):
        raise _refuse(archive, subdir, "is not a directory")
    unsafe = _unsafe_entries(tree)
    if unsafe:
        path, why = unsafe[0]
        raise _refuse(archive, os.path.join(subdir, path), why)
    return tree


def _feed(path, pipe, bar):
    """Copy the file at `path` into `pipe`, advancing `bar`; if tar stops reading, its status says
    why. A stop request cuts the stream short (and _extract says why)."""
    with contextlib.suppress(BrokenPipeError), pipe, open(path, "rb") as f:
        while (chunk := f.read(CHUNK)) and not interrupt.requested():
            pipe.write(chunk)
            if bar:
                bar.update(len(chunk))


def _extract(tarball, subdir, root, progress):
    """Write the members under `subdir` of `tarball` below `root`; return the checked tree."""
    flag = DECOMPRESS_FLAG.get(os.path.splitext(tarball)[1])
    if flag is None:
        raise BuildError(f"do not know how to unpack {tarball}")
    bar = progress_bar(os.path.getsize(tarball), f"unpack {os.path.basename(tarball)}", progress)
    try:
        _untar(
            subprocess.PIPE,
            tarball,
            root,
            [arg for arg in (flag, subdir) if arg],
            lambda pipe: _feed(tarball, pipe, bar),
        )
    except BuildError:
        interrupt.check(f"unpacking {tarball}")  # the feed stopped short: say so, not "corrupt"
        raise
    finally:
        if bar:
            bar.close()
    return _safe_tree(root, subdir, tarball)


def _patch(tree, patch):
    """Apply `patch` to `tree`, never asking: with no terminal patch takes its default answers,
    and --forward makes that default for an already applied patch "skip it, and fail"."""
    result = run(
        ["patch", "-p1", "--forward", "--no-backup-if-mismatch", "--reject-file=-", "-d", tree, "-i", patch],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        env=_untranslated(),
    )
    if result.returncode != 0:
        problems = [
            line.strip().removeprefix("patch: **** ")
            for line in result.stdout.splitlines()
            if line.strip() and not line.startswith("patching file")
        ]
        detail = problems[0] if problems else f"status {result.returncode}"
        raise BuildError(f"patch {patch} does not apply ({detail}); refresh it against this source or remove it")


def _pid_is_running(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_scratch(parent):
    """Remove scratch directories in `parent` whose unpack was killed: their pid is not running.

    Scratch directories without a pid predate it and are stale too (one build runs per checkout)."""
    for name in os.listdir(parent):
        if not name.startswith(SCRATCH_PREFIX):
            continue
        pid, dash, _ = name[len(SCRATCH_PREFIX) :].partition("-")
        if dash and pid.isdigit() and _pid_is_running(int(pid)):
            continue
        shutil.rmtree(os.path.join(parent, name), ignore_errors=True)


def _now_in_order(tree):
    """Give every entry of `tree` a time of now, in the order of the times the archive gave them:
    newer than anything built from an earlier tree, yet a file generated from another (strace's
    xlat headers, a configure script) still newer than what it was made from, so that make does
    not make it again, into the sources."""
    paths = [os.path.join(parent, name) for parent, dirs, files in os.walk(tree) for name in dirs + files]
    entries = [(os.lstat(path).st_mtime_ns, path) for path in paths]
    order = {then: rank for rank, then in enumerate(sorted({then for then, _ in entries}))}
    earliest = time.time_ns() - len(order) * 1000  # a microsecond apart, the last one now
    for then, path in entries:
        moment = earliest + order[then] * 1000
        os.utime(path, ns=(moment, moment), follow_symlinks=False)


def _build_in_place(dest, fill, patches, finish=None, replace=True, generate=()):
    """Make `dest` the tree `fill(scratch)` returns, patched, `generate` run in it, then `finish`ed, by renaming it into
    place. Unless `replace`, a `dest` that exists (or that another process renames into place
    meanwhile) is kept and the new tree dropped."""
    parent = os.path.dirname(os.path.abspath(dest))
    os.makedirs(parent, exist_ok=True)
    remove_stale_scratch(parent)
    work = tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-", dir=parent)
    try:
        tree = fill(work)
        for patch in patches:
            _patch(tree, patch)
        if generate:
            done = run(list(generate), cwd=tree, capture_output=True, text=True)
            if done.returncode != 0:
                said = (done.stderr.strip().splitlines() or ["no message"])[-1]
                raise BuildError(f"{' '.join(generate)} failed in the tree of {os.path.basename(dest)}: {said}")
        if finish:
            finish(tree)
        if os.path.exists(dest):
            if not replace:
                return
            shutil.rmtree(dest)
        try:
            os.rename(tree, dest)
        except OSError:
            if replace or not os.path.isdir(dest):
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _seal(tree):
    """Make the files of a kept tree read-only, and its time the time its content was complete."""
    for parent, _, names in os.walk(tree):
        for name in names:
            path = os.path.join(parent, name)
            mode = os.lstat(path).st_mode
            if stat.S_ISREG(mode):
                os.chmod(path, mode & ~0o222)
    now = time.time_ns()
    os.utime(tree, ns=(now, now))


class TreeEdited(BuildError):
    """The tree `tree` was changed since it was unpacked: `paths` (relative to it) are newer than
    its record. `store_dropped`: the change had reached the store's copy, which was dropped."""

    def __init__(self, tree, paths, store_dropped):
        super().__init__(f"{tree} was edited since it was unpacked ({', '.join(paths[:3])})")
        self.tree, self.paths, self.store_dropped = tree, paths, store_dropped


def record_path(tree):
    return f"{tree}.unpacked"


def _write_record(tree, key, made_ns, owner=""):
    record = record_path(tree)
    with open(f"{record}.tmp", "w") as f:
        f.write(f"{key}\n{owner}\n")
    os.utime(f"{record}.tmp", ns=(made_ns, made_ns))
    os.replace(f"{record}.tmp", record)


class EditSearch:
    """A look for what in `tree` was changed since it was unpacked, started at once and read by
    found(), or as its str(). find takes a fifth of a second of CPU over a kernel tree's 80k files:
    two of them, each over half the tree, take half as long on two cores."""

    FINDS = 2

    def __init__(self, tree):
        self.tree, self.finds, self.paths, self.tree_edited = tree, [], None, False
        record = record_path(tree)
        if not (os.path.exists(record) and os.path.isdir(tree)):
            return
        made = os.stat(record).st_mtime_ns
        self.tree_edited = os.stat(tree).st_mtime_ns > made  # an entry added, removed or renamed at the top
        newer = ["-newer", os.path.abspath(record), "-print0"]
        self.finds = [Started(["find", *group, *newer], cwd=tree) for group in balanced(tree, self.FINDS)]

    def found(self):
        """What was changed, as paths relative to the tree ("." the tree itself): files written,
        and directories where an entry was added, removed or renamed. Nothing for a tree without
        a record (one made before records were kept is replaced as it was), or for an empty
        directory (scons makes a target's directory before it builds it)."""
        if self.paths is None:
            listed = ["."] if self.tree_edited and os.listdir(self.tree) else []
            for find in self.finds:
                listed += find.output().split("\0")
            self.paths = sorted(os.path.normpath(path) for path in listed if path)
        return self.paths

    def __str__(self):
        return f"edited: {' '.join(self.found())}" if self.found() else "as unpacked"


def balanced(tree, count):
    """The top-level entries of `tree` in `count` groups of about the same size (a directory's link
    count, its subdirectories, standing for its size)."""
    groups, loads = [[] for _ in range(count)], [0] * count
    entries = [(os.lstat(os.path.join(tree, name)).st_nlink, name) for name in os.listdir(tree)]
    for weight, name in sorted(entries, reverse=True):
        lightest = loads.index(min(loads))
        groups[lightest].append(name)
        loads[lightest] += weight
    return [sorted(group) for group in groups if group]


_searches_started = {}


def _owner(record):
    with contextlib.suppress(OSError, IndexError):
        with open(record) as f:
            return f.read().split("\n")[1]
    return ""


def start_edit_searches(src_dir, unused=()):
    """Start looking for edits in every tree of `src_dir` that has a record, at once, so that the
    searches run while scons reads the components; edit_search(tree) hands each out. Not in the
    trees whose record names an owner in `unused` (the <component>_src options given: the
    component builds from the user's own tree)."""
    for name in os.listdir(src_dir) if os.path.isdir(src_dir) else []:
        record = os.path.join(src_dir, name)
        if name.endswith(".unpacked") and _owner(record) not in unused:
            tree = record.removesuffix(".unpacked")
            _searches_started[tree] = EditSearch(tree)


def edit_search(tree):
    """The search start_edit_searches started for `tree`, or one started now."""
    return _searches_started.pop(tree, None) or EditSearch(tree)


def _drop_if_reached(kept, tree, paths):
    """Drop the kept tree if a file of `tree` changed in `paths` is one of its files (a hard link);
    True if dropped. It is renamed away first, so that no other checkout links it meanwhile."""
    for path in paths:
        mine, theirs = os.path.join(tree, path), os.path.join(kept, path)
        if os.path.isfile(mine) and os.path.isfile(theirs) and os.path.samefile(mine, theirs):
            doomed = os.path.join(os.path.dirname(kept), f"{SCRATCH_PREFIX}{os.getpid()}-dropped")
            os.rename(kept, doomed)
            shutil.rmtree(doomed, ignore_errors=True)
            return True
    return False


def _linked_copy(tree, scratch):
    copy = os.path.join(scratch, "tree")
    _run(["cp", "-al", tree, copy])
    return copy


def _store_usable(store, dest):
    """Whether trees for `dest` can be kept in `store`: on its file system, and writable (a team's
    read-only download cache is not)."""
    parent = os.path.dirname(os.path.abspath(dest))
    os.makedirs(parent, exist_ok=True)
    try:
        os.makedirs(store, exist_ok=True)
    except OSError:
        return False
    return os.access(store, os.W_OK) and os.stat(store).st_dev == os.stat(parent).st_dev


def _run(command, **kwargs):
    result = run(command, **kwargs)
    if result.returncode != 0:
        raise BuildError(f"{' '.join(command)} failed with status {result.returncode}")


def host_tools(archive, inner=None, patches=(), generate=()):
    """The host programs that unpack() runs for these arguments, to check before building."""
    flag = DECOMPRESS_FLAG.get(os.path.splitext(inner or archive)[1], "")
    return [
        "tar",
        *([DECOMPRESSOR[flag]] if flag else []),
        *(["dpkg-deb"] if inner else []),
        *(["patch"] if patches else []),
        *generate[:1],
        *(["automake"] if generate[:1] == ["autoreconf"] else []),  # what autoreconf runs for AM_ macros
    ]


def unpack(archive, dest, subdir, inner=None, patches=(), progress=True, store=None, key="", generate=(), owner=""):
    """Make `dest` the tree `subdir` of `archive` with `patches` applied, then the command `generate`
    run in it (autoreconf, for a tree that comes without its configure).

    `inner` names a tarball inside a Debian binary package, for kernels shipped as
    linux-source-X.deb. `store`: where the trees are kept to be linked (module docstring), each
    under `dest`'s name and a digest of `key`, which names what goes into it (sha256, patches).
    A `dest` edited since it was unpacked is left as it is: this raises TreeEdited. `owner`,
    recorded beside the tree, is the option that builds its component from a tree of the user's
    own instead (start_edit_searches)."""
    kept = None
    if store and _store_usable(store, dest):
        digest = hashlib.sha256(f"{STORE_LAYOUT} {key}".encode()).hexdigest()[:16]
        kept = os.path.join(store, f"{os.path.basename(dest)}-{digest}")
    changed = EditSearch(dest).found()
    if changed:
        raise TreeEdited(dest, changed, bool(kept) and os.path.isdir(kept) and _drop_if_reached(kept, dest, changed))
    with contextlib.suppress(FileNotFoundError):  # a tree being replaced is not the one it recorded
        os.unlink(record_path(dest))

    def fill(scratch):
        tarball = archive
        if inner:
            tarball = os.path.join(scratch, os.path.basename(inner))
            with open(tarball, "wb") as out:
                deb = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", archive], stdout=subprocess.PIPE)
                _run(["tar", "-xO", "-f", "-", "./" + inner.lstrip("./")], stdin=deb.stdout, stdout=out)
                if deb.wait() != 0:
                    raise BuildError(f"dpkg-deb could not read {archive}")
        root = os.path.join(scratch, "archive")
        os.mkdir(root)
        tree = _extract(tarball, subdir, root, progress)
        _now_in_order(tree)
        return tree

    if not kept:
        _build_in_place(dest, fill, patches, generate=generate)
        _write_record(dest, key, time.time_ns(), owner)
        return
    if not os.path.isdir(kept):
        _build_in_place(kept, fill, patches, finish=_seal, replace=False, generate=generate)
    _build_in_place(dest, lambda scratch: _linked_copy(kept, scratch), ())
    _write_record(dest, key, os.stat(kept).st_mtime_ns, owner)
