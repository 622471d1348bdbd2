"""Per-package sysroots. A library leaves for the packages built with it a Staged item: its
headers, static libraries and pkg-config files by their path in a sysroot (usr/include/zlib.h,
usr/lib/libz.a, usr/lib/pkgconfig/zlib.pc). A package is built against a sysroot of its own that
holds exactly the files of the libraries it DEPENDS on, directly or through one of them (static
linking needs those too), and nothing else: a header of a library it did not declare is not
found. The host's pkg-config is pointed there, never at the host's own .pc files."""

import hashlib
import os
from dataclasses import dataclass

from rvbuild.fetch import sha256_of
from rvbuild.files import copy_if_changed


@dataclass(frozen=True)
class Staged:
    library: str
    files: dict  # path in a sysroot -> node
    needs: tuple = ()  # the Staged items of the libraries it is linked with in turn


def closure(depends):
    """The Staged items reachable from `depends` (a component's: what each of its dependencies'
    SConscripts returned), each once, by library name."""
    found = {}

    def visit(value):
        if isinstance(value, (list, tuple)):
            for item in value:
                visit(item)
        elif isinstance(value, Staged) and value.library not in found:
            found[value.library] = value
            visit(value.needs)

    visit(list((depends or {}).values()))
    return [found[name] for name in sorted(found)]


def files(staged):
    """{path in the sysroot: node} of `staged` (closure's)."""
    return {path: node for item in staged for path, node in sorted(item.files.items())}


def digest(wanted):
    """What the files `wanted` ({path: file}) hold, in a line ("" for none)."""
    if not wanted:
        return ""
    hashed = hashlib.sha256()
    for path, source in sorted(wanted.items()):
        hashed.update(f"{path}\0{sha256_of(source)}\0".encode())
    return f"\nsysroot {hashed.hexdigest()}\n"


def assemble(sysroot, wanted):
    """Make `sysroot` hold exactly `wanted` ({path: file to copy}), written only where changed."""
    for path, source in wanted.items():
        copy_if_changed(source, os.path.join(sysroot, path))
    for directory, _, names in os.walk(sysroot, topdown=False):
        for name in names:
            path = os.path.join(directory, name)
            if os.path.relpath(path, sysroot) not in wanted:
                os.unlink(path)
        if directory != sysroot and not os.listdir(directory):
            os.rmdir(directory)


def flags(sysroot, tc, staged, own_headers_only=True):
    """(compiler, preprocessor flags, linker flags) of toolchain `tc` for a package built against
    `sysroot`. A GNU cross compiler also searches the host's /usr/include, where an undeclared
    library's header would be found by accident: --sysroot puts the sysroot's in its place. zig's
    clang searches no host directory."""
    gnu = own_headers_only and not tc.clang
    compiler = f"{tc.tool('gcc')} --sysroot={sysroot}" if gnu else tc.tool("gcc")
    cppflags = f"-I{sysroot}/usr/include" if staged and not gnu else ""
    return compiler, cppflags, f"-L{sysroot}/usr/lib" if staged else ""


def pkg_config_environment(sysroot):
    """pkg-config's environment: the sysroot's .pc files alone, their paths under the sysroot."""
    return {
        "PKG_CONFIG_LIBDIR": f"{sysroot}/usr/lib/pkgconfig",
        "PKG_CONFIG_SYSROOT_DIR": sysroot,
        "PKG_CONFIG_PATH": None,
    }
