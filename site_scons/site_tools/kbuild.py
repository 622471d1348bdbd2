"""SCons tool: the Linux kernel, built by its own Kbuild.

env.LinuxKernel(tree, fragments, debug=False) declares, in the calling SConscript's build directory:
- kernel.config: allnoconfig plus the fragments (checked to be Kconfig lines when
  declared, so a typo fails before anything builds), merged by the kernel's
  scripts/kconfig/merge_config.sh in kconfig/; every requested option is checked
  to have stuck, and the file is rewritten only when its content changes, so a
  comment-only fragment edit stops here.
- Image and vmlinux: `make Image` in obj/, which SCons never deletes, so Kbuild
  rebuilds incrementally.
- vmlinux-gdb.py beside vmlinux, if debug (the fragments ask for debug info and gdb scripts):
  it loads the kernel's gdb scripts that `make scripts_gdb` puts in obj/.
"""

import os
import time

from build_action import action, label
from rvbuild import BUILD_EPOCH, BuildError, gdb, hosttools, kconfig, lock, toolchain
from rvbuild.files import copy_if_changed, write_if_changed
from rvbuild.run import RUN_TOOLS, run_logged

KERNEL_TOOLS = ["make", "gcc", "flex", "bison", "bc", "perl", *RUN_TOOLS]


def _make_variables(env, tree, obj, ccache=True):
    cross = env["KERNEL_CROSS"]
    return {
        "ARCH": env["KERNEL_ARCH"],
        "CROSS_COMPILE": f"ccache {cross}" if ccache and env["CCACHE"] else cross,
        # ccache (base_dir) hands the compiler source paths relative to obj/, which Kbuild's own
        # -fmacro-prefix-map (for the absolute path) misses: map them too, or __FILE__ would differ
        # between a compile and a cache hit.
        "KCFLAGS": f"-fmacro-prefix-map={os.path.relpath(tree, obj)}/=",
        # Identical inputs give an identical Image, so nothing downstream rebuilds for nothing.
        "KBUILD_BUILD_TIMESTAMP": time.strftime("%a %b %d %H:%M:%S UTC %Y", time.gmtime(BUILD_EPOCH)),
        "KBUILD_BUILD_USER": "rvbuild",
        "KBUILD_BUILD_HOST": "rvbuild",
        "KBUILD_BUILD_VERSION": "1",
    }


def _make(env, obj, goal, ccache=True):
    """The kernel's make for `goal`, out of tree in `obj`, with the build's make variables."""
    tree = env["RV_TREE"].path
    variables = [f"{name}={value}" for name, value in _make_variables(env, tree, obj, ccache).items()]
    return ["make", "-C", tree, f"O={obj}", *variables, goal]


def _ccache_environment(env):
    # Debug info names the directory a file was compiled in, where gdb looks for its source: a
    # debug kernel's compiles hash their directory (all else shares the cache across checkouts).
    return {"CCACHE_NOHASHDIR": None} if env.get("RV_DEBUG") else {}


def _objdir(target):
    return os.path.join(target[0].dir.abspath, "obj")


def _merge_config(target, source, env):
    tree = env["RV_TREE"].path
    scratch = os.path.join(target[0].dir.abspath, "kconfig")
    os.makedirs(scratch, exist_ok=True)
    fragments = env["RV_FRAGMENTS"]
    run_logged(
        [[os.path.join(tree, "scripts/kconfig/merge_config.sh"), "-n", "-O", scratch, "/dev/null", *fragments]],
        env["RV_LOG"],
        cwd=tree,
        extra_env=_make_variables(env, tree, _objdir(target)),
    )
    merged = os.path.join(scratch, ".config")
    misses = kconfig.not_stuck(kconfig.requested(fragments), kconfig.read(merged))
    if misses:
        raise BuildError(
            f"kernel options did not stick: {kconfig.describe(misses)}; "
            f"check their spelling and what they depend on (`make O={scratch} menuconfig` "
            f"in {tree}, then search with /)"
        )
    with open(merged) as f:
        write_if_changed(target[0].abspath, f.read())


def _build_kernel(target, source, env):
    obj = _objdir(target)
    os.makedirs(obj, exist_ok=True)
    copy_if_changed(source[0].abspath, os.path.join(obj, ".config"))
    run_logged([_make(env, obj, "Image")], env["RV_LOG"], extra_env=_ccache_environment(env))
    for built, node in zip([f"arch/{env['KERNEL_ARCH']}/boot/Image", "vmlinux"], target, strict=True):
        copy_if_changed(os.path.join(obj, built), node.abspath)


def _kconfig_scratch(source):
    return os.path.join(source[0].dir.abspath, "menuconfig")


def _menuconfig(target, source, env):
    scratch = _kconfig_scratch(source)
    command = _make(env, scratch, "menuconfig", ccache=False)
    header = f"Kept by `scons linux-menuconfig` for {env['VARIANT']}"
    print(kconfig.configure_interactively(command, source[0].abspath, scratch, env["RV_MENUCONFIG_FRAGMENT"], header))


def _savedefconfig(target, source, env):
    scratch = _kconfig_scratch(source)
    os.makedirs(scratch, exist_ok=True)
    copy_if_changed(source[0].abspath, os.path.join(scratch, ".config"))
    run_logged([_make(env, scratch, "savedefconfig", ccache=False)], env["RV_LOG"])
    with open(os.path.join(scratch, "defconfig")) as f:
        print(f"{f.read()}(the minimal config, against the kernel's defaults: {scratch}/defconfig)")


def _build_gdb_scripts(target, source, env):
    run_logged([_make(env, _objdir(target), "scripts_gdb")], env["RV_LOG"], extra_env=_ccache_environment(env))
    write_if_changed(target[0].abspath, gdb.SCRIPTS_LOADER)


def LinuxKernel(env, tree, fragments, debug=False):
    hosttools.require(*KERNEL_TOOLS, env["KERNEL_CROSS"] + "gcc")
    if env["CCACHE"]:
        hosttools.require("ccache")
    kept = kconfig.kept_fragment(env.Dir(".").srcnode().abspath, env["VARIANT"])
    if os.path.exists(kept):
        fragments = [*fragments, kept]
    fragments = [env.File(fragment).srcnode() for fragment in fragments]
    kconfig.requested([fragment.abspath for fragment in fragments])  # a line that is not Kconfig fails here
    compiler = env.Value(
        f"{toolchain.compiler_version(env['KERNEL_CROSS'] + 'gcc')} "
        f"{sorted(_make_variables(env, tree.path, env.Dir('obj').abspath, ccache=False).items())}"
    )
    log = env.File("$LOG_DIR/linux.log").abspath
    overrides = dict(RV_TREE=tree, RV_LOG=log, RV_FRAGMENTS=[f.abspath for f in fragments], RV_DEBUG=debug)
    config = env.Command(
        "kernel.config", fragments + tree.nodes + [compiler], action(_merge_config, label(env, "KCONFIG")), **overrides
    )
    env.Precious(config)
    kernel = env.Command(
        ["Image", "vmlinux"], config + tree.nodes + [compiler], action(_build_kernel, label(env, "LINUX")), **overrides
    )
    env.Clean(kernel, [env.Dir("obj"), env.Dir("kconfig"), env.Dir("menuconfig")])
    if debug:  # its debug info names this checkout's directories, and its gdb scripts need obj/
        env.NoCache(config, kernel)
    configure = env.Clone(RV_MENUCONFIG_FRAGMENT=kept, **overrides)
    configure.AlwaysBuild(configure.Alias("linux-menuconfig", config, action(_menuconfig, None)))
    configure.AlwaysBuild(configure.Alias("linux-savedefconfig", config, action(_savedefconfig, None)))
    if not debug:
        return kernel
    scripts = env.Command(
        "vmlinux-gdb.py",
        config + tree.nodes + [compiler, env.Value(gdb.SCRIPTS_LOADER)],
        action(_build_gdb_scripts, label(env, "GDB")),
        **overrides,
    )
    env.Requires(scripts, kernel)  # one make at a time in obj/
    env.NoCache(scripts)
    return kernel + scripts


def _update_kernel_lock(target, source, env):
    version = env["KERNEL_VERSION"]
    path = env.File(f"#components/linux/linux-{version}.lock").abspath
    pinned = lock.refresh(
        path,
        f"linux-source-{version}",
        f"Pinned by `scons update-kernel-lock kernel={version}`: review the change, then commit it.",
    )
    print(f"{path}: linux-source-{version} {pinned}")


def KernelLockTarget(env):
    """`scons update-kernel-lock`: pin the kernel package apt offers now, for review."""
    env.AlwaysBuild(env.Alias("update-kernel-lock", [], action(_update_kernel_lock, None)))


def generate(env):
    env.SetDefault(KERNEL_ARCH="riscv", CCACHE=True)
    env.AddMethod(LinuxKernel)
    env.AddMethod(KernelLockTarget)


def exists(env):
    return True
