"""rvbuild's commands (`scons boot`) and options (`scons memory=1G`), declared as data where they are
implemented: each SCons tool of site_scons/site_tools lists its own in COMMANDS and OPTIONS, a
component its options in its SConscript (OPTIONS = {"name": "help"}), and SConstruct those of the
wiring. Everything else is made from the declarations: `scons -h`, the SCons Variables, which
commands take one variant, wait for the build lock or need a terminal, and the checks a command
makes before anything builds. README's tables are checked against `scons -h` by the tests.
"""

import fnmatch
import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass

from rvbuild import BuildError

TEXT, BOOL, PATH, DIR = "text", "bool", "path", "dir"  # an option's kind: a DIR must exist


@dataclass(frozen=True)
class Command:
    name: str  # `<package>-menuconfig`: one per package; <...> stands for any name
    help: str
    one_variant: bool = False  # it boots or talks to one guest
    waits: bool = True  # False: it only reads, so it neither waits for nor holds the build lock
    terminal: bool = False  # it draws on the terminal (menuconfig): stdin must be one
    reads_components: bool = True  # False: the components are not declared (a pin it writes may be missing)
    check: Callable = None  # check(env) before anything builds, when requested: raises BuildError

    def matches(self, target):
        return fnmatch.fnmatchcase(target, re.sub(r"<[^>]*>", "*", self.name))


@dataclass(frozen=True)
class Option:
    name: str  # `<component>_src`: one per component of `each`'s roles
    help: str
    default: object = ""
    check: Callable = None  # check(value) -> value, or raises BuildError naming the option and the fix
    kind: str = TEXT
    each: tuple = ()  # the roles whose components each get one such option


class Declared:
    """The commands and options of SConstruct, the tools and the components, checked for clashes."""

    def __init__(self, commands, options, components=()):
        self.commands, self.options, self.components = list(commands), list(options), list(components)
        for kind, names in (("command", [c.name for c in self.commands]), ("option", [o.name for o in self.options])):
            twice = sorted({name for name in names if names.count(name) > 1})
            if twice:
                raise BuildError(f"{kind} {', '.join(twice)} is declared twice; one declaration per {kind}")

    @classmethod
    def collect(cls, own_commands, own_options, modules, components):
        commands, options = list(own_commands), list(own_options)
        for module in modules:
            commands += getattr(module, "COMMANDS", [])
            options += getattr(module, "OPTIONS", [])
        for component in components:
            options += [Option(name, help) for name, help in component.options.items()]
        return cls(commands, options, components)

    def variable_names(self, option):
        if not option.each:
            return [option.name]
        pattern = re.sub(r"<[^>]*>", "{}", option.name)
        return [pattern.format(c.name) for c in self.components if c.role in option.each]

    def variables(self, arguments):
        """SCons Variables reading every option from `arguments` (the command line)."""
        from SCons.Variables import BoolVariable, PathVariable, Variables

        variables = Variables(None, arguments)
        for option in self.options:
            for name in self.variable_names(option):
                if option.kind == BOOL:
                    variables.Add(BoolVariable(name, option.help, option.default))
                elif option.kind in (PATH, DIR):
                    check = PathVariable.PathIsDir if option.kind == DIR else PathVariable.PathAccept
                    default = None if option.kind == DIR and not option.default else option.default
                    variables.Add(PathVariable(name, option.help, default, check))
                else:
                    variables.Add(name, option.help, option.default, _validator(option.check))
        return variables

    def command(self, target):
        return next((command for command in self.commands if command.matches(target)), None)

    def requested(self, targets):
        """The declared commands among `targets` (others are files, or a variant's alias)."""
        return [command for target in targets if (command := self.command(target))]

    def waits_for_lock(self, targets):
        """Whether a run of `targets` builds, and so waits for and holds the build lock."""
        commands = self.requested(targets)
        return not targets or len(commands) < len(targets) or any(command.waits for command in commands)

    def reads_components(self, targets):
        return not targets or any(not (c := self.command(t)) or c.reads_components for t in targets)

    def check(self, targets, variant_count, stdin_is_terminal):
        """One line for a command line that cannot work, before anything is read or built."""
        commands = self.requested(targets)
        one = [f"scons {command.name}" for command in commands if command.one_variant]
        if one and variant_count > 1:
            raise BuildError(f"{', '.join(one)} takes one variant; name just one with variant=")
        for target in targets:
            if (command := self.command(target)) and command.terminal and not stdin_is_terminal:
                raise BuildError(f"scons {target} needs a terminal: run scons from one (not through a pipe)")

    def check_requested(self, targets, env):
        for command in self.requested(targets):
            if command.check:
                command.check(env)

    def help(self, width=100):
        """`scons -h`: each command and option with its one line of help (wrapped to `width`)."""

        def entry(name, text):
            lines = textwrap.wrap(text, width - 24) or [""]
            first = f"  {name:<21} {lines[0]}" if len(name) < 22 else f"  {name}\n{'':24}{lines[0]}"
            return "\n".join([first, *(f"{'':24}{line}" for line in lines[1:])])

        commands = [entry(c.name, c.help) for c in self.commands]
        options = [entry(f"{o.name}={_shown_default(o)}", o.help) for o in self.options]
        return "\n".join(
            [
                "rvbuild builds a RISC-V Linux system from source and boots it in QEMU.",
                "",
                "Commands (scons COMMAND ...):",
                *commands,
                "",
                "Options (scons NAME=value ...):",
                *options,
                "",
            ]
        )


def _validator(check):
    """`check` as SCons Variables call a validator, with (key, value, env)."""
    return check and (lambda key, value, env: check(value))


def _shown_default(option):
    if option.kind == BOOL:
        return "1" if option.default else "0"
    return "" if option.default is None else str(option.default)


HELP_ENTRY = re.compile(r"^  (\S+)(?: +(.*))?$")


def parse_help(text):
    """{"commands": {name: help}, "options": {name=default: help}} from `scons -h` (the README's
    tables are checked against it)."""
    sections, current, last = {"commands": {}, "options": {}}, None, None
    for line in text.splitlines():
        if line.startswith("Commands ("):
            current = sections["commands"]
        elif line.startswith("Options ("):
            current = sections["options"]
        elif current is not None and line.startswith(" " * 24) and last:
            current[last] = f"{current[last]} {line.strip()}".strip()
        elif current is not None and (match := HELP_ENTRY.match(line)):
            last = match[1]
            current[last] = match[2] or ""
        elif not line.strip():
            last = None
    return sections
