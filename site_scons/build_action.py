"""SCons actions whose failures read as one clear message, not a traceback (the SCons side of
rvbuild, which stays importable without SCons)."""

import functools
import os
import time

import SCons.Action
import SCons.Errors

from rvbuild import BuildError, diskspace, info, steps


def label(env, name, what="$TARGET"):
    """Give `env` the display of step `name` as ${name}COMSTR (unless already set); returns `name`."""
    env.SetDefault(**{f"{name}COMSTR": steps.comstr(name, what)})
    return name


def _failure(error, target):
    """What to raise for `error` (a BuildError, or an OSError): a full disk is named as such."""
    if isinstance(error, OSError) and not diskspace.is_disk_full(error):
        return error
    # An alias (`scons test`) is no file: the checkout's file system stands for it.
    said = diskspace.full_disk_message([getattr(target, "abspath", os.getcwd())], str(error)) or str(error)
    return SCons.Errors.BuildError(node=target, errstr=said, exitstatus=2)


class _Step(functools.partial):
    """What an action runs: `function(target, source, env, **arguments)`, timed if it has a label
    (_run_step). SCons signs a callable by reading its code when the action is made, for every
    action; of a partial, which has no code of its own, it asks get_contents instead, when it
    needs the signature: the step's is `function`'s code (and `signature`), read once."""

    def get_contents(self, target, source, env):
        return self.signature


def _run_step(function, label, arguments, target, source, env):
    started = time.time()
    try:
        return function(target, source, env, **arguments)
    except (BuildError, OSError) as error:
        raise _failure(error, target[0]) from None
    finally:
        if label:
            info.record_step(target[0].path, started, time.time())


def action(function, label=None, signature="", **arguments):
    """An Action running `function(target, source, env, **arguments)`, shown as ${label}COMSTR (see
    `label`). `arguments` are the step's own (its tree, its log); its signature is `function`'s code
    and `signature`: what else decides its output, written without the checkout's path. Build steps
    (those with a label) are timed for `scons build-time`."""
    step = _Step(_run_step, function, label, arguments)
    step.signature = _code_signature(function) + signature.encode()
    return SCons.Action.Action(step, f"${label}COMSTR" if label else None)


@functools.cache
def _code_signature(function):
    return bytes(SCons.Action._callable_contents(function))
