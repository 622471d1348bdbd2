"""Commands and options as declarations: what `scons -h`, the build lock, the one-variant guard and
the terminal check are made from."""

import pytest

from rvbuild import BuildError
from rvbuild.commands import BOOL, DIR, Command, Declared, Option, parse_help
from rvbuild.components import Component

COMMANDS = [
    Command("image", "everything (the default)"),
    Command("boot", "boot it", one_variant=True),
    Command("info", "what it is", waits=False),
    Command("<package>-menuconfig", "a package's menuconfig", terminal=True),
    Command("update-lock", "pin it", reads_components=False),
]
OPTIONS = [
    Option("memory", "guest memory, a very long help line " + "that wraps " * 12, "256M"),
    Option("persist", "keep what the guest writes", False, kind=BOOL),
    Option("<component>_src", "your own tree", kind=DIR, each=("package",)),
]
FOUND = [Component("busybox", "package", "components/busybox"), Component("linux", "kernel", "components/linux")]


def declared():
    return Declared(COMMANDS, OPTIONS, FOUND)


def test_help_lists_every_command_and_option_and_reads_back():
    helped = parse_help(declared().help())
    assert helped["commands"] == {command.name: command.help for command in COMMANDS}
    assert helped["options"] == {
        "memory=256M": OPTIONS[0].help.strip(),
        "persist=0": "keep what the guest writes",
        "<component>_src=": "your own tree",
    }


def test_a_per_component_option_is_one_variable_per_component_of_its_roles():
    variables = declared().variables({"busybox_src": "/nonexistent"})
    assert [option.key for option in variables.options] == ["memory", "persist", "busybox_src"]


@pytest.mark.parametrize(
    "targets, waits",
    [([], True), (["info"], False), (["info", "image"], True), (["build/rv64/linux/Image"], True), (["boot"], True)],
)
def test_only_commands_that_just_read_skip_the_build_lock(targets, waits):
    assert declared().waits_for_lock(targets) == waits


def test_patterns_match_each_name_and_nothing_else():
    assert declared().command("busybox-menuconfig").name == "<package>-menuconfig"
    assert declared().command("menuconfig") is None
    assert not declared().reads_components(["update-lock"]) and declared().reads_components(["update-lock", "image"])


def test_one_variant_and_terminal_are_one_line_errors():
    with pytest.raises(BuildError, match=r"^scons boot takes one variant; name just one with variant=$"):
        declared().check(["boot"], 2, True)
    declared().check(["boot", "image"], 1, False)
    with pytest.raises(BuildError, match=r"^scons busybox-menuconfig needs a terminal"):
        declared().check(["busybox-menuconfig"], 1, False)


def test_a_name_declared_twice_is_an_error():
    with pytest.raises(BuildError, match=r"option memory is declared twice"):
        Declared(COMMANDS, OPTIONS + OPTIONS[:1])


def whole_number(value):
    if not value.isdigit():
        raise BuildError(f"size={value} is not a whole number")
    return value


def test_an_option_is_checked_as_scons_reads_it():
    from SCons.Environment import Environment

    size = Option("size", "a size", "1", check=whole_number)
    assert Environment(tools=[], variables=Declared([], [size]).variables({"size": "12"}))["size"] == "12"
    with pytest.raises(BuildError, match="size=lots is not a whole number"):
        Environment(tools=[], variables=Declared([], [size]).variables({"size": "lots"}))
