"""Lock files pin a file that a Debian package provides and that moves with updates.

A lock is `key = value` lines: package, version, filename, sha256 and size (in bytes;
locks written before it was recorded lack it, and their download is not capped). `refresh`
asks apt for the current candidate and writes its pin; the file is then fetched and
verified like any other source.
"""

import subprocess

from rvbuild import BuildError
from rvbuild.fetch import Debian, Source

FIELDS = ("package", "version", "filename", "sha256")
OPTIONAL_FIELDS = ("size",)


def read(path):
    pin = {}
    with open(path) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                key, _, value = line.partition("=")
                pin[key.strip()] = value.strip()
    missing = [field for field in FIELDS if not pin.get(field)]
    if missing:
        raise BuildError(f"{path} lacks {', '.join(missing)}; rewrite it with the refresh command it names")
    if not pin.get("size", "0").isdigit():
        raise BuildError(
            f"{path}: size = {pin['size']} is not a number of bytes; rewrite it with the refresh command it names"
        )
    return pin


def source(path, refresh_command):
    """The pinned .deb as a Source."""
    pin = read(path)
    return Source(
        pin["filename"],
        pin["sha256"],
        size=int(pin["size"]) if "size" in pin else None,
        debian=Debian(
            pin["package"],
            version=pin["version"],
            binary=True,
            refresh=f"run `{refresh_command}` to pin the current one, then commit {path}",
        ),
    )


def current(package, run=subprocess.run):
    """What apt would download for `package` now: (version, filename, sha256, size)."""
    out = run(["apt-get", "download", "--print-uris", package], capture_output=True, text=True)
    for line in out.stdout.splitlines():
        parts = line.replace("'", "").split()
        if len(parts) == 4 and parts[3].startswith("SHA256:") and parts[2].isdigit():
            filename = parts[1]
            version = filename.split("_")[1].replace("%3a", ":")
            return version, filename, parts[3].split(":", 1)[1], int(parts[2])
    raise BuildError(
        f"apt knows no {package}: check the version in its name, or run `apt-get update` (or ./setup) and try again"
    )


def refresh(path, package, comment):
    version, filename, sha256, size = current(package)
    with open(path, "w") as f:
        f.write(f"# {comment}\n")
        for key, value in zip(FIELDS + OPTIONAL_FIELDS, (package, version, filename, sha256, size), strict=True):
            f.write(f"{key} = {value}\n")
    return version
