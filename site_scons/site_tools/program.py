"""SCons tool: the user's own programs, programs/<name>/, compiled for the variant's target,
statically: one SCons target each (its compiles and its link one action, with SCons' C scanner
for the headers its sources include), through ccache.

A folder of C (.c) and C++ (.cc, .cpp, .cxx) files is a program, installed as /usr/bin/<name>.
An optional program.py in it says more, in plain assignments (every one optional):

    install = "/usr/sbin/name"                  where the program goes
    sources = ["main.c", "util.c"]              instead of every source file in the folder
    files = {"name.conf": "/etc/name.conf"}     more files of the folder to put in the image
    cflags = ["-DNDEBUG"]                       more compiler flags (C and C++)
    libs = ["m"]                                libraries to link with
    depends = ["zlib"]                          library packages it is built against (read
                                                without running program.py, like a DEPENDS)
    version = "1.0"; license = "MIT"            what `scons info` and `legal-info` say of it

env.UserProgram(directory, build_dir, depends) -> the items (rvbuild.rootfs.ImageFile) the image gets.
`env` is that of every program of the build directory (hundreds of programs are not hundreds of
environments): it has no COMPONENT, no DEPENDS.

Like a package, a program is compiled against a sysroot of exactly the libraries it depends on
(rvbuild.sysroot), build/<variant>/<name>/sysroot/, listed with their checksums in sysroot.list:
a library that changes recompiles and relinks it.
"""

import os
import runpy
import shutil

import SCons.Action
import SCons.Defaults
import SCons.Tool

from build_action import action, label
from rvbuild import BuildError, hosttools, sysroot
from rvbuild.files import write_if_changed
from rvbuild.rootfs import ImageFile
from rvbuild.steps import comstr as steps_comstr
from rvbuild.toolchain import compile_with, toolchain_files, userspace_toolchain

C_SUFFIXES = (".c",)
CXX_SUFFIXES = (".cc", ".cpp", ".cxx")
_SCANNER = SCons.Tool.SourceFileScanner  # the includes of C and C++ files (and none of object files)
DEFAULTS = {"files": {}, "cflags": [], "libs": [], "depends": [], "version": "", "license": "the project's own"}
TYPES = {
    "install": str,
    "sources": list,
    "files": dict,
    "cflags": list,
    "libs": list,
    "depends": list,
    "version": str,
    "license": str,
}


def _settings(directory, name):
    path = os.path.join(directory, "program.py")
    declared = runpy.run_path(path) if os.path.exists(path) else {}
    settings = {key: value for key, value in declared.items() if not key.startswith("_")}
    for key, value in settings.items():
        if key not in TYPES:
            raise BuildError(f"{path}: unknown setting {key!r}; a program may set {', '.join(TYPES)}")
        if not isinstance(value, TYPES[key]):
            raise BuildError(f"{path}: {key} must be a {TYPES[key].__name__}, not {value!r}")
    if "sources" not in settings:
        settings["sources"] = sorted(f for f in os.listdir(directory) if f.endswith(C_SUFFIXES + CXX_SUFFIXES))
    if not settings["sources"]:
        raise BuildError(f"{directory} has no C or C++ source (*.c, *.cc, *.cpp, *.cxx) and no program.py naming any")
    return {**DEFAULTS, "install": f"/usr/bin/{name}", **settings}


def _assemble_sysroot(target, source, env, root, wanted):
    sysroot.assemble(root, wanted)
    if not wanted:  # no library any more: no sysroot, no step
        shutil.rmtree(root, ignore_errors=True)
    write_if_changed(target[0].abspath, sysroot.digest(wanted))  # what it holds, for what compiles with it


def _sysroot(env, build_dir, depends):
    """({path: node} of the libraries' files, the step that assembles its sysroot or None) of a
    program that `depends` on libraries. A sysroot left by an earlier build is removed."""
    staged = sysroot.files(sysroot.closure(depends))
    root = os.path.join(env.Dir("#").abspath, build_dir, "sysroot")  # no node made for most programs' none
    if not staged and not os.path.isdir(root):
        return staged, None
    wanted = {path: node.abspath for path, node in staged.items()}
    step = action(_assemble_sysroot, label(env, "SYSROOT"), root=root, wanted=wanted)
    # The sysroot's files are targets too, so that cache_dir= gives them back with the listing.
    files = [f"#{build_dir}/sysroot/{path}" for path in sorted(wanted)]
    return staged, env.Command(
        [f"#{build_dir}/sysroot.list", *files], [env.Value(sorted(wanted)), *staged.values()], step
    )


def UserProgram(env, directory, build_dir, depends=None):
    source_dir = env.Dir(f"#{directory}")
    name = os.path.basename(directory)
    settings = _settings(source_dir.abspath, name)
    env.Describe(
        settings["version"] or "-", settings["license"], own_dir=source_dir, COMPONENT=name, DEPENDS=settings["depends"]
    )
    compilers = _compilers(env, build_dir)
    tc = compilers.toolchain
    cxx = any(source.endswith(CXX_SUFFIXES) for source in settings["sources"])
    if cxx and not tc.clang:
        hosttools.require(tc.tool("g++"))
    staged, assembled = _sysroot(compilers.env, build_dir, depends)
    # Relative to the checkout, where SCons runs the compiler: the command lines of every checkout are
    # the same, and so are their CacheDir keys.
    compiler, cppflags, ldflags = sysroot.flags(f"{build_dir}/sysroot", tc, bool(staged))
    cxx_compiler = compiler.replace(tc.tool("gcc"), tc.tool("g++"), 1)
    flags = ["-O2", "-Wall", *tc.cflags.split(), *cppflags.split(), *settings["cflags"]]
    sources, compiles = [source_dir.File(source) for source in settings["sources"]], []
    for source, node in zip(settings["sources"], sources, strict=True):
        step = "CXX" if source.endswith(CXX_SUFFIXES) else "CC"
        command = compile_with(env, cxx_compiler if step == "CXX" else compiler, tc.clang).split()
        made = f"{build_dir}/{os.path.splitext(source)[0]}.o"
        compiles.append((step, made, [*command, "-o", made, "-c", *flags, node.path]))
    linker = cxx_compiler if cxx else compiler
    libs = [f"-l{lib}" for lib in settings["libs"]]
    link = [*linker.split(), "-o", "$TARGET", *tc.ldflags.split(), *ldflags.split(), *(c[1] for c in compiles), *libs]
    program = compilers.program(f"#{build_dir}/{name}", sources, compiles, link)
    # SCons signs the command lines, not the compilers: add their version and the files they run.
    runs = [words[0] for _, _, words in compiles] + [link[0]]
    compilers.env.Depends(program, [*compilers.runs(*runs), *compilers.identity[cxx], *(assembled or [])])
    installed = [ImageFile(program[0], settings["install"])]
    for file, path in settings["files"].items():
        node = source_dir.File(file)
        if not os.path.exists(node.abspath):
            raise BuildError(f"{directory}/program.py: files names {file}, which is not in {directory}/")
        installed.append(ImageFile(node, path, 0o755 if os.access(node.abspath, os.X_OK) else 0o644))
    return installed


class _Compilers:
    """What the programs of a build directory are compiled and linked in, made once: an environment,
    and the toolchain's identity. Each compile and link is a command of its own, written out: SCons'
    Object and Program builders, for their generality (suffixes, source builders, include paths
    and defines substituted anew for every signature), were most of what a program cost a null build."""

    def __init__(self, env):
        self.toolchain = tc = userspace_toolchain(env)
        # SCons makes a target depend on the file the first word of its command runs, looked up
        # anew for every target from its whole command line, substituted: self.runs instead.
        self.env = env.Clone(IMPLICIT_COMMAND_DEPENDENCIES=0)
        label(self.env, "LINK")
        # The toolchain's identity and own files, for programs in C and for those with C++ sources.
        self.identity = {cxx: [env.Value(tc.identity()), *toolchain_files(env, tc, cxx)] for cxx in (False, True)}
        self._found = {}

    def program(self, target, sources, compiles, link):
        """`target` linked by the command `link` from the objects `compiles` (label, object, command)
        make of `sources`: one target, so that a program is two nodes (its binary, its source), where
        a target for each object made it three, and a null build checked a third more. The objects
        are left to ccache: a changed source recompiles them all, the unchanged ones from ccache."""
        dirs = sorted({os.path.dirname(made) for _, made, _ in compiles} - {os.path.dirname(target[1:])})
        steps = [SCons.Defaults.Mkdir(d) for d in dirs]
        steps += [SCons.Action.Action([words], steps_comstr(step, made)) for step, made, words in compiles]
        steps.append(SCons.Action.Action([link], "$LINKCOMSTR"))
        program = self.env.Command(target, sources, steps, target_factory=self.env.File, source_scanner=_SCANNER)
        self.env.Clean(program, [made for _, made, _ in compiles])
        return program

    def runs(self, *commands):
        """The files the first words of `commands` run, each word looked up on the PATH once."""
        words = {command.split()[0] for command in commands}
        for word in words - self._found.keys():
            self._found[word] = self.env.WhereIs(word)
        return [self.env.File(self._found[word]) for word in sorted(words) if self._found[word]]


_COMPILERS = {}  # by build directory: its programs share one environment, so one toolchain


def _compilers(env, build_dir):
    key = os.path.dirname(build_dir)
    if key not in _COMPILERS:
        _COMPILERS[key] = _Compilers(env)
    return _COMPILERS[key]


def generate(env):
    env.Tool("info")  # env.Describe
    env.AddMethod(UserProgram)


def exists(env):
    return True
