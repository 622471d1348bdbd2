"""SCons tool: `scons bisect` (rvbuild.bisect), and bisect_step=1, the layout of its steps' builds
(SConstruct's build_variant).

env.BisectTargets() declares `scons bisect`, which reads no component: the kernel tree is the user's
git tree (<kernel component>_src=). The bisection runs scons for each step, so this one neither
waits for nor holds the lock.
"""

import SCons.Script

from build_action import action
from rvbuild import BuildError, bisect, hosttools
from rvbuild import options as checked
from rvbuild.commands import BOOL, Command, Option
from rvbuild.explain import SUMMARY

# What `scons bisect` itself reads; the steps' scons get the command line's other options.
OWN_OPTIONS = ("good", "bad", "runs", "test", "cmd", "bisect_step")


def _check(env):
    hosttools.require("git", env["QEMU"], "ssh", "setpriv")
    kernel_option = f"{env['KERNEL_COMPONENT']}_src"
    if not env.get(kernel_option):
        raise BuildError(f"scons bisect needs the kernel's git tree: add {kernel_option}=DIR")
    if not env["good"] or not env["bad"]:
        raise BuildError("scons bisect needs both ends: add good=<commit that passes> bad=<commit that fails>")
    if bool(env["test"]) == bool(env["cmd"]):
        raise BuildError("scons bisect judges each commit by one guest test or one command: add test=NAME or cmd=...")
    if env["test"]:
        from rvbuild import guest_tests  # here, not at the top: most builds never need it

        guest_tests.chosen(env.Dir(env["guest_tests"]).path, env["test"])
    if env["bisect_step"]:
        raise BuildError("bisect_step=1 is how scons bisect builds its steps; leave it out")
    bisect.ends(env[kernel_option], env["good"], env["bad"], kernel_option)


COMMANDS = [
    Command(
        "bisect",
        "the first commit of linux_src= (a git tree) between good= and bad= at which test= (a guest test) "
        "or cmd= fails; each step builds on the last, your tree is left as it is; report in "
        "build/<variant>/bisect/",
        one_variant=True,
        waits=False,
        reads_components=False,
        check=_check,
    ),
]
OPTIONS = [
    Option("good", "for scons bisect: a commit of linux_src= at which the test passes"),
    Option("bad", "for scons bisect: a later commit at which it fails"),
    Option("runs", "for scons bisect: verdicts per commit, which must agree", "1", check=checked.runs),
    Option(
        "bisect_step",
        "build, boot or test the commit scons bisect last checked out: with linux_src=build/<variant>/bisect/tree, "
        "in build/<variant>/bisect/steps",
        False,
        kind=BOOL,
    ),
]


def _bisect(target, source, env):
    SUMMARY.cancel()
    arguments = SCons.Script.ARGUMENTS
    kernel_option = f"{env['KERNEL_COMPONENT']}_src"
    bisection = bisect.Bisection(
        root=env.Dir("#").abspath,
        variant=env["VARIANT"],
        user_tree=env[kernel_option],
        kernel_name=env["KERNEL_COMPONENT"],
        good=env["good"],
        bad=env["bad"],
        verdict=("test", env["test"]) if env["test"] else ("cmd", env["cmd"]),
        runs=int(env["runs"]),
        options={name: value for name, value in arguments.items() if name not in (*OWN_OPTIONS, kernel_option)},
    )
    bisection.run()
    return 0


def BisectTargets(env):
    env.AlwaysBuild(env.Alias("bisect", [], action(_bisect)))


def generate(env):
    env.AddMethod(BisectTargets)


def exists(env):
    return True
