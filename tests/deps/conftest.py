"""A copy of the project whose make-based components are the fake trees in tests/fixtures."""
import glob
import os
import re
import shutil

import pytest

from helpers import ROOT, scons
from rvbuild import kconfig

ACTION = re.compile(r"^([A-Z]+)\s+build/rv64/([a-z0-9_-]+)/", re.MULTILINE)
FAKES = {"linux": "fake-linux", "busybox": "fake-busybox", "dropbear": "fake-dropbear",
         "opensbi": "fake-opensbi"}


class Project:
    def __init__(self, path):
        self.path = path
        self.options = [f"{name}_src={path}/fixtures/{fake}" for name, fake in FAKES.items()]

    def file(self, relative):
        return os.path.join(self.path, relative)

    def edit(self, relative, change):
        with open(self.file(relative)) as f:
            text = f.read()
        with open(self.file(relative), "w") as f:
            f.write(change(text))

    def build(self, *args):
        """Run `scons image`; returns (labels of the actions that ran, components they belong to, output)."""
        result = scons("image", *self.options, *args, cwd=self.path)
        ran = ACTION.findall(result.stdout)
        return {label for label, _ in ran}, {component for _, component in ran}, result.stdout

    def up_to_date(self, *args):
        return scons("-q", "image", *self.options, *args, cwd=self.path, check=False).returncode == 0


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("project"))
    for name in ("SConstruct", "site_scons", "components", "variants"):
        copy = shutil.copytree if os.path.isdir(f"{ROOT}/{name}") else shutil.copy
        copy(f"{ROOT}/{name}", f"{path}/{name}")
    shutil.copytree(f"{ROOT}/tests/fixtures", f"{path}/fixtures")
    # The fake Kconfig knows the symbols the real fragments use, and two HZ choices.
    known = list(kconfig.requested(glob.glob(f"{path}/components/linux/*.config"))) + ["CONFIG_HZ_100",
                                                                                       "CONFIG_HZ_250"]
    with open(f"{path}/fixtures/fake-linux/Kconfig", "w") as f:
        f.write("\n".join(known) + "\n")
    built = Project(path)
    built.first_build_output = built.build()[2]
    return built
