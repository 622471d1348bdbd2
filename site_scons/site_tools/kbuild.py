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
from rvbuild.files import copy_if_changed, link_entries, prepared_objdir, write_if_changed
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
    """What the kernel's steps are given: its tree, the folder it is built in (_work_dir), its log,
    config fragments, and whether it is built for debugging (debug=1)."""

    tree: object
    work: str
    log: str
    fragments: list
    debug: bool
    kept: str  # the fragment `scons linux-menuconfig` keeps
    bisecting: bool = False  # a step of `scons bisect`: options that do not stick are reported only

    @property
    def obj(self):
        return os.path.join(self.work, "obj")

    @property
    def source(self):
        """The tree as make is pointed at it: src/, links to the tree's entries (but .git: Kbuild
        would see a git tree of links as all changed)."""
        return os.path.join(self.work, "src")

    @property
    def menuconfig_dir(self):
        """Where `scons linux-menuconfig` and `linux-savedefconfig` run Kconfig."""
        return os.path.join(self.work, "menuconfig")

    def source_dir(self):
        """self.source, its links brought up to date."""
        link_entries(self.tree.path, self.source, skip=[".git"])
        return self.source

    def ccache_environment(self):
        # Debug info names the directory a file was compiled in, where gdb looks for its source: a
        # debug kernel's compiles hash their directory (all else shares the cache across checkouts).
        return {"CCACHE_NOHASHDIR": None} if self.debug else {}

    def prepared(self, directory):
        """`directory` (obj/, kconfig/), emptied first if it was built from another tree: Kbuild
        tracks its command lines, not which tree its sources came from."""
        return prepared_objdir(directory, f"tree {self.tree.content() or self.tree.path}\n")

    def run(self, commands):
        """run_logged, and a failure names the tree's files, not their links."""
        try:
            run_logged(commands, self.log, extra_env=self.ccache_environment())
        except BuildError as error:
            said = str(error).replace(self.source + "/", self.tree.path + "/")
            raise BuildError(said.replace("../src/", self.tree.path + "/")) from None


def _work_dir(env, tree):
    """The folder the kernel is built in: obj/, kconfig/, menuconfig/, modules-install/ and src/,
    which make is pointed at. Kbuild hands the compiler absolute paths, which ccache (base_dir: the
    checkout) hashes relative to obj/, taking the shorter of the path through src/'s links and the
    real one: ../src/ is shorter than any real path outside. So every tree's compiles are alike to
    ccache, wherever it is: the pinned tree's, a tree of the user's (linux_src=), the bisection's
    clone. A tree of the user's is built in local/, so that the pinned tree's objects stay."""
    return env.Dir(".").abspath if tree.content() else env.Dir("local").abspath


def _merge_config(target, source, env, kernel):
    """allnoconfig with the fragments' values (later fragments winning), in kconfig/. As the kernel's
    merge_config.sh -n does, minus its shell loops, and with our make variables (HOSTCC through
    ccache), which it would not pass to its make."""
    tree = kernel.source_dir()
    scratch = kernel.prepared(os.path.join(kernel.work, "kconfig"))
    wanted = kconfig.requested(kernel.fragments)
    allconfig = os.path.join(scratch, "fragments.config")
    write_if_changed(allconfig, "".join(kconfig.line(name, value) + "\n" for name, value in wanted.items()))
    kernel.run([_make(env, tree, scratch, f"KCONFIG_ALLCONFIG={allconfig}", "allnoconfig")])
    merged = os.path.join(scratch, ".config")
    misses = kconfig.not_stuck(wanted, kconfig.read(merged))
    if misses and kernel.bisecting:  # a commit of another time: its Kconfig may lack or rename them
        print(f"rvbuild: warning: {bisect.NOT_STUCK} at this commit: {kconfig.describe(misses)}", flush=True)
    elif misses:
        raise BuildError(
            f"kernel options did not stick: {kconfig.describe(misses)}; "
            f"check their spelling and what they depend on (`make O={scratch} menuconfig` "
            f"in {kernel.tree.path}, then search with /)"
        )
    with open(merged) as f:
        write_if_changed(target[0].abspath, f.read())


def _release(obj):
    """The kernel release (uname -r) of the kernel built in `obj`."""
    with open(os.path.join(obj, "include/config/kernel.release")) as f:
        return f.read().strip()


def _build_kernel(target, source, env, kernel):
    obj, tree = kernel.prepared(kernel.obj), kernel.source_dir()
    copy_if_changed(source[0].abspath, os.path.join(obj, ".config"))
    staging = os.path.join(kernel.work, "modules-install")
    kernel.run([_make(env, tree, obj, "Image", "modules"), _modules_install(env, tree, obj, staging)])
    image, vmlinux, archive, release_file = target
    for built, node in zip([f"arch/{env['KERNEL_ARCH']}/boot/Image", "vmlinux"], [image, vmlinux], strict=True):
        copy_if_changed(os.path.join(obj, built), node.abspath)
    release = _release(obj)
    write_if_changed(archive.abspath, modules.pack(os.path.join(staging, "lib/modules", release)))
    write_if_changed(release_file.abspath, release + "\n")


def _menuconfig(target, source, env, kernel):
    scratch = kernel.menuconfig_dir
    command = _make(env, kernel.source_dir(), scratch, "menuconfig", ccache=False)
    header = f"Kept by `scons linux-menuconfig` for {env['VARIANT']}"
    print(kconfig.configure_interactively(command, source[0].abspath, scratch, kernel.kept, header))


def _savedefconfig(target, source, env, kernel):
    scratch = kernel.menuconfig_dir
    os.makedirs(scratch, exist_ok=True)
    copy_if_changed(source[0].abspath, os.path.join(scratch, ".config"))
    kernel.run([_make(env, kernel.source_dir(), scratch, "savedefconfig", ccache=False)])
    with open(os.path.join(scratch, "defconfig")) as f:
        print(f"{f.read()}(the minimal config, against the kernel's defaults: {scratch}/defconfig)")


def _build_gdb_scripts(target, source, env, kernel, loader):
    kernel.run([_make(env, kernel.source_dir(), kernel.obj, "scripts_gdb")])
    write_if_changed(target[0].abspath, loader)


def LinuxKernel(env, tree, fragments, debug=False):
    hosttools.require(*KERNEL_TOOLS, env["KERNEL_CROSS"] + "gcc")
    if env["ccache"]:
        hosttools.require("ccache")
    kept = kconfig.kept_fragment(env.Dir(".").srcnode().abspath, env["VARIANT"])
    if os.path.exists(kept):
        fragments = [*fragments, kept]
    fragments = [env.File(fragment).srcnode() for fragment in fragments]
    kconfig.requested([fragment.abspath for fragment in fragments])  # a line that is not Kconfig fails here
    log = env.File("$LOG_DIR/linux.log").abspath
    work = _work_dir(env, tree)
    given = Kernel(tree, work, log, [f.abspath for f in fragments], debug, kept, env["bisect_step"])
    compiler = env.Value(
        f"{toolchain.compiler_version(env['KERNEL_CROSS'] + 'gcc')} "
        f"{sorted(_make_variables(env, given.source, given.obj, ccache=False).items())}"
    )
    config = env.Command(
        "kernel.config", fragments + tree.nodes + [compiler], action(_merge_config, label(env, "KCONFIG"), kernel=given)
    )
    env.Precious(config)
    kernel = env.Command(
        ["Image", "vmlinux", "modules.tar", "kernel.release"],
        config + tree.nodes + [compiler],
        action(_build_kernel, label(env, "LINUX"), kernel=given),
    )
    env.Clean(kernel, [env.Dir(work).Dir(name) for name in ("obj", "kconfig", "menuconfig", "modules-install", "src")])
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
        kbuild=KernelBuild(given.source, given.obj, list(kernel) + config + tree.nodes + [compiler]),
    )
    if not debug:
        return built
    loader = gdb.scripts_loader(os.path.relpath(given.obj, env.Dir(".").abspath))
    scripts = env.Command(
        "vmlinux-gdb.py",
        config + tree.nodes + [compiler, env.Value(loader)],
        action(_build_gdb_scripts, label(env, "GDB"), kernel=given, loader=loader),
    )
    env.Requires(scripts, kernel)  # one make at a time in obj/
    env.NoCache(scripts)
    return dict(built, gdb_scripts=scripts)


@dataclasses.dataclass(frozen=True)
class KernelBuild:
    """What an out-of-tree module is built against: the kernel's tree as make is pointed at it, its
    obj/ directory, and the nodes it depends on (the kernel's outputs, so its make is over before a
    module's)."""

    source: str
    obj: str
    nodes: list


def _build_module(target, source, env, kernel, name, directory, files, log):
    copy = os.path.join(target[0].dir.abspath, "src")
    os.makedirs(copy, exist_ok=True)
    wanted = {os.path.relpath(path, directory): path for path in files}
    for relative, path in wanted.items():
        copy_if_changed(path, os.path.join(copy, relative))
    staging = os.path.join(target[0].dir.abspath, "install")
    tree = kernel.source
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
