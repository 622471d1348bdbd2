"""SCons tool: the root filesystem image, the SSH key pair that logs into it, and its host key.

env.RootFilesystem(target, items, overlays, dirs, symlinks, size=, headroom=)
                         overlays: folders copied over the packages' files in order, each with
                         the modes of its table <folder>.permissions beside it, if there is one;
                         size: mkfs.ext4's (32M), or "" for what it holds plus headroom (16M) free
env.ProjectOverlays()    the project's overlays for the variant: overlays/common, overlays/<variant>
env.SshKeyPair(target)   generated once per build directory; its .pub is authorized in the image
env.SshHostKey(target)   the guest's host key, generated once per build directory: a key pair at
                         `target`, its Dropbear form for the image, and the known_hosts file that
                         trusts it; a new key rebuilds the image and rewrites known_hosts
"""

import dataclasses
import os
import subprocess

from build_action import action, label
from rvbuild import BuildError, hosttools, qemu, rootfs, sharing, variants
from rvbuild import options as checked
from rvbuild.commands import Option
from rvbuild.run import RUN_TOOLS, output
from rvbuild.sysroot import Staged

OPTIONS = [
    Option(
        "rootfs_size",
        "size of the ext4 root filesystem image (32M, 1G); by default sized for what it holds plus rootfs_headroom",
        check=checked.rootfs_size,
    ),
    Option(
        "rootfs_headroom",
        "free space the guest gets in an image sized for what it holds",
        "16M",
        check=checked.rootfs_headroom,
    ),
]


def _rootfs(target, source, env, spec):
    root = os.path.join(target[0].dir.abspath, "rootfs")
    permissions = {}
    for table in spec["permissions"]:
        permissions.update(rootfs.read_permissions(table))
    rootfs.stage(root, spec["overlays"], spec["items"], spec["dirs"], spec["symlinks"], permissions)
    rootfs.make_ext4(root, target[0].abspath, spec["size"], checked.size_in_bytes(spec["headroom"]))


def _path(value):
    return tuple(map(_path, value)) if isinstance(value, tuple) else getattr(value, "abspath", value)


def _nodes(item):
    """The nodes an image item (rvbuild.rootfs) names, in its fields or tuples of them."""
    values = [getattr(item, field.name) for field in dataclasses.fields(item)]
    flat = [v for value in values for v in (value if isinstance(value, tuple) else (value,))]
    return [value for value in flat if hasattr(value, "abspath")]


def _resolved(item):
    """`item` with absolute paths for its nodes."""
    return dataclasses.replace(item, **{f.name: _path(getattr(item, f.name)) for f in dataclasses.fields(item)})


def RootFilesystem(env, target, items, overlays, dirs=(), symlinks=None, *, size, headroom):
    items = [item for item in items if not isinstance(item, Staged)]  # for building, not for the image
    hosttools.require("fakeroot", "mkfs.ext4", "debugfs", "dumpe2fs", *RUN_TOOLS)
    if any(isinstance(item, rootfs.KernelModules) for item in items):
        hosttools.require("depmod")
    overlays = [env.Dir(overlay).srcnode() for overlay in overlays]
    tables = [env.File(f"{overlay.abspath}.permissions") for overlay in overlays]
    tables = [table for table in tables if os.path.exists(table.abspath)]
    overlay_files = [
        env.File(os.path.join(directory, name))
        for overlay in overlays
        for directory, _, names in os.walk(overlay.abspath)
        for name in names
    ]
    nodes = [node for item in items for node in _nodes(item)]
    resolved = [_resolved(item) for item in items]
    spec = dict(
        overlays=[overlay.abspath for overlay in overlays],
        permissions=[table.abspath for table in tables],
        items=resolved,
        dirs=list(dirs),
        symlinks=dict(symlinks or {}),
        size=size,
        headroom=headroom,
    )
    layout = env.Value(sharing.checkout_relative(repr(spec), env.Dir("#").abspath))
    # How the image is made lives in rvbuild/rootfs.py: a change there rebuilds it.
    assembly = env.File(rootfs.__file__)
    return env.Command(
        target,
        nodes + overlay_files + tables + [layout, assembly],
        action(_rootfs, label(env, "ROOTFS"), spec=spec),
    )


def ProjectOverlays(env):
    top = env.Dir("#overlays")
    names = sorted(os.listdir(top.abspath)) if os.path.isdir(top.abspath) else []
    known = ["common", *variants.names(env.Dir("#variants").abspath)]
    for name in names:
        if os.path.isdir(os.path.join(top.abspath, name)) and name not in known:
            raise BuildError(f"overlays/{name} is for no variant; name it common or one of: {', '.join(known[1:])}")
    return [top.Dir(name) for name in ("common", env["VARIANT_NAME"]) if name in names]


def _keygen(target, source, env):
    key = target[0].abspath
    if os.path.exists(key) and os.path.exists(key + ".pub"):
        return  # made once per build directory: losing .sconsign must not change who may log in
    for path in (key, key + ".pub"):
        if os.path.exists(path):
            os.unlink(path)
    output(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "rvbuild", "-f", key])


def SshKeyPair(env, target):
    hosttools.require("ssh-keygen")
    pair = env.Command([target, target + ".pub"], [], action(_keygen, label(env, "SSHKEY")))
    env.NoClean(pair)
    env.Precious(pair)
    env.NoCache(pair)  # keys are this checkout's own, never shared through cache_dir=
    return pair


def _unusable_host_key(key, stderr):
    last_line = (stderr.strip().splitlines() or ["unreadable"])[-1]
    return BuildError(
        f"the host key {key} is unusable ({last_line}): fix it, or delete it and its .pub to have a new one made"
    )


def _dropbear_key(target, source, env):
    converted = target[0].abspath + ".tmp"
    if os.path.exists(converted):
        os.unlink(converted)
    result = subprocess.run(
        ["dropbearconvert", "openssh", "dropbear", source[0].abspath, converted], capture_output=True, text=True
    )
    if result.returncode != 0:
        raise _unusable_host_key(source[0], result.stderr)
    os.replace(converted, target[0].abspath)


def _known_hosts(target, source, env):
    # From the private key, as the image's copy is: a stale .pub beside it cannot disagree.
    result = subprocess.run(["ssh-keygen", "-y", "-f", source[0].abspath], capture_output=True, text=True)
    if result.returncode != 0:
        raise _unusable_host_key(source[0], result.stderr)
    with open(target[0].abspath, "w") as f:
        f.write(qemu.known_hosts_line(result.stdout))


def SshHostKey(env, target):
    """Returns dict(dropbear=the key for the image, known_hosts=the file ssh checks it against)."""
    hosttools.require("dropbearconvert")
    private, _ = env.SshKeyPair(target)
    directory = os.path.dirname(target)
    show = label(env, "HOSTKEY")
    dropbear = env.Command(f"{directory}/dropbear_ed25519_host_key", private, action(_dropbear_key, show))
    known_hosts = env.Command(
        f"{directory}/known_hosts", [private, env.Value(qemu.HOST_KEY_ALIAS)], action(_known_hosts, show)
    )
    env.NoCache(dropbear, known_hosts)
    return dict(dropbear=dropbear[0], known_hosts=known_hosts[0])


def generate(env):
    env.AddMethod(RootFilesystem)
    env.AddMethod(ProjectOverlays)
    env.AddMethod(SshKeyPair)
    env.AddMethod(SshHostKey)


def exists(env):
    return True
