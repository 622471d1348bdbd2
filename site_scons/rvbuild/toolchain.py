"""Cross toolchains for userspace. Each one's identity (compiler version and flags) goes
into the signature of every target it builds, so changing it rebuilds them.

Both kinds look the same to the builders: GNU-style tools named <prefix>gcc, <prefix>ar, ...
- GnuToolchain: a Debian cross toolchain (riscv64-linux-gnu-*, glibc).
- ZigToolchain: `zig cc -target <triple>` from the ziglang Python package (musl), behind
  small wrapper scripts with GNU names; the only rv32 libc toolchain Debian 12 can offer.
"""

import dataclasses
import functools
import os
from dataclasses import dataclass

from rvbuild import BuildError, hosttools
from rvbuild.files import write_if_changed
from rvbuild.run import output
from rvbuild.sharing import checkout_relative


@functools.cache
def compiler_version(compiler):
    return output([compiler, "--version"]).splitlines()[0]


@functools.cache
def nm_without_plugin_search(cross):
    """`cross`nm told which LTO plugin to use: the compiler's own, if it has one. Told none,
    binutils tries every plugin in bfd-plugins/ for each file it reads, and LLVM's
    (llvm-14-linker-tools) loads all of libLLVM: 20 ms a run instead of 2, and Kbuild runs nm
    once for every object it compiles (check-local-export)."""
    plugin = output([f"{cross}gcc", "-print-file-name=liblto_plugin.so"]).strip()
    return f"{cross}nm --plugin {plugin}" if os.path.isabs(plugin) else f"{cross}nm"


@dataclass(frozen=True)
class GnuToolchain:
    """A GNU cross toolchain installed on the host as <triple>-gcc, <triple>-ar, ..."""

    triple: str
    cflags: str = ""
    ldflags: str = "-static"
    clang: bool = False

    @property
    def prefix(self):
        return f"{self.triple}-"

    def tool(self, name):
        return self.prefix + name

    def prepare(self, directory):
        hosttools.require(self.tool("gcc"))
        return self

    def files(self, cxx=False):
        """Files of ours the toolchain runs (none: it is Debian's)."""
        return []

    def identity(self):
        return f"{compiler_version(self.tool('gcc'))} | CFLAGS={self.cflags} | LDFLAGS={self.ldflags}"


COMPILER_WRAPPER = """#!/bin/sh
# Written by rvbuild: {triple}-{name} is zig {mode} for {triple}, minus the linker flags zig rejects.
export ZIG_GLOBAL_CACHE_DIR="{cache}" ZIG_LOCAL_CACHE_DIR="{cache}"
for arg do
    shift
    case $arg in -Wl,--warn-common|-Wl,--verbose|-Wl,-Map,*) continue ;; esac
    set -- "$@" "$arg"
done
exec "{zig}" {mode} -target {triple} "$@"
"""
TOOL_WRAPPER = """#!/bin/sh
# Written by rvbuild.
exec {command} "$@"
"""


@dataclass(frozen=True)
class ZigToolchain:
    """zig cc for `triple`; GNU binutils (`binutils` prefix) for what zig lacks."""

    triple: str
    cflags: str = ""
    ldflags: str = "-static"
    binutils: str = "riscv64-linux-gnu-"
    directory: str = ""
    clang: bool = True

    @property
    def prefix(self):
        return os.path.join(self.directory, "bin", f"{self.triple}-")

    def tool(self, name):
        return self.prefix + name

    @staticmethod
    def zig():
        try:
            import ziglang
        except ImportError:
            raise BuildError(
                "the ziglang Python package is missing: run ./setup (or .venv/bin/pip install -r requirements.txt)"
            ) from None
        return os.path.join(os.path.dirname(ziglang.__file__), "zig")

    def prepare(self, directory):
        """Write the wrapper scripts under `directory`; returns the toolchain that uses them."""
        hosttools.require(self.binutils + "objcopy")
        ready = dataclasses.replace(self, directory=directory)
        zig, cache = self.zig(), os.path.join(directory, "cache")
        wrappers = {
            name: COMPILER_WRAPPER.format(triple=self.triple, name=name, mode=mode, cache=cache, zig=zig)
            for name, mode in (("gcc", "cc"), ("cc", "cc"), ("g++", "c++"), ("c++", "c++"))
        }
        wrappers.update({name: TOOL_WRAPPER.format(command=f'"{zig}" {name}') for name in ("ar", "ranlib")})
        wrappers.update(
            {
                name: TOOL_WRAPPER.format(command=self.binutils + name)
                for name in ("strip", "objcopy", "objdump", "nm", "readelf", "size")
            }
        )
        for name, text in wrappers.items():
            path = ready.tool(name)
            write_if_changed(path, text)
            os.chmod(path, 0o755)
        return ready

    def files(self, cxx=False):
        """The wrapper scripts: what they pass to zig shapes what gets built."""
        return [self.tool(name) for name in ("gcc", "cc", "ar", "ranlib", *(("g++", "c++") if cxx else ()))]

    def identity(self):
        return f"zig {_zig_version(self.zig())} -target {self.triple} | CFLAGS={self.cflags} | LDFLAGS={self.ldflags}"


@functools.cache
def _zig_version(zig):
    return output([zig, "version"]).strip()


TOOLCHAINS = {
    "riscv64-linux-gnu": GnuToolchain("riscv64-linux-gnu"),
    "zig-riscv32-linux-musl": ZigToolchain("riscv32-linux-musl"),
    "zig-riscv64-linux-musl": ZigToolchain("riscv64-linux-musl"),
}


def get(name, extra_cflags=""):
    """The toolchain `name`, with `extra_cflags` added to its flags."""
    if name not in TOOLCHAINS:
        raise BuildError(f"unknown userspace toolchain {name!r}; choose one of: {', '.join(TOOLCHAINS)}")
    chosen = TOOLCHAINS[name]
    if extra_cflags:
        chosen = dataclasses.replace(chosen, cflags=f"{chosen.cflags} {extra_cflags}".strip())
    return chosen


def compile_with(env, compiler, clang=False):
    """`compiler` behind ccache (ccache=1), where ccache helps: GNU compilers, not zig's clang."""
    return f"ccache {compiler}" if env["ccache"] and not clang else compiler


def host_compiler(env):
    """The compiler of tools the kernel and BusyBox build for this machine: through ccache, but not
    through distcc, whose hosts may be other machines."""
    return "ccache gcc" if env["ccache"] and not env["distcc_hosts"] else "gcc"


def userspace_toolchain(env):
    """The variant's userspace toolchain, ready to use (wrappers written, tools checked)."""
    name = env["USERSPACE_TOOLCHAIN"]
    chosen = get(name, env.get("userspace_cflags", ""))
    return chosen.prepare(env.Dir(f"#build/toolchains/{name}").abspath)


def toolchain_files(env, tc, cxx=False):
    """The toolchain's own files (zig's wrapper scripts) as a Value of what they say, minus the
    paths that differ between checkouts: zig's own (its version is in the identity) and ours."""
    texts = [open(path).read().replace(tc.zig(), "zig") for path in tc.files(cxx)]
    return [env.Value(checkout_relative("".join(texts), env.Dir("#").abspath))] if texts else []
