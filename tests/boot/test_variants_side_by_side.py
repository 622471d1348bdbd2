"""After test_boot.py built every variant one after another, each is still up to date:
building one variant never touches another's targets."""

import os

import pytest

from helpers import scons
from test_boot import VARIANTS, build_dir


@pytest.mark.parametrize("name", list(VARIANTS))
def test_variant_is_still_up_to_date(name):
    options = VARIANTS[name][0]
    if not os.path.exists(f"{build_dir(options)}/rootfs/rootfs.ext4"):
        pytest.skip(f"{name} was not built in this run")
    assert scons("-q", "image", *options, check=False).returncode == 0
