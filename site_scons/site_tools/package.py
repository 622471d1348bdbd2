"""SCons tool: userspace packages and firmware built by their own make, out of tree.

Each builder runs the package's make in obj/ next to its outputs (SCons never
deletes obj/, so make stays incremental), then copies the files it produced to
the declared targets. A toolchain's identity is a Value source of every target.

env.KconfigPackage(name, tree, configs, outputs)    BusyBox-style: a full .config kept in the
                                                    repo, plus fragments
env.AutotoolsPackage(name, tree, outputs, ...)      configure + make (Dropbear; BBL as firmware)
env.MakePackage(name, tree, outputs, make_args)     plain make with O= (OpenSBI), `ahead`: what
                                                    can be made before the inputs are
env.UserspaceToolchain()                            the variant's toolchain (rvbuild.toolchain)
env.CompileWith(compiler, clang)                    the compiler, behind ccache where it helps
env.ToolchainFiles(tc)                              what the toolchain's own files say, for a signature

`outputs` maps each target's name in the build directory to the file make leaves under obj/.
`toolchain`: "userspace" (the variant's, static) or "kernel" (the kernel's cross compiler, for
firmware, which chooses its own flags). A step is shown as <NAME>COMSTR, e.g. BUSYBOXCOMSTR.
"""

import os

from build_action import action, label
from rvbuild import BUILD_EPOCH, BuildError, hosttools, kconfig, sharing, toolchain
from rvbuild.files import copy_if_changed, prepared_objdir, relative_path, write_if_changed
from rvbuild.run import RUN_TOOLS, run_logged

# What a package's obj/ is built with besides its files: its actions' signatures include them, and
# what they made (RV_OUTPUTS). The build date (SOURCE_DATE_EPOCH, which BusyBox's banner shows) is one.
SETTINGS = ("RV_BUILD_EPOCH", "RV_TOOLCHAIN_ID", "RV_CONFIGURE_ARGS", "RV_MAKE_VARS", "RV_TREE_CONTENT")


def CompileWith(env, compiler, clang=False):
    """`compiler` behind ccache (ccache=1), where ccache helps: GNU compilers, not zig's clang."""
    return f"ccache {compiler}" if env["CCACHE"] and not clang else compiler


def _objdir(target):
    return os.path.join(target[0].dir.abspath, "obj")


def _prepared_objdir(target, env):
    return prepared_objdir(_objdir(target), env["RV_SETTINGS"])


def _copy_outputs(env, target):
    obj = _objdir(target)
    for node, built in zip(target, env["RV_OUTPUTS"], strict=True):
        copy_if_changed(os.path.join(obj, built), node.abspath)


def _prefix_map(env):
    """Compiler flag: the checkout's path never reaches a binary (__FILE__, debug info), so another
    checkout builds the same bytes."""
    return f"-ffile-prefix-map={env.Dir('#').abspath}/="


def _kconfig_package(target, source, env):
    obj, tree = _prepared_objdir(target, env), env["RV_TREE"].path
    config, fragments = env["RV_CONFIG"][0], env["RV_CONFIG"][1:]
    with open(config) as f:
        write_if_changed(os.path.join(obj, ".config"), kconfig.apply(f.read(), kconfig.requested(fragments)))
    # HOSTCC is not a setting: it does not change what is built, and Kbuild tracks its command lines.
    make_vars = [*env["RV_MAKE_VARS"], f"HOSTCC={env['HOST_CC']}"]
    run_logged([["make", "-C", tree, f"O={obj}", *make_vars, "oldconfig"]], env["RV_LOG"])
    misses = kconfig.not_stuck(kconfig.requested(env["RV_CONFIG"]), kconfig.read(os.path.join(obj, ".config")))
    if misses:
        raise BuildError(
            f"{os.path.basename(config)} options did not stick: {kconfig.describe(misses)}; "
            f"see what they depend on with `scons {os.path.basename(target[0].dir.path)}-menuconfig`"
        )
    run_logged([["make", "-C", obj, *make_vars, *env["RV_OUTPUTS"]]], env["RV_LOG"])
    _copy_outputs(env, target)


def _autotools_package(target, source, env):
    obj, tree = _prepared_objdir(target, env), env["RV_TREE"].path
    for name, node in env["RV_EXTRA_FILES"].items():
        copy_if_changed(node.abspath, os.path.join(obj, name))
    # By a relative path: what configure generates names the tree by it (Dropbear's
    # default_options_guard.h, which every file includes).
    configure = os.path.join(relative_path(tree, obj), "configure")
    run_logged(
        [[configure, *env["RV_CONFIGURE_ARGS"]], ["make", *env["RV_MAKE_VARS"]]],
        env["RV_LOG"],
        cwd=obj,
    )
    _copy_outputs(env, target)


def _make_package(target, source, env):
    obj = _prepared_objdir(target, env)
    # make names its targets by the real path of O=, as OpenSBI's Makefile does (readlink -f).
    goals = [os.path.join(os.path.realpath(obj), output) for output in env["RV_OUTPUTS"]] if env["RV_AHEAD"] else []
    run_logged([["make", "-C", env["RV_TREE"].path, f"O={obj}", *env["RV_MAKE_VARS"], *goals]], env["RV_LOG"])
    _copy_outputs(env, target)


def _declare(env, name, function, tree, outputs, inputs, **overrides):
    """Targets `outputs` (name in build dir -> path under obj/) built by `function`."""
    hosttools.require("make", *RUN_TOOLS, *(["ccache"] if env["CCACHE"] else []))
    overrides = dict(overrides, RV_OUTPUTS=list(outputs.values()), RV_TREE_CONTENT=tree.content())
    settings = repr([overrides.get(name, env.get(name)) for name in SETTINGS])
    targets = env.Command(
        list(outputs),
        tree.nodes + list(inputs),
        action(function, label(env, name.upper()), varlist=["RV_SIGNATURE"]),
        # The settings, with paths in the checkout relative to it, so that a clone elsewhere has the
        # same signature; obj/ is emptied when the checkout moves (its configure/make files name it).
        RV_SIGNATURE=sharing.checkout_relative(settings + repr(overrides["RV_OUTPUTS"]), env.Dir("#").abspath),
        RV_SETTINGS=settings,
        RV_TREE=tree,
        RV_LOG=env.File(f"$LOG_DIR/{name}.log").abspath,
        **overrides,
    )
    env.Clean(targets, env.Dir("obj"))
    return targets


def ToolchainFiles(env, tc, cxx=False):
    """The toolchain's own files (zig's wrapper scripts) as a Value of what they say, minus the
    paths that differ between checkouts: zig's own (its version is in the identity) and ours."""
    texts = [open(path).read().replace(tc.zig(), "zig") for path in tc.files(cxx)]
    return [env.Value(sharing.checkout_relative("".join(texts), env.Dir("#").abspath))] if texts else []


def UserspaceToolchain(env):
    """The variant's userspace toolchain, ready to use (wrappers written, tools checked)."""
    name = env["USERSPACE_TOOLCHAIN"]
    chosen = toolchain.get(name, env.get("USERSPACE_CFLAGS", ""))
    return chosen.prepare(env.Dir(f"#build/toolchains/{name}").abspath)


def _toolchain(env, which):
    if which == "kernel":
        return toolchain.GnuToolchain(env["KERNEL_CROSS"].rstrip("-"), ldflags="").prepare(None)
    if which == "userspace":
        return UserspaceToolchain(env)
    raise ValueError(f"toolchain={which!r}: use 'userspace' or 'kernel'")


def KconfigPackage(env, name, tree, configs, outputs, extra_cflags=""):
    """`configs`: a full config file, then fragments whose values override it; last, the fragment
    `scons <name>-menuconfig` kept, if any."""
    tc = UserspaceToolchain(env)
    kept = kconfig.kept_fragment(env.Dir(".").srcnode().abspath, env["VARIANT"])
    if os.path.exists(kept):
        configs = [*configs, kept]
    configs = [env.File(config).srcnode() for config in configs]
    kconfig.requested([config.abspath for config in configs])  # a line that is not Kconfig fails here
    make_vars = [
        f"CROSS_COMPILE={tc.prefix}",
        f"CC={CompileWith(env, tc.tool('gcc'), tc.clang)}",
        f"CONFIG_EXTRA_CFLAGS={_prefix_map(env)} {tc.cflags} {extra_cflags}".strip(),
    ]
    targets = _declare(
        env,
        name,
        _kconfig_package,
        tree,
        outputs,
        [*configs, *ToolchainFiles(env, tc)],
        RV_CONFIG=[config.abspath for config in configs],
        RV_MAKE_VARS=make_vars,
        RV_TOOLCHAIN_ID=tc.identity(),
    )
    configure = env.Clone(RV_TREE=tree, RV_MAKE_VARS=make_vars, RV_MENUCONFIG_FRAGMENT=kept, RV_NAME=name)
    configure.AlwaysBuild(configure.Alias(f"{name}-menuconfig", targets, action(_package_menuconfig)))
    return targets


def _package_menuconfig(target, source, env):
    scratch = os.path.join(source[0].dir.abspath, "menuconfig")
    command = ["make", "-C", env["RV_TREE"].path, f"O={scratch}", *env["RV_MAKE_VARS"], "menuconfig"]
    current = os.path.join(_objdir(source), ".config")
    header = f"Kept by `scons {env['RV_NAME']}-menuconfig` for {env['VARIANT']}"
    print(kconfig.configure_interactively(command, current, scratch, env["RV_MENUCONFIG_FRAGMENT"], header))


def AutotoolsPackage(
    env, name, tree, outputs, configure_args=(), make_args=(), extra_files=None, inputs=(), toolchain="userspace"
):
    """configure (for the toolchain's host, with its compiler and flags) and make."""
    extra = {dest: env.File(path).srcnode() for dest, path in (extra_files or {}).items()}
    tc = _toolchain(env, toolchain)
    configure = [
        f"--host={tc.triple}",
        f"CC={CompileWith(env, tc.tool('gcc'), tc.clang)}",
        *([f"LDFLAGS={tc.ldflags}"] if tc.ldflags else []),
        *([f"CFLAGS=-O2 {tc.cflags}"] if tc.cflags else []),
    ]
    return _declare(
        env,
        name,
        _autotools_package,
        tree,
        outputs,
        [*extra.values(), *inputs, *ToolchainFiles(env, tc)],
        RV_EXTRA_FILES=extra,
        RV_CONFIGURE_ARGS=[*configure, f"CPPFLAGS={_prefix_map(env)}", *configure_args],
        RV_MAKE_VARS=list(make_args),
        RV_TOOLCHAIN_ID=tc.identity(),
    )


def MakePackage(env, name, tree, outputs, make_args=(), inputs=(), toolchain="kernel", ahead=None):
    """Plain make with O=, its CC the toolchain's compiler. `ahead` (like `outputs`): files that
    need none of `inputs`, made first by a make of their own, so that they build while `inputs`
    are still being made (OpenSBI's libraries while the kernel builds)."""
    tc = _toolchain(env, toolchain)
    files = ToolchainFiles(env, tc)
    settings = dict(
        RV_MAKE_VARS=[*make_args, f"CC={CompileWith(env, tc.tool('gcc'), tc.clang)} {_prefix_map(env)}"],
        RV_TOOLCHAIN_ID=tc.identity(),
    )
    early = _declare(env, name, _make_package, tree, ahead, files, RV_AHEAD=True, **settings) if ahead else []
    return _declare(env, name, _make_package, tree, outputs, [*inputs, *files, *early], RV_AHEAD=False, **settings)


def generate(env):
    env.SetDefault(LOG_DIR="logs", RV_BUILD_EPOCH=BUILD_EPOCH)
    for method in (UserspaceToolchain, ToolchainFiles, CompileWith, KconfigPackage, AutotoolsPackage, MakePackage):
        env.AddMethod(method)


def exists(env):
    return True
