"""Guest tests: each file `<name>.test` in tests/guest/ (or the folder guest_tests= names) is a
command that `scons test` runs in the guest over SSH, and what it must print:

    # Lines starting with # are comments.
    command: uname -m       run by root's shell in the guest (required, one line)
    variants: rv64*         the builds it is for: names or shell patterns matched against the
                            build's name, as in build/<name> (default: all)
    status: 0               the exit status it must end with (default: 0)
    timeout: 60             seconds it may take (default: 60)
    match: exact            exact: its standard output must be the text below the `---` line;
                            regex: the text below is a Python regular expression that must match
                            all of the output (default: exact)
    ---
    riscv64

Trailing newlines, of the output and of the text below `---`, do not count.
"""

import dataclasses
import difflib
import fnmatch
import os
import re
import subprocess
import time
import xml.etree.ElementTree as ET

from rvbuild import BuildError, guest

SUFFIX = ".test"
SETTINGS = ("command", "variants", "status", "timeout", "match")
MATCHES = ("exact", "regex")
# Compiled when first used (re keeps it): compiling it on import cost every null build 20 ms.
NOT_IN_XML = "[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"


@dataclasses.dataclass(frozen=True)
class GuestTest:
    name: str
    path: str
    command: str
    expected: str
    variants: tuple = ("*",)
    status: int = 0
    timeout: float = 60.0
    regex: bool = False

    def is_for(self, build_name):
        return any(fnmatch.fnmatchcase(build_name, pattern) for pattern in self.variants)


def _setting(path, number, line, key, value):
    def bad(what):
        return BuildError(f"{path}:{number}: `{line.strip()}` is not {what}")

    if key == "variants":
        if not value.split():
            raise bad("a list of builds; name them, e.g. variants: rv64 rv32, or leave the line out for all")
        return tuple(value.split())
    if key == "status":
        if not value.isdigit() or int(value) > 255:
            raise bad("an exit status; use a number from 0 to 255")
        return int(value)
    if key == "timeout":
        try:
            seconds = float(value)
        except ValueError:
            seconds = 0
        if not seconds > 0:
            raise bad("a number of seconds; use e.g. timeout: 60")
        return seconds
    if key == "match":
        if value not in MATCHES:
            raise bad(f"a kind of match; use match: {' or match: '.join(MATCHES)}")
        return value == "regex"
    if not value:
        raise bad("a command; write the command line after `command:`")
    return value


def parse(path):
    """The GuestTest in the file at `path`; a line it cannot read fails with its file and line."""
    with open(path) as f:
        lines = f.read().splitlines()
    settings = {}
    for number, line in enumerate(lines, 1):
        if line.strip() == "---":
            break
        if not line.strip() or line.startswith("#"):
            continue
        key, colon, value = line.partition(":")
        key = key.strip()
        if not colon or key not in SETTINGS:
            raise BuildError(
                f"{path}:{number}: `{line}` is not a setting; use one of {', '.join(SETTINGS)} "
                f"(as `key: value`), then a line `---` and the expected output"
            )
        if key in settings:
            raise BuildError(f"{path}:{number}: {key} is set twice; keep one")
        settings["regex" if key == "match" else key] = _setting(path, number, line, key, value.strip())
    else:
        raise BuildError(f"{path}: no line `---`; put one after the settings, and the expected output below it")
    if "command" not in settings:
        raise BuildError(f"{path}: no command; add a line `command: <the command to run in the guest>`")
    expected = "\n".join(lines[number:])
    if settings.get("regex"):
        try:
            re.compile(expected)
        except re.error as error:
            raise BuildError(f"{path}: the regular expression below `---` does not compile: {error}") from None
    return GuestTest(name=os.path.basename(path).removesuffix(SUFFIX), path=path, expected=expected, **settings)


def load(directory):
    """The tests in `directory`, by name."""
    if not os.path.isdir(directory):
        raise BuildError(f"guest_tests={directory} is not a folder; name the folder of the <name>{SUFFIX} files")
    names = sorted(entry for entry in os.listdir(directory) if entry.endswith(SUFFIX))
    if not names:
        raise BuildError(
            f"no *{SUFFIX} files in {directory}; add one (docs/architecture.md: tests in the guest), "
            f"or name another guest_tests="
        )
    return [parse(os.path.join(directory, name)) for name in names]


def chosen(directory, name=""):
    """The tests in `directory`, or only the one called `name`."""
    tests = load(directory)
    if not name:
        return tests
    named = [test for test in tests if test.name == name]
    if not named:
        raise BuildError(f"no guest test {name!r} in {directory}; choose one of: {', '.join(t.name for t in tests)}")
    return named


@dataclasses.dataclass
class Outcome:
    test: GuestTest
    seconds: float
    output: str = ""
    errors: str = ""  # what the command wrote to stderr
    problem: str = ""  # one line; empty: passed
    details: str = ""  # what the problem looks like: a diff, stderr

    @property
    def passed(self):
        return not self.problem


def _stripped(text):
    return text.rstrip("\n")


def _diff(test, output):
    expected_label = f"expected ({'regular expression, ' if test.regex else ''}{test.path})"
    lines = difflib.unified_diff(
        _stripped(test.expected).splitlines(), _stripped(output).splitlines(), expected_label, "output", lineterm=""
    )
    return "\n".join(lines)


def judge(test, status, output, errors, seconds):
    """The Outcome of `test`, whose command ended with `status` having printed `output` and `errors`."""
    problems, details = [], []
    if status != test.status:
        problems.append(f"exit status {status}, expected {test.status}")
    if test.regex:
        wrong_output = not re.fullmatch(_stripped(test.expected), _stripped(output))
    else:
        wrong_output = _stripped(output) != _stripped(test.expected)
    if wrong_output:
        problems.append("output does not match the regular expression" if test.regex else "output differs")
        details.append(_diff(test, output))
    if problems and errors.strip():
        details.append("stderr:\n" + _stripped(errors))
    return Outcome(test, seconds, output, errors, "; ".join(problems), "\n".join(details))


def _text(stream):
    return stream.decode(errors="replace") if stream else ""


def run(test, remote):
    """Run `test` with `remote(command)`, an ssh command line into the guest; returns its Outcome."""
    started = time.monotonic()
    try:
        result = guest.finish(remote(test.command), timeout=test.timeout, stdin=subprocess.DEVNULL, capture_output=True)
    except subprocess.TimeoutExpired as late:
        problem = f"timed out after {test.timeout:g} s"
        return Outcome(test, time.monotonic() - started, _text(late.stdout), _text(late.stderr), problem)
    return judge(test, result.returncode, _text(result.stdout), _text(result.stderr), time.monotonic() - started)


def report(outcome):
    """What `scons test` prints for one test: PASS or FAIL, and what went wrong, indented."""
    if outcome.passed:
        return f"PASS {outcome.test.name} ({outcome.seconds:.1f} s)"
    lines = [f"FAIL {outcome.test.name}: {outcome.problem}"]
    lines += [f"    {line}" for line in outcome.details.splitlines()]
    return "\n".join(lines)


def _only_for(test):
    return f"for {' '.join(test.variants)} only"


def skipped(test):
    """What `scons test` prints for a test that is not for this build."""
    return f"SKIP {test.name} ({_only_for(test)})"


def write_junit(path, build_name, outcomes, not_for_this_build):
    """A JUnit XML report at `path` of `outcomes`, and of the tests that are `not_for_this_build`."""
    suite = ET.Element(
        "testsuite",
        name=f"guest-tests.{build_name}",
        tests=str(len(outcomes) + len(not_for_this_build)),
        failures=str(sum(not outcome.passed for outcome in outcomes)),
        errors="0",
        skipped=str(len(not_for_this_build)),
        time=f"{sum(outcome.seconds for outcome in outcomes):.3f}",
    )
    for outcome in outcomes:
        case = _case(suite, build_name, outcome.test, outcome.seconds)
        if not outcome.passed:
            ET.SubElement(case, "failure", message=outcome.problem).text = _xml_text(outcome.details)
        ET.SubElement(case, "system-out").text = _xml_text(outcome.output)
        ET.SubElement(case, "system-err").text = _xml_text(outcome.errors)
    for test in not_for_this_build:
        ET.SubElement(_case(suite, build_name, test, 0), "skipped", message=_only_for(test))
    ET.indent(suite)
    partial = f"{path}.partial"
    ET.ElementTree(suite).write(partial, encoding="utf-8", xml_declaration=True)
    os.replace(partial, path)


def _xml_text(text):
    """`text` with what XML cannot hold (terminal escapes, say) as U+FFFD."""
    return re.sub(NOT_IN_XML, "\ufffd", text)


def _case(suite, build_name, test, seconds):
    return ET.SubElement(
        suite, "testcase", classname=f"guest.{build_name}", name=test.name, file=test.path, time=f"{seconds:.3f}"
    )
