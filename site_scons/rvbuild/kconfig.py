"""Kconfig fragments: what they ask for, and whether the final .config gave it."""
import re

ASSIGNMENT = re.compile(r"^(CONFIG_[A-Za-z0-9_]+)=(.*)$")
NOT_SET = re.compile(r"^# (CONFIG_[A-Za-z0-9_]+) is not set$")


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
    with open(path) as f:
        return parse(f.read())


def requested(fragment_paths):
    """What the fragments ask for, later fragments overriding earlier ones."""
    wanted = {}
    for path in fragment_paths:
        wanted.update(read(path))
    return wanted


def not_stuck(wanted, final):
    """[(name, wanted, got)] for every requested value the final config lacks."""
    return [(name, value, final.get(name, "n"))
            for name, value in wanted.items() if final.get(name, "n") != value]


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
