"""A freshly installed Debian 12 in a folder: a minbase root made by mmdebstrap, entered with chroot
inside a private mount namespace (so its mounts vanish with the command), as root or as a normal user.

The root tarball is cached in ~/.cache/rvbuild/fresh-root/, keyed on everything that shapes it: the
mmdebstrap command line and version and the host's apt sources. What it holds is only Debian's:
whatever rvbuild needs beyond it must come from ./setup.
"""

import hashlib
import os
import shlex
import shutil
import subprocess

SOURCES = "/etc/apt/sources.list.d/debian.sources"
# A snapshot archive's Release files are old: apt here is told not to mind, and so is the root.
APT_OPTIONS = ['Acquire::Check-Valid-Until "false"', 'Acquire::Check-Date "false"']
# ca-certificates: a freshly installed Debian has it; the host's bundle is copied over it, because
# HTTPS here goes through a CA that a bare root does not trust.
MMDEBSTRAP = [
    "mmdebstrap",
    "--quiet",
    "--variant=minbase",
    "--format=tar",  # whatever the file is named: the partial file's name does not end in .tar
    "--include=ca-certificates",
    *(f"--aptopt={option}" for option in APT_OPTIONS),
    "bookworm",
]
# The host's network settings for apt, pip and name lookups.
COPIED_IN = ["/etc/ssl/certs/ca-certificates.crt", "/etc/pip.conf", "/etc/xdg/pip", "/etc/resolv.conf"]
USER = "newcomer"
# A normal user's environment on Debian: no sbin directories on PATH.
USER_ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "HOME": f"/home/{USER}",
    "USER": USER,
    "LOGNAME": USER,
    "LANG": "C.UTF-8",
    "TERM": "dumb",
}


def cache_dir():
    return os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "rvbuild", "fresh-root")


def tarball(log):
    """The cached root tarball, made first if missing; returns its path."""
    version = subprocess.run(["mmdebstrap", "--version"], capture_output=True, text=True).stdout
    with open(SOURCES, "rb") as f:
        key = hashlib.sha256(repr((MMDEBSTRAP, version)).encode() + f.read()).hexdigest()[:16]
    path = os.path.join(cache_dir(), f"bookworm-minbase-{key}.tar")
    if not os.path.exists(path):
        os.makedirs(cache_dir(), exist_ok=True)
        partial = f"{path}.{os.getpid()}.part"
        with open(log, "a") as out:
            subprocess.run([*MMDEBSTRAP, partial, SOURCES], stdout=out, stderr=subprocess.STDOUT, check=True)
        os.replace(partial, path)
    return path


class FreshRoot:
    def __init__(self, path, binds):
        """`binds`: host path -> path inside the root, bound read-write while a command runs."""
        self.path = path
        self.binds = binds

    @classmethod
    def unpack(cls, tar, path, binds=None):
        os.makedirs(path)
        subprocess.run(["tar", "-x", "-f", tar, "-C", path], check=True)
        for name in COPIED_IN:
            dest = path + name
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            if os.path.isdir(name):
                shutil.copytree(name, dest, dirs_exist_ok=True)
            elif os.path.exists(name):
                shutil.copy(name, dest)
        return cls(path, binds or {})

    def command(self, script, user=False, network=True, umask="022", env=None):
        """The argv that runs the shell `script` in the root: as root, or as the normal user with a
        normal user's environment; `network=False` runs it with no network at all."""
        mounts = [
            f"mount -t proc proc {self.path}/proc",
            f"mount --rbind /dev {self.path}/dev",
            f"mount --rbind /sys {self.path}/sys",
        ]
        for host, inside in self.binds.items():
            mounts += [f"mkdir -p {self.path}{inside}", f"mount --bind {shlex.quote(host)} {self.path}{inside}"]
        inner = f"umask {umask}; {script}"
        if user:
            variables = [f"{name}={value}" for name, value in {**USER_ENV, **(env or {})}.items()]
            enter = [
                "setpriv",
                f"--reuid={USER}",
                f"--regid={USER}",
                "--init-groups",
                "env",
                "-i",
                *variables,
                "sh",
                "-c",
                f"cd; {inner}",
            ]
        else:
            enter = ["env", *(f"{name}={value}" for name, value in (env or {}).items()), "sh", "-c", inner]
        outer = " && ".join(mounts) + f" && exec chroot {self.path} " + shlex.join(enter)
        return ["unshare", "--mount", "--fork", *([] if network else ["--net"]), "sh", "-c", outer]

    def run(self, script, log, **options):
        """Run `script` (see command()), its output appended to `log`; returns the exit status."""
        with open(log, "a") as out:
            out.write(f"\n$ {script}\n")
            out.flush()
            return subprocess.call(
                self.command(script, **options), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
