"""SCons tool: the root filesystem image, and the SSH key pair that logs into it.

env.RootFilesystem(target, items, overlay, permissions, dirs, symlinks, size)
env.SshKeyPair(target)   generated once per build directory; its .pub is authorized in the image
"""
import dataclasses
import os

from rvbuild import hosttools, rootfs
from rvbuild.actions import action
from rvbuild.run import RUN_TOOLS, output


def _rootfs(target, source, env):
    spec = env["RV_ROOTFS"]
    root = os.path.join(target[0].dir.abspath, "rootfs")
    rootfs.stage(root, spec["overlay"], spec["items"], spec["dirs"], spec["symlinks"],
                 rootfs.read_permissions(spec["permissions"]))
    rootfs.make_ext4(root, target[0].abspath, spec["size"])


def RootFilesystem(env, target, items, overlay, permissions, dirs=(), symlinks=None, size="64M"):
    hosttools.require("fakeroot", "mkfs.ext4", "debugfs", *RUN_TOOLS)
    overlay = env.Dir(overlay).srcnode()
    permissions = env.File(permissions).srcnode()
    overlay_files = [env.File(os.path.join(directory, name))
                     for directory, _, names in os.walk(overlay.abspath) for name in names]
    nodes = [item.source for item in items]
    resolved = [dataclasses.replace(item, source=item.source.abspath) for item in items]
    spec = dict(overlay=overlay.abspath, permissions=permissions.abspath, items=resolved,
                dirs=list(dirs), symlinks=dict(symlinks or {}), size=size)
    layout = env.Value(repr(spec))
    # How the image is made lives in rvbuild/rootfs.py: a change there rebuilds it.
    assembly = env.File(rootfs.__file__)
    return env.Command(target, nodes + overlay_files + [permissions, layout, assembly],
                       action(_rootfs, "ROOTFS   $TARGET"), RV_ROOTFS=spec)


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
    pair = env.Command([target, target + ".pub"], [], action(_keygen, "SSHKEY   $TARGET"))
    env.NoClean(pair)
    env.Precious(pair)
    return pair


def generate(env):
    env.AddMethod(RootFilesystem)
    env.AddMethod(SshKeyPair)


def exists(env):
    return True
