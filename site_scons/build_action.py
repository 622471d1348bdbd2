"""SCons actions whose failures read as one clear message, not a traceback (the SCons side of
rvbuild, which stays importable without SCons)."""

import time

import SCons.Action
import SCons.Errors

from rvbuild import BuildError, info


def action(function, label):
    """An Action running `function`; `label` is its one-line display, e.g. "LINUX    $TARGET".
    Build steps (those with a label) are timed for `scons build-time`."""

    def run(target, source, env):
        started = time.time()
        try:
            return function(target, source, env)
        except BuildError as error:
            raise SCons.Errors.BuildError(node=target[0], errstr=str(error), exitstatus=2) from None
        finally:
            if label:
                info.record_step(target[0].path, started, time.time())

    return SCons.Action.Action(run, label)
