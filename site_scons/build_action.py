"""SCons actions whose failures read as one clear message, not a traceback (the SCons side of
rvbuild, which stays importable without SCons)."""

import SCons.Action
import SCons.Errors

from rvbuild import BuildError


def action(function, label):
    """An Action running `function`; `label` is its one-line display, e.g. "LINUX    $TARGET"."""

    def run(target, source, env):
        try:
            return function(target, source, env)
        except BuildError as error:
            raise SCons.Errors.BuildError(node=target[0], errstr=str(error), exitstatus=2) from None

    return SCons.Action.Action(run, label)
