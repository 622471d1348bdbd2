"""SCons tool: the Linux kernel, built by its own Kbuild.

env.LinuxKernel(tree, fragments, debug=False) declares, in the calling SConscript's build directory:
- kernel.config: allnoconfig plus the fragments (checked to be Kconfig lines when
  declared, so a typo fails before anything builds), made in kconfig/ with the
  fragments' values as KCONFIG_ALLCONFIG; every requested option is checked
  to have stuck, and the file is rewritten only when its content changes, so a
  comment-only fragment edit stops here.
- Image, vmlinux, modules.tar and kernel.release: `make Image modules` in obj/, which SCons
  never deletes, so Kbuild rebuilds incrementally, then `make modules_install` into
  modules-install/; modules.tar holds what it installed (the `=m` options' modules and Kbuild's
  lists of them), packed reproducibly and rewritten only when its bytes change, so a kernel edit
  that leaves the modules as they were does not reach the image.
- vmlinux-gdb.py beside vmlinux, if debug (the fragments ask for debug info and gdb scripts):
  it loads the kernel's gdb scripts that `make scripts_gdb` puts in obj/.
It returns a dict of those nodes, and `kbuild`, what env.KernelModule builds against.

env.KernelModule(target, directory, kernel) builds the out-of-tree module in `directory` (a Kbuild
file naming <name>.o, <name> being the directory's name) against `kernel` (LinuxKernel's dict):
its files are copied to src/ beside `target` and built there with Kbuild's M=, after the kernel's
make (never beside it in obj/); `target` is the stripped <name>.ko.
"""

import dataclasses
import os
import shutil
import time

from build_action import action, label
from rvbuild import BUILD_EPOCH, BuildError, bisect, gdb, hosttools, kconfig, lock, modules, toolchain
from rvbuild import options as checked
from rvbuild.commands import BOOL, Command, Option
from rvbuild.files import copy_if_changed, prepared_objdir, write_if_changed
from rvbuild.run import RUN_TOOLS, run_logged
from rvbuild.toolchain import compile_with, host_compiler

COMMANDS = [
    Command(
        "linux-menuconfig",
        "the kernel's menuconfig; what you change is kept in components/linux/menuconfig-<variant>.config",
        one_variant=True,
        terminal=True,
    ),
    Command("linux-savedefconfig", "print the kernel's minimal config", one_variant=True),
    Command(
        "update-kernel-lock",
        "pin the kernel package apt offers now (components/linux/linux-<version>.lock)",
        reads_components=False,
    ),
]
OPTIONS = [
    Option(
        "kernel",
        "Linux version instead of the variant's (a components/linux/linux-<version>.lock)",
        check=checked.kernel,
    ),
    Option(
        "debug",
        "kernel with debug info and gdb scripts, for `scons debug`; it and its firmware build in "
        "build/<variant>-debug, the rest is shared with build/<variant>",
        False,
        kind=BOOL,
    ),
]
KERNEL_TOOLS = ["make", "gcc", "flex", "bison", "bc", "perl", *RUN_TOOLS]


def _make_variables(env, tree, obj, ccache=True, module=None):
    cross = env["KERNEL_CROSS"]
    # ccache (base_dir) hands the compiler source paths relative to obj/, which Kbuild's own
    # -fmacro-prefix-map (for the absolute path) misses: map them too, or __FILE__ would differ
    # between a compile and a cache hit. An out-of-tree module's own directory is mapped out too.
    prefix_maps = [os.path.relpath(tree, obj)] + ([module, os.path.relpath(module, obj)] if module else [])
    return {
        "ARCH": env["KERNEL_ARCH"],
        "CROSS_COMPILE": cross,
        # Only the compiler behind ccache: the nm, ar and objcopy Kbuild runs per object gain nothing.
        "CC": compile_with(env, f"{cross}gcc") if ccache else f"{cross}gcc",
        "HOSTCC": host_compiler(env) if ccache else "gcc",
        "KCFLAGS": " ".join(f"-fmacro-prefix-map={path}/=" for path in prefix_maps),
        # Identical inputs give an identical Image, so nothing downstream rebuilds for nothing.
        "KBUILD_BUILD_TIMESTAMP": time.strftime("%a %b %d %H:%M:%S UTC %Y", time.gmtime(BUILD_EPOCH)),
        "KBUILD_BUILD_USER": "rvbuild",
        "KBUILD_BUILD_HOST": "rvbuild",
        "KBUILD_BUILD_VERSION": "1",
    }


def _make(env, tree, obj, *goals, ccache=True, module=None):
    """The kernel's make for `goals` in `tree`, out of tree in `obj`, with the build's make
    variables (and M=`module` for an out-of-tree module)."""
    variables = [f"{name}={value}" for name, value in _make_variables(env, tree, obj, ccache, module).items()]
    # Not a setting (_make_variables): nm reads objects, it does not change them.
    variables.append(f"NM={toolchain.nm_without_plugin_search(env['KERNEL_CROSS'])}")
    return ["make", "-C", tree, f"O={obj}", *variables, *([f"M={module}"] if module else []), *goals]


def _modules_install(env, tree, obj, staging, **module):
    """make modules_install into `staging` (emptied first), stripped; depmod runs on the image."""
    if os.path.exists(staging):
        shutil.rmtree(staging)
    install = [f"INSTALL_MOD_PATH={staging}", "INSTALL_MOD_STRIP=1", "DEPMOD=true"]
    if module:
        install.append(f"INSTALL_MOD_DIR={modules.EXTRA}")
    return _make(env, tree, obj, "modules_install", *install, **module)


@dataclasses.dataclass(frozen=True)
class Kernel:
    """What the kernel's steps are given: its tree, log, config fragments, and whether it is built
    for debugging (debug=1)."""

    tree: object
    log: str
    fragments: list
    debug: bool
    kept: str  # the fragment `scons linux-menuconfig` keeps
    bisecting: bool = False  # a step of `scons bisect`: options that do not stick are reported only

    def ccache_environment(self):
        # Debug info names the directory a file was compiled in, where gdb looks for its source: a
        # debug kernel's compiles hash their directory (all else shares the cache across checkouts).
        return {"CCACHE_NOHASHDIR": None} if self.debug else {}

    def prepared(self, directory):
        """`directory` (obj/, kconfig/), emptied first if it was built from another tree: Kbuild
        tracks its command lines, not which tree its sources came from."""
        return prepared_objdir(directory, f"tree {self.tree.content()}\n")


def _objdir(target):
    return os.path.join(target[0].dir.abspath, "obj")


def _merge_config(target, source, env, kernel):
    """allnoconfig with the fragments' values (later fragments winning), in kconfig/. As the kernel's
    merge_config.sh -n does, minus its shell loops, and with our make variables (HOSTCC through
    ccache), which it would not pass to its make."""
    tree = kernel.tree.path
    scratch = kernel.prepared(os.path.join(target[0].dir.abspath, "kconfig"))
    wanted = kconfig.requested(kernel.fragments)
    allconfig = os.path.join(scratch, "fragments.config")
    write_if_changed(allconfig, "".join(kconfig.line(name, value) + "\n" for name, value in wanted.items()))
    run_logged([_make(env, tree, scratch, f"KCONFIG_ALLCONFIG={allconfig}", "allnoconfig")], kernel.log)
    merged = os.path.join(scratch, ".config")
    misses = kconfig.not_stuck(wanted, kconfig.read(merged))
    if misses and kernel.bisecting:  # a commit of another time: its Kconfig may lack or rename them
        print(f"rvbuild: warning: {bisect.NOT_STUCK} at this commit: {kconfig.describe(misses)}", flush=True)
    elif misses:
        raise BuildError(
            f"kernel options did not stick: {kconfig.describe(misses)}; "
            f"check their spelling and what they depend on (`make O={scratch} menuconfig` "
            f"in {tree}, then search with /)"
        )
    with open(merged) as f:
        write_if_changed(target[0].abspath, f.read())


def _release(obj):
    """The kernel release (uname -r) of the kernel built in `obj`."""
    with open(os.path.join(obj, "include/config/kernel.release")) as f:
        return f.read().strip()


def _build_kernel(target, source, env, kernel):
    obj, tree = kernel.prepared(_objdir(target)), kernel.tree.path
    copy_if_changed(source[0].abspath, os.path.join(obj, ".config"))
    staging = os.path.join(target[0].dir.abspath, "modules-install")
    run_logged(
        [_make(env, tree, obj, "Image", "modules"), _modules_install(env, tree, obj, staging)],
        kernel.log,
        extra_env=kernel.ccache_environment(),
    )
    image, vmlinux, archive, release_file = target
    for built, node in zip([f"arch/{env['KERNEL_ARCH']}/boot/Image", "vmlinux"], [image, vmlinux], strict=True):
        copy_if_changed(os.path.join(obj, built), node.abspath)
    release = _release(obj)
    write_if_changed(archive.abspath, modules.pack(os.path.join(staging, "lib/modules", release)))
    write_if_changed(release_file.abspath, release + "\n")


def _kconfig_scratch(source):
    return os.path.join(source[0].dir.abspath, "menuconfig")


def _menuconfig(target, source, env, kernel):
    scratch = _kconfig_scratch(source)
    command = _make(env, kernel.tree.path, scratch, "menuconfig", ccache=False)
    header = f"Kept by `scons linux-menuconfig` for {env['VARIANT']}"
    print(kconfig.configure_interactively(command, source[0].abspath, scratch, kernel.kept, header))


def _savedefconfig(target, source, env, kernel):
    scratch = _kconfig_scratch(source)
    os.makedirs(scratch, exist_ok=True)
    copy_if_changed(source[0].abspath, os.path.join(scratch, ".config"))
    run_logged([_make(env, kernel.tree.path, scratch, "savedefconfig", ccache=False)], kernel.log)
    with open(os.path.join(scratch, "defconfig")) as f:
        print(f"{f.read()}(the minimal config, against the kernel's defaults: {scratch}/defconfig)")


def _build_gdb_scripts(target, source, env, kernel):
    make = _make(env, kernel.tree.path, _objdir(target), "scripts_gdb")
    run_logged([make], kernel.log, extra_env=kernel.ccache_environment())
    write_if_changed(target[0].abspath, gdb.SCRIPTS_LOADER)


def LinuxKernel(env, tree, fragments, debug=False):
    hosttools.require(*KERNEL_TOOLS, env["KERNEL_CROSS"] + "gcc")
    if env["ccache"]:
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
    given = Kernel(tree, log, [f.abspath for f in fragments], debug, kept, env["bisect_step"])
    config = env.Command(
        "kernel.config", fragments + tree.nodes + [compiler], action(_merge_config, label(env, "KCONFIG"), kernel=given)
    )
    env.Precious(config)
    kernel = env.Command(
        ["Image", "vmlinux", "modules.tar", "kernel.release"],
        config + tree.nodes + [compiler],
        action(_build_kernel, label(env, "LINUX"), kernel=given),
    )
    env.Clean(kernel, [env.Dir("obj"), env.Dir("kconfig"), env.Dir("menuconfig"), env.Dir("modules-install")])
    if debug:  # its debug info names this checkout's directories, and its gdb scripts need obj/
        env.NoCache(config, kernel)
    env.AlwaysBuild(env.Alias("linux-menuconfig", config, action(_menuconfig, kernel=given)))
    env.AlwaysBuild(env.Alias("linux-savedefconfig", config, action(_savedefconfig, kernel=given)))
    image, vmlinux, archive, release = kernel
    built = dict(
        Image=image,
        vmlinux=vmlinux,
        modules=archive,
        release=release,
        gdb_scripts=[],
        kbuild=KernelBuild(tree, env.Dir("obj").abspath, list(kernel) + config + tree.nodes + [compiler]),
    )
    if not debug:
        return built
    scripts = env.Command(
        "vmlinux-gdb.py",
        config + tree.nodes + [compiler, env.Value(gdb.SCRIPTS_LOADER)],
        action(_build_gdb_scripts, label(env, "GDB"), kernel=given),
    )
    env.Requires(scripts, kernel)  # one make at a time in obj/
    env.NoCache(scripts)
    return dict(built, gdb_scripts=scripts)


@dataclasses.dataclass(frozen=True)
class KernelBuild:
    """What an out-of-tree module is built against: the kernel's source tree, its obj/ directory,
    and the nodes it depends on (the kernel's outputs, so its make is over before a module's)."""

    tree: object
    obj: str
    nodes: list


def _build_module(target, source, env, kernel, name, directory, files, log):
    copy = os.path.join(target[0].dir.abspath, "src")
    os.makedirs(copy, exist_ok=True)
    wanted = {os.path.relpath(path, directory): path for path in files}
    for relative, path in wanted.items():
        copy_if_changed(path, os.path.join(copy, relative))
    staging = os.path.join(target[0].dir.abspath, "install")
    tree = kernel.tree.path
    run_logged(
        [
            _make(env, tree, kernel.obj, "modules", module=copy),
            _modules_install(env, tree, kernel.obj, staging, module=copy),
        ],
        log,
    )
    release = _release(kernel.obj)
    built = os.path.join(staging, "lib/modules", release, modules.EXTRA, f"{name}.ko")
    if not os.path.exists(built):
        raise BuildError(f"{directory}/Kbuild built no {name}.ko: name it with `obj-m := {name}.o`")
    copy_if_changed(built, target[0].abspath)


def KernelModule(env, target, directory, kernel):
    """The out-of-tree module in `directory`, built against `kernel` into `target` (<name>.ko)."""
    directory = env.Dir(directory).srcnode()
    name = os.path.basename(directory.abspath)
    if not os.path.exists(os.path.join(directory.abspath, "Kbuild")):
        raise BuildError(f"{directory.path} has no Kbuild file; write one: obj-m := {name}.o")
    env.Describe("-", "as its MODULE_LICENSE says", own_dir=directory)
    files = sorted(
        os.path.join(parent, file)
        for parent, _, names in os.walk(directory.abspath)
        for file in names
        if not file.startswith(".")
    )
    build = kernel["kbuild"]
    module = env.Command(
        target,
        [env.File(path) for path in files] + build.nodes,
        action(
            _build_module,
            label(env, "MODULE"),
            kernel=build,
            name=name,
            directory=directory.abspath,
            files=files,
            log=env.File(f"$LOG_DIR/module-{name}.log").abspath,
        ),
    )[0]
    env.Clean(module, [module.dir.Dir("src"), module.dir.Dir("install")])
    return module


def _update_kernel_lock(target, source, env):
    version = env["kernel"]
    path = env.File(f"#components/linux/linux-{version}.lock").abspath
    pinned = lock.refresh(
        path,
        f"linux-source-{version}",
        f"Pinned by `scons update-kernel-lock kernel={version}`: review the change, then commit it.",
    )
    print(f"{path}: linux-source-{version} {pinned}")


def KernelLockTarget(env):
    """`scons update-kernel-lock`: pin the kernel package apt offers now, for review."""
    env.AlwaysBuild(env.Alias("update-kernel-lock", [], action(_update_kernel_lock)))


def generate(env):
    env.Tool("info")  # env.Describe
    env.SetDefault(KERNEL_ARCH="riscv")
    env.AddMethod(LinuxKernel)
    env.AddMethod(KernelModule)
    env.AddMethod(KernelLockTarget)


def exists(env):
    return True
