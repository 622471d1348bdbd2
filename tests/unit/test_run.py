"""Host commands whose output we use: a failure is one line naming the command."""

import pytest

from rvbuild import BuildError, run


def test_output_returns_what_the_command_printed():
    assert run.output(["sh", "-c", "echo hello"]) == "hello\n"
    assert run.output(["printf", "\\377"], binary=True) == b"\xff"


def test_failing_command_is_named_with_its_last_words():
    with pytest.raises(BuildError) as error:
        run.output(["sh", "-c", "echo first >&2; echo no such key >&2; exit 3"])
    assert str(error.value) == "`sh -c 'echo first >&2; echo no such key >&2; exit 3'` failed (status 3): no such key"


def test_missing_program_is_named():
    with pytest.raises(BuildError, match=r"^could not run `no-such-program-rvbuild --version`: No such file"):
        run.output(["no-such-program-rvbuild", "--version"])


def test_logged_line_reruns_in_a_shell_and_reads_back(tmp_path):
    command, extra_env = ["sh", "-c", 'pwd; echo "$GREETING" "${HOME-unset}"'], {"GREETING": "a b", "HOME": None}
    line = run.logged_line(command, str(tmp_path / "it's here"), extra_env)
    (tmp_path / "it's here").mkdir()
    assert run.output(["sh", "-c", line]) == f"{tmp_path}/it's here\na b unset\n"
    assert run.parse_logged_line(line) == (command, str(tmp_path / "it's here"), extra_env)
    assert run.parse_logged_line(run.logged_line(["make", "V=1"])) == (["make", "V=1"], None, {})
