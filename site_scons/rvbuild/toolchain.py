"""Cross toolchains. Each one's identity (compiler version and flags) goes into
the signature of every target it builds, so changing it rebuilds them."""
import dataclasses
import functools
import subprocess
from dataclasses import dataclass

from rvbuild import hosttools


@functools.lru_cache(maxsize=None)
def compiler_version(compiler):
    out = subprocess.run([compiler, "--version"], capture_output=True, text=True, check=True)
    return out.stdout.splitlines()[0]


@dataclass(frozen=True)
class GnuToolchain:
    """A GNU cross toolchain installed on the host as <prefix>gcc, <prefix>ar, ..."""
    prefix: str
    cflags: str = ""
    ldflags: str = "-static"

    def tool(self, name):
        return self.prefix + name

    def require(self):
        hosttools.require(self.tool("gcc"))

    def identity(self):
        return f"{compiler_version(self.tool('gcc'))} | CFLAGS={self.cflags} | LDFLAGS={self.ldflags}"


TOOLCHAINS = {
    "riscv64-linux-gnu": GnuToolchain("riscv64-linux-gnu-"),
}


def get(name, extra_cflags=""):
    """The toolchain `name`, with `extra_cflags` added to its flags."""
    chosen = TOOLCHAINS[name]
    if extra_cflags:
        chosen = dataclasses.replace(chosen, cflags=f"{chosen.cflags} {extra_cflags}".strip())
    return chosen
