"""SCons tool: userspace packages and firmware built by their own make, out of tree.

Each builder runs the package's make in obj/ next to its outputs (SCons never
deletes obj/, so make stays incremental), then copies the files it produced to
the declared targets. A toolchain's identity is a Value source of every target.

env.KconfigPackage(name, tree, configs, outputs)    BusyBox-style: a full .config kept in the
                                                    repo, plus fragments
env.AutotoolsPackage(name, tree, outputs, ...)      configure + make (Dropbear; BBL as firmware)
env.CMakePackage(name, tree, outputs, cmake_args)   cmake with a toolchain file for the variant, make
env.MakePackage(name, tree, outputs, make_args)     plain make with O= (OpenSBI), `ahead`: what
                                                    can be made before the inputs are
env.Terminfo(description, terminals)                terminfo entries compiled by the host's tic
env.UserspaceToolchain()                            the variant's toolchain (rvbuild.toolchain)

`outputs` maps each target's name in the build directory to the file make leaves under obj/.
`toolchain`: "userspace" (the variant's, static) or "kernel" (the kernel's cross compiler, for
firmware, which chooses its own flags). A step is shown as <NAME>COMSTR, e.g. BUSYBOXCOMSTR.
"""

import os
import shutil
from dataclasses import dataclass

from build_action import action, label
from rvbuild import BUILD_EPOCH, BuildError, hosttools, kconfig, sharing, sysroot, toolchain
from rvbuild.commands import Command, Option
from rvbuild.files import copy_if_changed, prepared_objdir, relative_path, write_if_changed
from rvbuild.run import RUN_TOOLS, run_logged
from rvbuild.toolchain import compile_with, host_compiler, toolchain_files, userspace_toolchain

COMMANDS = [
    Command(
        "<package>-menuconfig",
        "a Kconfig package's menuconfig (busybox-menuconfig); what you change is kept in "
        "components/<package>/menuconfig-<variant>.config",
        one_variant=True,
        terminal=True,
    )
]
OPTIONS = [Option("userspace_cflags", "extra C flags for the packages and programs (e.g. -g)")]


@dataclass(frozen=True)
class Make:
    """What a package's make runs with, besides its files: `settings` are in its steps' signatures
    (the build date, SOURCE_DATE_EPOCH, which BusyBox's banner shows, is one), and its obj/ is
    emptied when they change."""

    tree: object
    outputs: list  # each target's file under obj/
    log: str
    settings: str
    make_vars: list
    configure_args: list = None


def _objdir(target):
    return os.path.join(target[0].dir.abspath, "obj")


def _copy_outputs(make, target):
    obj = _objdir(target)
    for node, built in zip(target, make.outputs, strict=True):
        copy_if_changed(os.path.join(obj, built), node.abspath)


def _prefix_map(env):
    """Compiler flag: the checkout's path never reaches a binary (__FILE__, debug info), so another
    checkout builds the same bytes."""
    return f"-ffile-prefix-map={env.Dir('#').abspath}/="


def _kconfig_package(target, source, env, make, configs):
    obj, tree = prepared_objdir(_objdir(target), make.settings), make.tree.path
    config, fragments = configs[0], configs[1:]
    with open(config) as f:
        write_if_changed(os.path.join(obj, ".config"), kconfig.apply(f.read(), kconfig.requested(fragments)))
    # HOSTCC is not a setting: it does not change what is built, and Kbuild tracks its command lines.
    make_vars = [*make.make_vars, f"HOSTCC={host_compiler(env)}"]
    run_logged([["make", "-C", tree, f"O={obj}", *make_vars, "oldconfig"]], make.log)
    misses = kconfig.not_stuck(kconfig.requested(configs), kconfig.read(os.path.join(obj, ".config")))
    if misses:
        raise BuildError(
            f"{os.path.basename(config)} options did not stick: {kconfig.describe(misses)}; "
            f"see what they depend on with `scons {os.path.basename(target[0].dir.path)}-menuconfig`"
        )
    run_logged([["make", "-C", obj, *make_vars, *make.outputs]], make.log)
    _copy_outputs(make, target)


def _prepared(target, make, staged):
    """(obj/, the sysroot) of a package built with the libraries' files `staged`, the sysroot made to
    hold exactly those. A library that changed is built with from scratch, from an empty obj/: a
    package's make need not know which of its objects use the library's headers, nor relink when
    only a library did."""
    wanted = {path: node.abspath for path, node in staged.items()}
    obj = prepared_objdir(_objdir(target), make.settings + sysroot.digest(wanted))
    root = os.path.join(target[0].dir.abspath, "sysroot")
    sysroot.assemble(root, wanted)
    return obj, root


def _emptied_staging(obj):
    """obj/staging/, where `make install` puts what the package's outputs are copied from."""
    staging = os.path.join(obj, "staging")
    if os.path.exists(staging):
        shutil.rmtree(staging)
    return staging


def _autotools_package(target, source, env, make, extra_files, staged, install, gnu_configure):
    obj, root = _prepared(target, make, staged)
    tree = make.tree.path
    for name, node in extra_files.items():
        copy_if_changed(node.abspath, os.path.join(obj, name))
    # By a relative path: what configure generates names the tree by it (Dropbear's
    # default_options_guard.h, which every file includes).
    configure = os.path.join(relative_path(tree, obj), "configure")
    arguments, settings = make.configure_args, {}
    if not gnu_configure:  # a configure of its own (zlib's) takes CC and the flags from its environment
        settings = dict(arg.split("=", 1) for arg in arguments if not arg.startswith("-"))
        settings["CFLAGS"] = f"{settings.pop('CFLAGS', '-O2')} {settings.pop('CPPFLAGS', '')}".strip()
        arguments = [arg for arg in arguments if arg.startswith("-") and not arg.startswith("--host=")]
    commands = [[configure, *arguments], ["make", *make.make_vars]]
    if install:
        commands.append(["make", *make.make_vars, "install", f"DESTDIR={_emptied_staging(obj)}"])
    if staged:
        settings.update(sysroot.pkg_config_environment(root))
    run_logged(commands, make.log, cwd=obj, extra_env=settings)
    _copy_outputs(make, target)


CMAKE_TOOLCHAIN = """# Written by rvbuild: the variant's toolchain, and a sysroot of the package's libraries alone.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR {processor})
set(CMAKE_C_COMPILER {compiler})
set(CMAKE_C_COMPILER_LAUNCHER {launcher})
set(CMAKE_C_FLAGS_INIT "{cflags}")
set(CMAKE_EXE_LINKER_FLAGS_INIT "{ldflags}")
set(CMAKE_FIND_ROOT_PATH {sysroot})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
"""


def _cmake_package(target, source, env, make, toolchain_file, staged):
    obj, root = _prepared(target, make, staged)
    write_if_changed(os.path.join(obj, "toolchain.cmake"), toolchain_file)
    staging = _emptied_staging(obj)
    commands = [
        [
            "cmake",
            "-S",
            make.tree.path,
            "-B",
            obj,
            "-G",
            "Unix Makefiles",
            "-DCMAKE_TOOLCHAIN_FILE=toolchain.cmake",
            *make.configure_args,
        ],
        ["make", *make.make_vars],
        ["make", *make.make_vars, "install", f"DESTDIR={staging}"],
    ]
    run_logged(commands, make.log, cwd=obj, extra_env=sysroot.pkg_config_environment(root) if staged else None)
    _copy_outputs(make, target)


def _make_package(target, source, env, make, ahead):
    obj = prepared_objdir(_objdir(target), make.settings)
    # make names its targets by the real path of O=, as OpenSBI's Makefile does (readlink -f).
    goals = [os.path.join(os.path.realpath(obj), output) for output in make.outputs] if ahead else []
    run_logged([["make", "-C", make.tree.path, f"O={obj}", *make.make_vars, *goals]], make.log)
    _copy_outputs(make, target)


def _declare(env, name, function, tree, outputs, inputs, toolchain_id, make_vars, configure_args=None, **arguments):
    """Targets `outputs` (name in build dir -> path under obj/) built by `function`."""
    hosttools.require("make", *RUN_TOOLS, *(["ccache"] if env["ccache"] else []))
    settings = repr([BUILD_EPOCH, toolchain_id, configure_args, make_vars, tree.content()])
    make = Make(
        tree, list(outputs.values()), env.File(f"$LOG_DIR/{name}.log").abspath, settings, make_vars, configure_args
    )
    # The settings, with paths in the checkout relative to it, so that a clone elsewhere has the same
    # signature; obj/ is emptied when the checkout moves (its configure/make files name it).
    signature = sharing.checkout_relative(settings + repr(make.outputs), env.Dir("#").abspath)
    step = action(function, label(env, name.upper()), signature, make=make, **arguments)
    targets = env.Command(list(outputs), tree.nodes + list(inputs), step)
    env.Clean(targets, env.Dir("obj"))
    return targets


def _toolchain(env, which):
    if which == "kernel":
        return toolchain.GnuToolchain(env["KERNEL_CROSS"].rstrip("-"), ldflags="").prepare(None)
    if which == "userspace":
        return userspace_toolchain(env)
    raise ValueError(f"toolchain={which!r}: use 'userspace' or 'kernel'")


def KconfigPackage(env, name, tree, configs, outputs, extra_cflags=""):
    """`configs`: a full config file, then fragments whose values override it; last, the fragment
    `scons <name>-menuconfig` kept, if any."""
    tc = userspace_toolchain(env)
    kept = kconfig.kept_fragment(env.Dir(".").srcnode().abspath, env["VARIANT"])
    if os.path.exists(kept):
        configs = [*configs, kept]
    configs = [env.File(config).srcnode() for config in configs]
    kconfig.requested([config.abspath for config in configs])  # a line that is not Kconfig fails here
    make_vars = [
        f"CROSS_COMPILE={tc.prefix}",
        f"CC={compile_with(env, tc.tool('gcc'), tc.clang)}",
        f"CONFIG_EXTRA_CFLAGS={_prefix_map(env)} {tc.cflags} {extra_cflags}".strip(),
    ]
    targets = _declare(
        env,
        name,
        _kconfig_package,
        tree,
        outputs,
        [*configs, *toolchain_files(env, tc)],
        tc.identity(),
        make_vars,
        configs=[config.abspath for config in configs],
    )
    menuconfig = action(_package_menuconfig, tree=tree, make_vars=make_vars, kept=kept, name=name)
    env.AlwaysBuild(env.Alias(f"{name}-menuconfig", targets, menuconfig))
    return targets


def _package_menuconfig(target, source, env, tree, make_vars, kept, name):
    scratch = os.path.join(source[0].dir.abspath, "menuconfig")
    command = ["make", "-C", tree.path, f"O={scratch}", *make_vars, "menuconfig"]
    current = os.path.join(_objdir(source), ".config")
    header = f"Kept by `scons {name}-menuconfig` for {env['VARIANT']}"
    print(kconfig.configure_interactively(command, current, scratch, kept, header))


def AutotoolsPackage(
    env,
    name,
    tree,
    outputs,
    configure_args=(),
    make_args=(),
    extra_files=None,
    inputs=(),
    toolchain="userspace",
    depends=None,
    install=False,
    gnu_configure=True,
):
    """configure (for the toolchain's host, with its compiler and flags) and make; against a sysroot
    of exactly the libraries in `depends` (the component's, rvbuild.sysroot); with `install`, then
    `make install` into obj/staging/, where `outputs` may name a library's files. Not
    `gnu_configure`: the configure takes no --host and finds CC, CFLAGS, ... in its environment."""
    extra = {dest: env.File(path).srcnode() for dest, path in (extra_files or {}).items()}
    tc = _toolchain(env, toolchain)
    staged = sysroot.files(sysroot.closure(depends))
    if staged:
        hosttools.require("pkg-config")
    root = env.Dir("sysroot").abspath
    compiler, cppflags, ldflags = sysroot.flags(root, tc, bool(staged), own_headers_only=toolchain == "userspace")
    configure = [
        f"--host={tc.triple}",
        f"CC={compile_with(env, compiler, tc.clang)}",
        *([f"LDFLAGS={' '.join(filter(None, [tc.ldflags, ldflags]))}"] if tc.ldflags or ldflags else []),
        *([f"CFLAGS=-O2 {tc.cflags}"] if tc.cflags else []),
        *([] if gnu_configure else [f"AR={tc.tool('ar')}", f"RANLIB={tc.tool('ranlib')}"]),
    ]
    return _declare(
        env,
        name,
        _autotools_package,
        tree,
        outputs,
        [*extra.values(), *inputs, *toolchain_files(env, tc), *staged.values()],
        tc.identity(),
        list(make_args),
        [*configure, " ".join(filter(None, [f"CPPFLAGS={_prefix_map(env)}", cppflags])), *configure_args],
        extra_files=extra,
        staged=staged,
        install=install,
        gnu_configure=gnu_configure,
    )


def CMakePackage(env, name, tree, outputs, cmake_args=(), make_args=(), depends=None):
    """cmake with a toolchain file for the variant (its compiler and flags, find_* and pkg-config
    held to a sysroot of exactly the libraries in `depends`), make, and make install into
    obj/staging/, where `outputs` name its files. Static libraries, a release build."""
    hosttools.require("cmake")
    tc = userspace_toolchain(env)
    staged = sysroot.files(sysroot.closure(depends))
    if staged:
        hosttools.require("pkg-config")
    root = env.Dir("sysroot").abspath
    compiler, cppflags, ldflags = sysroot.flags(root, tc, bool(staged))
    compiler, *compiler_flags = compiler.split()
    launcher = compile_with(env, "", tc.clang).strip()  # ccache, or nothing
    toolchain_file = CMAKE_TOOLCHAIN.format(
        processor=f"riscv{env['XLEN']}",
        compiler=compiler,
        launcher=launcher,
        cflags=" ".join(filter(None, [*compiler_flags, _prefix_map(env), cppflags, tc.cflags])),
        ldflags=" ".join(filter(None, [*compiler_flags, tc.ldflags, ldflags])),
        sysroot=root,
    )
    configure = ["-DCMAKE_INSTALL_PREFIX=/usr", "-DCMAKE_BUILD_TYPE=Release", "-DBUILD_SHARED_LIBS=OFF", *cmake_args]
    return _declare(
        env,
        name,
        _cmake_package,
        tree,
        outputs,
        [
            *toolchain_files(env, tc),
            *staged.values(),
            env.Value(sharing.checkout_relative(toolchain_file, env.Dir("#").abspath)),
        ],
        tc.identity(),
        list(make_args),
        configure,
        toolchain_file=toolchain_file,
        staged=staged,
    )


def MakePackage(env, name, tree, outputs, make_args=(), inputs=(), toolchain="kernel", ahead=None):
    """Plain make with O=, its CC the toolchain's compiler. `ahead` (like `outputs`): files that
    need none of `inputs`, made first by a make of their own, so that they build while `inputs`
    are still being made (OpenSBI's libraries while the kernel builds)."""
    tc = _toolchain(env, toolchain)
    files = toolchain_files(env, tc)
    make_vars = [*make_args, f"CC={compile_with(env, tc.tool('gcc'), tc.clang)} {_prefix_map(env)}"]
    settings = (tc.identity(), make_vars)
    early = _declare(env, name, _make_package, tree, ahead, files, *settings, ahead=True) if ahead else []
    return _declare(env, name, _make_package, tree, outputs, [*inputs, *files, *early], *settings, ahead=False)


def _tic(target, source, env, description, terminals):
    output = os.path.dirname(os.path.dirname(target[0].abspath))
    run_logged(
        [["tic", "-x", "-o", output, "-e", ",".join(terminals), description]],
        env.File("$LOG_DIR/tic.log").abspath,
    )


def Terminfo(env, tree, description, terminals):
    """The terminfo entries of `terminals` compiled from `description`, a terminfo source in `tree`
    (ncurses' misc/terminfo.src), by the host's tic, as terminfo/<initial>/<name>: the directory
    layout that ncurses reads."""
    hosttools.require("tic")
    targets = [env.File(f"terminfo/{name[0]}/{name}") for name in terminals]
    # A file of a tree to be unpacked is no node of its own: SCons would look for it before the
    # unpack and remember it missing. The tree's nodes stand for its content.
    description = os.path.join(tree.path, description)
    run_tic = action(_tic, label(env, "TIC", "$TARGET.dir.dir"), description=description, terminals=terminals)
    return env.Command(targets, tree.nodes, run_tic)


def generate(env):
    env.SetDefault(LOG_DIR="logs")
    for method in (KconfigPackage, AutotoolsPackage, CMakePackage, MakePackage, Terminfo):
        env.AddMethod(method)
    env.AddMethod(userspace_toolchain, "UserspaceToolchain")


def exists(env):
    return True
