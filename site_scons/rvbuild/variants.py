"""Variants are small data files, variants/<name>.py, of plain assignments."""

import os
import runpy

from rvbuild import BuildError

REQUIRED = ("xlen", "kernel", "firmware", "kernel_cross", "userspace_toolchain", "qemu")


def names(directory):
    return sorted(name[:-3] for name in os.listdir(directory) if name.endswith(".py") and not name.startswith("_"))


# What the command line may choose instead of a variant's own setting, and how the
# build directory's name then says so: build/rv64-linux6.12-bbl.
OVERRIDES = {"kernel": "linux{}", "firmware": "{}"}


def load(directory, name, debug=False, **overrides):
    """The settings of variant `name`, with non-empty `overrides` applied; `build_name`
    names the build directory, so that different choices never share one. `kernel_build_name`
    names the kernel's and firmware's: with `debug` (a kernel with debug info) one of their own,
    so that switching debug on and off rebuilds nothing, while the rest stays shared."""
    known = names(directory)
    if name not in known:
        raise BuildError(f"unknown variant {name!r}; choose one of: {', '.join(known)} (files in {directory}/)")
    path = os.path.join(directory, f"{name}.py")
    settings = {key: value for key, value in runpy.run_path(path).items() if not key.startswith("_")}
    missing = [key for key in REQUIRED if key not in settings]
    if missing:
        raise BuildError(f"{path} does not set {', '.join(missing)}")
    build_name = name
    for key, value in overrides.items():
        if value and value != settings[key]:
            settings[key] = value
            build_name += "-" + OVERRIDES[key].format(value)
    kernel_build_name = build_name + "-debug" if debug else build_name
    return dict(settings, name=name, build_name=build_name, kernel_build_name=kernel_build_name)


def construction_variables(variant):
    """A variant (load's settings) as the tools read it from its environment."""
    names = dict(VARIANT="build_name", VARIANT_NAME="name", KERNEL_BUILD="kernel_build_name", XLEN="xlen")
    names.update(kernel="kernel", firmware="firmware", KERNEL_CROSS="kernel_cross", QEMU="qemu")
    names.update(USERSPACE_TOOLCHAIN="userspace_toolchain")
    return dict({key: variant[name] for key, name in names.items()}, LOG_DIR=f"#build/{variant['build_name']}/logs")
