"""Toolchains: the zig wrappers speak GNU, drop the linker flags zig rejects, and identities differ."""

import os
import re
import shlex
import subprocess

from rvbuild import toolchain


def test_zig_compiler_wrapper_filters_flags_zig_rejects(tmp_path):
    fake_zig = tmp_path / "zig"
    fake_zig.write_text('#!/bin/sh\nfor arg do echo "$arg"; done\n')
    fake_zig.chmod(0o755)
    wrapper = tmp_path / "riscv32-linux-musl-gcc"
    wrapper.write_text(
        toolchain.COMPILER_WRAPPER.format(
            triple="riscv32-linux-musl", name="gcc", mode="cc", cache=tmp_path / "cache", zig=fake_zig
        )
    )
    wrapper.chmod(0o755)
    out = subprocess.run(
        [
            str(wrapper),
            "-Os",
            "-Wl,--warn-common",
            "-o",
            "a b",
            "-Wl,-Map,busybox.map",
            "-Wl,--verbose",
            "-Wl,--gc-sections",
            "x.c",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.splitlines() == [
        "cc",
        "-target",
        "riscv32-linux-musl",
        "-Os",
        "-o",
        "a b",
        "-Wl,--gc-sections",
        "x.c",
    ]


def test_zig_toolchain_writes_gnu_named_tools(tmp_path):
    ready = toolchain.get("zig-riscv32-linux-musl").prepare(str(tmp_path))
    assert ready.tool("gcc") == f"{tmp_path}/bin/riscv32-linux-musl-gcc"
    for name in ("gcc", "cc", "ar", "ranlib", "strip", "objcopy"):
        assert os.access(ready.tool(name), os.X_OK)
    assert "riscv64-linux-gnu-objcopy" in open(ready.tool("objcopy")).read()


def test_identity_holds_compiler_version_and_flags():
    plain = toolchain.get("riscv64-linux-gnu").identity()
    debug = toolchain.get("riscv64-linux-gnu", "-g").identity()
    assert "riscv64-linux-gnu-gcc" in plain and "12." in plain
    assert plain != debug and "CFLAGS=-g" in debug


def test_kernel_nm_loads_the_compilers_plugin_alone(tmp_path):
    """Told no plugin, binutils loads every one in bfd-plugins/ for each file it reads (LLVM's
    brings all of libLLVM, 20 ms a run); Kbuild runs nm once for every object."""
    subprocess.run(["riscv64-linux-gnu-gcc", "-c", "-xc", "-", "-o", tmp_path / "a.o"], input=b"int a;", check=True)
    nm = toolchain.nm_without_plugin_search("riscv64-linux-gnu-")
    listed = subprocess.run(
        [*shlex.split(nm), tmp_path / "a.o"], env=dict(os.environ, LD_DEBUG="files"), capture_output=True, text=True
    )
    assert listed.returncode == 0 and " a\n" in listed.stdout
    plugin = subprocess.run(
        ["riscv64-linux-gnu-gcc", "-print-file-name=liblto_plugin.so"], capture_output=True, text=True
    ).stdout.strip()
    assert re.findall(r"file=(\S+) \[0\];  dynamically loaded", listed.stderr) == [plugin]
