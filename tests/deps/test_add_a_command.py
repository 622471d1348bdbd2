"""A new command is declared in the tool that implements it, and nothing else: `scons -h` lists it,
the one-variant guard and the build lock follow its declaration. Real scons on a copy of the
project, whose info tool gains a command."""

import fcntl
import os

NEW_COMMAND = """

def _licences(target, source, env):
    for variant in _VARIANTS.values():
        print(*sorted({component.license for component in variant.components.values()}), sep="\\n")


COMMANDS.append(Command("licences", "the licences of its components, one a line", one_variant=True, waits=False))
_generate = generate


def generate(env):
    _generate(env)
    env.AlwaysBuild(env.Alias("licences", [], action(_licences)))
"""


def test_a_command_added_to_its_tool_is_listed_guarded_and_run_without_the_build_lock(project):
    with open(project.file("site_scons/site_tools/info.py"), "a") as tool:
        tool.write(NEW_COMMAND)
    helped = project.scons("-h").stdout
    assert "  licences              the licences of its components, one a line\n" in helped
    guarded = project.scons("licences", "variant=rv64,rv32", check=False)
    assert guarded.returncode == 2
    assert "rvbuild: error: scons licences takes one variant; name just one with variant=" in guarded.stderr
    # It only reads: it runs while a build holds the lock (this process, here).
    os.makedirs(project.file("build"), exist_ok=True)
    with open(project.file("build/.lock"), "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        listed = project.scons("licences")
        refused = project.scons("image", check=False)
    assert "GPL-2.0-only WITH Linux-syscall-note" in listed.stdout.splitlines()
    assert refused.returncode == 2 and "another build is running in this checkout" in refused.stderr
