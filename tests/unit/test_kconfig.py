import glob

import pytest

from helpers import ROOT
from rvbuild import BuildError, kconfig


def test_parse_reads_values_and_not_set_lines():
    text = 'CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C="root=/dev/vda rw"\n# a comment\nCONFIG_D=0x10\n'
    assert kconfig.parse(text) == {
        "CONFIG_A": "y",
        "CONFIG_B": "n",
        "CONFIG_C": '"root=/dev/vda rw"',
        "CONFIG_D": "0x10",
    }


def test_later_fragments_override_earlier(tmp_path):
    (tmp_path / "a.config").write_text("CONFIG_A=y\nCONFIG_B=y\n")
    (tmp_path / "b.config").write_text("# CONFIG_B is not set\n")
    assert kconfig.requested([tmp_path / "a.config", tmp_path / "b.config"]) == {"CONFIG_A": "y", "CONFIG_B": "n"}


def test_not_stuck_lists_misspelt_and_unmet_options():
    wanted = {"CONFIG_EXT4_FS": "y", "CONFIG_EXT4FS": "y", "CONFIG_MODULES": "n", "CONFIG_HZ": "100"}
    final = {"CONFIG_EXT4_FS": "y", "CONFIG_HZ": "250"}
    assert kconfig.not_stuck(wanted, final) == [("CONFIG_EXT4FS", "y", "n"), ("CONFIG_HZ", "100", "250")]
    assert kconfig.describe(kconfig.not_stuck(wanted, final)) == "CONFIG_EXT4FS=y (got n), CONFIG_HZ=100 (got 250)"


FRAGMENT_FORMS = "write CONFIG_NAME=value, `# CONFIG_NAME is not set`, or a # comment"


def test_fragment_reader_takes_every_kind_of_kconfig_line():
    text = (
        "# a comment\n\n   \nCONFIG_A=y\nCONFIG_B=m\n# CONFIG_C is not set\nCONFIG_D=-1\nCONFIG_E=0x1F\n"
        'CONFIG_F="root=/dev/vda # not a comment \\" quoted"\nCONFIG_G=""\n#CONFIG_H=y\n# CONFIG_I=y\n'
    )
    assert kconfig.parse_fragment(text, "x.config") == {
        "CONFIG_A": "y",
        "CONFIG_B": "m",
        "CONFIG_C": "n",
        "CONFIG_D": "-1",
        "CONFIG_E": "0x1F",
        "CONFIG_F": '"root=/dev/vda # not a comment \\" quoted"',
        "CONFIG_G": '""',
    }


@pytest.mark.parametrize(
    "line, problem",
    [
        ("CONIFG_EXT4_FS=y", "a name is CONFIG_ then letters, digits and _"),
        ("VIRTIO_NET=y", "a name is CONFIG_ then letters, digits and _"),
        ("CONFIG_TMPFS = y", "no spaces around = or after the value"),
        ("CONFIG_TMPFS=y ", "no spaces around = or after the value"),
        ("CONFIG_SMP=y # needed", "a comment goes on a line of its own"),
        ("  CONFIG_SMP=y", "Kconfig skips indented lines"),
        ("CONFIG_SMP", "no ="),
        ("CONFIG_A-B=y", "a name is CONFIG_ then letters, digits and _"),
        ("CONFIG_HZ=1.5", 'a value is y, n, m, a number, 0x-hex or a "string"'),
        ('CONFIG_CMDLINE="console=ttyS0', 'a value is y, n, m, a number, 0x-hex or a "string"'),
        ("CONFIG_SMP=", 'a value is y, n, m, a number, 0x-hex or a "string"'),
    ],
)
def test_fragment_line_that_is_not_kconfig_names_file_line_and_text(line, problem):
    with pytest.raises(BuildError) as error:
        kconfig.parse_fragment(f"# first\nCONFIG_MMU=y\n{line}\nCONFIG_BUG=y\n", "components/linux/virt.config")
    assert str(error.value) == (
        f"components/linux/virt.config:3: `{line}` is not a Kconfig line ({problem}); {FRAGMENT_FORMS}"
    )


def test_requested_reads_fragments_strictly(tmp_path):
    (tmp_path / "a.config").write_text("CONFIG_A=y\n")
    (tmp_path / "b.config").write_text("CONFIG_B=y\nCONFIG_C = y\n")
    with pytest.raises(BuildError, match=rf"^{tmp_path}/b.config:2: `CONFIG_C = y`"):
        kconfig.requested([tmp_path / "a.config", tmp_path / "b.config"])


def test_the_projects_own_fragments_and_busybox_configs_are_strict_kconfig():
    paths = glob.glob(f"{ROOT}/components/*/*.config")
    assert any(path.endswith("linux/virt.config") for path in paths)
    assert any(path.endswith("busybox/busybox.config") for path in paths)
    for path in paths:
        with open(path) as f:
            assert kconfig.read_fragment(path) == kconfig.parse(f.read()), path


def test_lenient_reader_still_reads_what_kconfig_writes():
    assert kconfig.parse("  CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C=y # odd\n") == {
        "CONFIG_A": "y",
        "CONFIG_B": "n",
        "CONFIG_C": "y # odd",
    }


def test_changes_are_what_menuconfig_set_differently():
    before = kconfig.parse('CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_GONE=y\nCONFIG_S="x"\n')
    after = kconfig.parse(
        '# CONFIG_A is not set\nCONFIG_B=y\nCONFIG_NEW=y\n# CONFIG_NEW_OFF is not set\nCONFIG_S="x"\n'
    )
    # A symbol menuconfig hid is gone, not changed; a new one that is off needs no line.
    assert kconfig.changes(before, after) == {"CONFIG_A": "n", "CONFIG_B": "y", "CONFIG_NEW": "y"}


def test_kept_changes_update_an_existing_fragment_in_place(tmp_path):
    before, after, fragment = tmp_path / "before", tmp_path / "after", tmp_path / "menuconfig-rv64.config"
    before.write_text("# CONFIG_A is not set\nCONFIG_B=y\n")
    after.write_text("CONFIG_A=y\nCONFIG_B=y\n")
    assert kconfig.keep_changes(before, after, fragment, "Kept") == f"wrote {fragment}: CONFIG_A=y"
    assert fragment.read_text() == "# Kept\nCONFIG_A=y\n"
    fragment.write_text("# Kept\nCONFIG_A=y\n# mine\nCONFIG_C=y\n")
    after.write_text("CONFIG_A=m\nCONFIG_B=y\n")
    assert kconfig.keep_changes(before, after, fragment, "Kept").startswith("updated")
    assert fragment.read_text() == "# Kept\nCONFIG_A=m\n# mine\nCONFIG_C=y\n"
    after.write_text(before.read_text())
    assert kconfig.keep_changes(before, after, fragment, "Kept") == "no option changed; nothing written"
