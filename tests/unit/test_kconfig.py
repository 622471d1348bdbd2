from rvbuild import kconfig


def test_parse_reads_values_and_not_set_lines():
    text = 'CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C="root=/dev/vda rw"\n# a comment\nCONFIG_D=0x10\n'
    assert kconfig.parse(text) == {"CONFIG_A": "y", "CONFIG_B": "n", "CONFIG_C": '"root=/dev/vda rw"',
                                   "CONFIG_D": "0x10"}


def test_later_fragments_override_earlier(tmp_path):
    (tmp_path / "a.config").write_text("CONFIG_A=y\nCONFIG_B=y\n")
    (tmp_path / "b.config").write_text("# CONFIG_B is not set\n")
    assert kconfig.requested([tmp_path / "a.config", tmp_path / "b.config"]) == {"CONFIG_A": "y", "CONFIG_B": "n"}


def test_not_stuck_lists_misspelt_and_unmet_options():
    wanted = {"CONFIG_EXT4_FS": "y", "CONFIG_EXT4FS": "y", "CONFIG_MODULES": "n", "CONFIG_HZ": "100"}
    final = {"CONFIG_EXT4_FS": "y", "CONFIG_HZ": "250"}
    assert kconfig.not_stuck(wanted, final) == [("CONFIG_EXT4FS", "y", "n"), ("CONFIG_HZ", "100", "250")]
    assert kconfig.describe(kconfig.not_stuck(wanted, final)) == \
        "CONFIG_EXT4FS=y (got n), CONFIG_HZ=100 (got 250)"
