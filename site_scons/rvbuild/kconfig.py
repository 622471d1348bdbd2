"""Kconfig files: what fragments ask for, and whether the final .config gave it.

Two readers: `read_fragment` for the fragments people write (and BusyBox's config kept in
the repository), strict, because Kconfig skips a line it cannot read with at most a warning
in a log; `read` for a .config that Kconfig itself wrote, lenient.
"""

import os
import re
import shlex
import shutil
import subprocess
import sys

from rvbuild import BuildError

ASSIGNMENT = re.compile(r"^(CONFIG_[A-Za-z0-9_]+)=(.*)$")
NOT_SET = re.compile(r"^# (CONFIG_[A-Za-z0-9_]+) is not set$")
# Values Kconfig writes: tristate, decimal, hex, or a string in double quotes with \" and \\ escapes.
VALUE = re.compile(r'^(?:[ynm]|-?[0-9]+|0[xX][0-9a-fA-F]+|"(?:[^"\\]|\\.)*")$')


def parse(text):
    """Map each CONFIG_ name to its value; `# ... is not set` reads as "n"."""
    values = {}
    for line in text.splitlines():
        line = line.strip()
        if match := ASSIGNMENT.match(line):
            values[match[1]] = match[2]
        elif match := NOT_SET.match(line):
            values[match[1]] = "n"
    return values


def read(path):
    """A .config written by Kconfig."""
    with open(path) as f:
        return parse(f.read())


def _problem(line):
    """Why `line` is not a fragment line."""
    name, equals, value = line.partition("=")
    if line != line.lstrip():
        return "Kconfig skips indented lines"
    if not equals:
        return "no ="
    if "#" in value and not value.startswith('"'):
        return "a comment goes on a line of its own"
    if name != name.rstrip() or value != value.strip():
        return "no spaces around = or after the value"
    if not re.fullmatch(r"CONFIG_[A-Za-z0-9_]+", name):
        return "a name is CONFIG_ then letters, digits and _"
    return 'a value is y, n, m, a number, 0x-hex or a "string"'


def parse_fragment(text, path):
    """Like parse, but a line Kconfig would skip or misread is a BuildError naming path:line."""
    values = {}
    for number, line in enumerate(text.splitlines(), 1):
        if match := NOT_SET.match(line):
            values[match[1]] = "n"
        elif (match := ASSIGNMENT.match(line)) and VALUE.match(match[2]):
            values[match[1]] = match[2]
        elif line.strip() and not line.startswith("#"):
            raise BuildError(
                f"{path}:{number}: `{line}` is not a Kconfig line ({_problem(line)}); "
                f"write CONFIG_NAME=value, `# CONFIG_NAME is not set`, or a # comment"
            )
    return values


def read_fragment(path):
    with open(path) as f:
        return parse_fragment(f.read(), path)


def requested(fragment_paths):
    """What the fragments ask for, later fragments overriding earlier ones; a line that
    is not Kconfig is a BuildError."""
    wanted = {}
    for path in fragment_paths:
        wanted.update(read_fragment(path))
    return wanted


def not_stuck(wanted, final):
    """[(name, wanted, got)] for every requested value the final config lacks."""
    return [(name, value, final.get(name, "n")) for name, value in wanted.items() if final.get(name, "n") != value]


def describe(misses):
    return ", ".join(f"{name}={want} (got {got})" for name, want, got in misses)


def line(name, value):
    return f"# {name} is not set" if value == "n" else f"{name}={value}"


def apply(text, values):
    """`text` (a whole .config) with `values` set: lines replaced in place, new ones appended."""
    pending = dict(values)
    lines = []
    for original in text.splitlines():
        match = ASSIGNMENT.match(original.strip()) or NOT_SET.match(original.strip())
        name = match[1] if match else None
        lines.append(line(name, pending.pop(name)) if name in pending else original)
    lines += [line(name, value) for name, value in pending.items()]
    return "\n".join(lines) + "\n"


def kept_fragment(component_dir, build_name):
    """Where `scons <component>-menuconfig` keeps what it changed for a build: the fragment applied
    last, when it exists."""
    return os.path.join(component_dir, f"menuconfig-{build_name}.config")


def changes(before, after):
    """What an interactive configuration changed, as fragment values: every symbol of `after` whose
    value differs from `before` (both from parse or read). A symbol new in `after` counts only when
    it is set: the base the fragments are merged over would leave it unset anyway."""
    return {name: value for name, value in after.items() if before.get(name, "n") != value}


def keep_changes(before_path, after_path, fragment_path, header):
    """Write what changed from the config at `before_path` to the one at `after_path` into the
    fragment at `fragment_path` (updated in place if it exists, else made with `header` as its
    comment); returns what to tell the user."""
    changed = changes(read(before_path), read(after_path))
    if not changed:
        return "no option changed; nothing written"
    text, verb = f"# {header}\n", "wrote"
    if os.path.exists(fragment_path):
        with open(fragment_path) as f:
            text, verb = f.read(), "updated"
    with open(fragment_path, "w") as f:
        f.write(apply(text, changed))
    return f"{verb} {fragment_path}: {', '.join(line(name, value) for name, value in changed.items())}"


def configure_interactively(make_command, current_config, scratch, fragment_path, header):
    """Run `make_command` (a make ... menuconfig with O=`scratch`) on a copy of `current_config`;
    what the user changed goes into the fragment. Returns what to tell the user."""
    if not sys.stdin.isatty() or not sys.stdout.isatty():
        raise BuildError("menuconfig needs a terminal: run scons from one (not through a pipe)")
    os.makedirs(scratch, exist_ok=True)
    edited = os.path.join(scratch, ".config")
    shutil.copyfile(current_config, edited)
    status = subprocess.call(make_command)
    if status != 0:
        raise BuildError(
            f"`{shlex.join(make_command)}` failed (status {status}); menuconfig needs libncurses-dev (./setup)"
        )
    return keep_changes(current_config, edited, fragment_path, header)
