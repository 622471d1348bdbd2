"""`scons bisect`: the first commit of a kernel tree of the user's own (linux_src=, a git work tree),
between good= and bad=, at which a guest test (test=) or command (cmd=) fails.

The user's tree is only read. The steps check out commits in a clone of rvbuild's own that shares
its objects (git clone --shared), build/<variant>/bisect/tree, and build with bisect_step=1: the
kernel and what reaches it in build/<variant>/bisect/steps, each step on the last one's objects,
the rest shared with the variant. The first step finds in ccache what the pinned tree's build
compiled, as any tree of the user's does (site_tools/kbuild.py).

A step is two kinds of scons run: `scons image` (a failed build: git's skip), then `scons test` or
`scons run` runs= times, each in a guest of its own (a guest that did not answer, or verdicts that
disagree: skip). good must pass and bad fail before bisecting. The culprit is then checked: bad
with it reverted must pass, and its Image is compared with its parent's. Everything done is kept in
bisect.json beside the clone, which an interrupted bisection resumes from; it is the report too.
"""

import contextlib
import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
import time

from rvbuild import BuildError, buildlock, guest
from rvbuild.fetch import sha256_of
from rvbuild.files import write_if_changed

STEPS = "bisect/steps"  # in build/<variant>: what a step builds that the kernel reaches
NOT_STUCK = "kernel options did not stick"  # said by a step's build, kept as the step's note
GOOD, BAD, SKIP = "good", "bad", "skip"
FIRST_BAD = re.compile(r"^([0-9a-f]{40}) is the first bad commit", re.MULTILINE)
COMMIT = re.compile(r"^[0-9a-f]{40}$", re.MULTILINE)
COMPILER_ERROR = re.compile(r"^\S+:\d+:(\d+:)? (fatal )?error: ")
# Its commits only need a name; nothing of the user's is used or changed.
GIT_IDENTITY = ["-c", "user.name=rvbuild", "-c", "user.email=rvbuild@localhost"]


@dataclasses.dataclass
class Step:
    commit: str
    subject: str
    role: str  # "good" or "bad" (the ends, checked first), "step", "parent" (built only), "revert"
    verdict: str = SKIP
    reason: str = ""  # why a step was skipped
    votes: list = dataclasses.field(default_factory=list)  # "pass" or "fail", one per run
    build_seconds: float = 0.0
    boot_seconds: float = 0.0  # per run: until the guest answered SSH
    test_seconds: float = 0.0  # per run: the test or command
    image: str = ""  # sha256 of its kernel Image
    notes: list = dataclasses.field(default_factory=list)  # options that did not stick

    def row(self):
        votes = ",".join(self.votes) or "-"
        return (
            f"{self.commit[:12]}  {self.role:<6} {self.verdict:<7} {self.build_seconds:7.1f} {self.boot_seconds:6.1f} "
            f"{self.test_seconds:6.1f}  {votes:<9} {self.subject[:50]}"
        )


TABLE_HEADING = "commit        role   verdict build s boot s test s  votes     subject"


class Git:
    def __init__(self, tree):
        self.tree = tree

    def __call__(self, *args, check=True):
        result = subprocess.run(["git", "-C", self.tree, *args], capture_output=True, text=True)
        if check and result.returncode:
            said = (result.stderr.strip() or result.stdout.strip()).splitlines()
            raise BuildError(f"git {' '.join(args)} in {self.tree} failed: {said[-1] if said else result.returncode}")
        return result

    def commit(self, revision, option):
        result = self("rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}", check=False)
        if result.returncode:
            raise BuildError(f"{option}={revision} names no commit of {self.tree}; give a commit, tag or branch there")
        return result.stdout.strip()


def ends(tree, good, bad, option):
    """The commits good= and bad= name in `tree` (given as `option`=), checked to be a bisection's."""
    git = Git(tree)
    if git("rev-parse", "--show-toplevel", check=False).returncode:
        raise BuildError(f"{option}={tree} is not a git work tree; scons bisect checks out its commits")
    good_commit, bad_commit = git.commit(good, "good"), git.commit(bad, "bad")
    if git("merge-base", "--is-ancestor", good_commit, bad_commit, check=False).returncode:
        raise BuildError(f"good={good} is not an ancestor of bad={bad} in {tree}; name an older good commit")
    return good_commit, bad_commit


class Bisection:
    def __init__(self, root, variant, user_tree, kernel_name, good, bad, verdict, runs, options):
        """`verdict`: ("test", name) or ("cmd", command line); `options`: the command line's other
        options, for each step's scons."""
        self.root, self.variant, self.runs = root, variant, runs
        self.user_tree, self.verdict, self.options = os.path.abspath(user_tree), verdict, options
        self.dir = os.path.join(root, "build", variant, "bisect")
        self.clone = os.path.join(self.dir, "tree")
        self.report = os.path.join(self.dir, "bisect.json")
        self.image = os.path.join(root, "build", variant, STEPS, kernel_name, "Image")
        self.verdict_file = os.path.join(root, "build", variant, guest.VERDICT)
        self.tree_option = f"{kernel_name}_src"
        self.good, self.bad = ends(user_tree, good, bad, self.tree_option)
        self.git = Git(self.clone)
        self.state = None

    def key(self):
        return dict(tree=self.user_tree, good=self.good, bad=self.bad, verdict=list(self.verdict), runs=self.runs)

    def run(self):
        self._open()
        if not self.state.get("culprit") and not self.state.get("candidates"):
            for role, commit, wanted in (("good", self.good, GOOD), ("bad", self.bad, BAD)):
                step = self._tested(commit, role)
                if step.verdict != wanted:
                    self._print_table()
                    raise BuildError(self._wrong_end(step, wanted))
            self._bisect()
        if self.state.get("culprit") and "confirmation" not in self.state:
            self._confirm(self.state["culprit"])
        self._print_table()
        return self.state

    # -- the clone and the record

    def _open(self):
        buildlock.acquire(os.path.join(self.dir, ".lock"), f"scons bisect of {self.variant}")
        if os.path.exists(self.report):
            with open(self.report) as f:
                self.state = json.load(f)
        if not self.state or self.state.get("key") != self.key():
            self.state = dict(key=self.key(), steps=[])
            shutil.rmtree(os.path.join(self.dir, "logs"), ignore_errors=True)  # another bisection's
            self._prepare_clone(fresh=True)
            self._save()
        else:
            self._prepare_clone(fresh=False)
            self._say(
                f"resuming the bisection in {os.path.relpath(self.report)} ({len(self.state['steps'])} steps done)"
            )

    def _prepare_clone(self, fresh):
        origin = self.git("config", "--get", "remote.origin.url", check=False).stdout.strip()
        if origin != self.user_tree:
            if os.path.exists(self.clone):
                shutil.rmtree(self.clone)
            os.makedirs(os.path.dirname(self.clone), exist_ok=True)
            Git(self.dir)("clone", "--quiet", "--shared", "--no-checkout", self.user_tree, self.clone)
        else:
            with contextlib.suppress(FileNotFoundError):  # left by a bisection killed in a checkout
                os.remove(os.path.join(self.clone, ".git", "index.lock"))
            if fresh:
                self.git("bisect", "reset", "HEAD", check=False)

    def _save(self):
        write_if_changed(self.report, json.dumps(self.state, indent=1) + "\n")

    def _steps(self):
        return [Step(**step) for step in self.state["steps"]]

    def _record(self, step):
        self.state["steps"].append(dataclasses.asdict(step))
        self._save()

    def _say(self, line):
        print(f"rvbuild: bisect: {line}", flush=True)

    # -- one commit

    def _tested(self, commit, role):
        """The step of `commit` in `role`, from the record or else built and tested now. An end
        that could not be judged is tried again: it stopped the bisection, and no skip was given."""
        done = [
            step
            for step in self._steps()
            if step.commit == commit and step.role == role and (step.verdict != SKIP or role == "step")
        ]
        if done:
            return done[-1]
        self._checkout(commit)
        return self._test(commit, role)

    def _checkout(self, commit):
        self.git("checkout", "--quiet", "--force", "--detach", commit)

    def _test(self, commit, role, verdict=True):
        subject = self.git("log", "-1", "--format=%s", commit).stdout.strip()
        step = Step(commit, subject, role)
        self._say(f"{role} {commit[:12]} ({subject[:60]}): building")
        log = os.path.join(self.dir, "logs", f"{commit[:12]}-{role}.log")
        started = time.monotonic()
        built = self._scons(["image"], log, "w")
        step.build_seconds = round(time.monotonic() - started, 1)
        step.notes = _lines_with(log, NOT_STUCK)
        if built.returncode:
            step.reason = f"the build failed: {_cause(log).replace(self.clone + '/', '')}"
        else:
            step.image = sha256_of(self.image)
            if verdict:
                self._judge(step, log)
            else:
                step.verdict = "-"
        self._say(f"{role} {commit[:12]}: {step.verdict}{f' ({step.reason})' if step.reason else ''}")
        self._record(step)
        return step

    def _judge(self, step, log):
        kind, value = self.verdict
        command = ["test", f"test={value}"] if kind == "test" else ["run", f"cmd={value}"]
        boots, tests = [], []
        for _ in range(self.runs):
            if os.path.exists(self.verdict_file):
                os.remove(self.verdict_file)
            self._scons(command, log, "a")
            try:
                with open(self.verdict_file) as f:
                    verdict = json.load(f)
            except FileNotFoundError:
                step.reason = f"no verdict, the guest did not answer: {_cause(log)}"
                return
            step.votes.append("pass" if verdict["passed"] else "fail")
            boots.append(verdict["boot_seconds"])
            tests.append(verdict["test_seconds"])
        step.boot_seconds, step.test_seconds = (round(sum(times) / len(times), 1) for times in (boots, tests))
        if set(step.votes) == {"pass"}:
            step.verdict = GOOD
        elif set(step.votes) == {"fail"}:
            step.verdict = BAD
        else:
            step.reason = f"the verdicts disagree: {step.votes.count('fail')} of {len(step.votes)} failed"

    def _scons(self, command, log, mode):
        options = {**self.options, self.tree_option: self.clone, "bisect_step": "1", "wait": "1"}
        args = [sys.executable, "-m", "SCons", *command, *(f"{name}={value}" for name, value in options.items())]
        os.makedirs(os.path.dirname(log), exist_ok=True)
        with open(log, mode) as output:
            output.write(f"$ scons {' '.join(args[3:])}\n")
            output.flush()
            return guest.finish(args, cwd=self.root, stdout=output, stderr=subprocess.STDOUT)

    # -- the bisection

    def _bisect(self):
        if self.git("bisect", "log", check=False).returncode:
            self.git("bisect", "start", self.bad, self.good)
        while True:
            head = self.git("rev-parse", "HEAD").stdout.strip()
            step = self._tested(head, "step")
            said = self.git("bisect", step.verdict, check=False)
            culprit = FIRST_BAD.search(said.stdout)
            if culprit:
                self.state["culprit"] = culprit[1]
            elif "only 'skip'ped commits left" in said.stdout:
                self.state["candidates"] = COMMIT.findall(said.stdout)
            elif said.returncode:
                raise BuildError(f"git bisect {step.verdict} failed in {self.clone}: {said.stderr.strip()}")
            else:
                continue
            with open(os.path.join(self.dir, "bisect.log"), "w") as f:
                f.write(self.git("bisect", "log").stdout)
            self.git("bisect", "reset", "HEAD")
            self._save()
            return

    def _confirm(self, culprit):
        """Bad with the culprit reverted must pass; an Image equal to its parent's is flagged."""
        parents = self.git("rev-list", "--parents", "-n", "1", culprit).stdout.split()[1:]
        built = {step.commit: step.image for step in self._steps() if step.image}
        if parents and parents[0] not in built:
            self._checkout(parents[0])
            built[parents[0]] = self._test(parents[0], "parent", verdict=False).image
        self.state["same_image_as_parent"] = bool(parents) and built.get(culprit) == built.get(parents[0])
        if len(parents) > 1:
            confirmation = "not confirmed: a merge, which is not reverted"
        else:
            self._checkout(self.bad)
            if self.git(*GIT_IDENTITY, "revert", "--no-edit", culprit, check=False).returncode:
                self.git("revert", "--abort", check=False)
                confirmation = "not confirmed: its revert does not apply on bad"
            else:
                reverted = self._test(self.git("rev-parse", "HEAD").stdout.strip(), "revert")
                confirmation = {
                    GOOD: "confirmed: bad with it reverted passes",
                    BAD: "NOT confirmed: bad with it reverted still fails",
                }.get(reverted.verdict, f"not confirmed: bad with it reverted was skipped ({reverted.reason})")
        self.state["confirmation"] = confirmation
        self._save()

    # -- the report

    def _wrong_end(self, step, wanted):
        what = f"the {'test' if self.verdict[0] == 'test' else 'command'}"
        if step.verdict == SKIP:
            return f"{step.role}={step.commit[:12]} could not be judged ({step.reason}); name another {step.role}="
        return (
            f"{what} {'passes' if wanted == BAD else 'fails'} at {step.role}={step.commit[:12]}, which should be "
            f"{wanted}: nothing to bisect there (its log: {os.path.relpath(self.dir)}/logs/)"
        )

    def _print_table(self):
        print(TABLE_HEADING)
        for step in self._steps():
            print(step.row())
            for note in [step.reason, *step.notes] if step.reason else step.notes:
                print(f"{'':14}{note}")
        culprit = self.state.get("culprit")
        if culprit:
            subject = self.git("log", "-1", "--format=%s", culprit).stdout.strip()
            self._say(f"{culprit} is the first bad commit: {subject}")
            if "confirmation" in self.state:
                self._say(self.state["confirmation"])
            if self.state.get("same_image_as_parent"):
                self._say("its kernel Image is byte for byte its parent's: the change is elsewhere, or the test flaky")
        elif self.state.get("candidates"):
            self._say("no single culprit, skipped commits are in the way; it is one of:")
            for commit in self.state["candidates"]:
                print(f"  {commit}")
        self._say(f"the report is {os.path.relpath(self.report)}")


def _lines_with(log, text):
    with open(log, errors="replace") as f:
        return [line.strip().removeprefix("rvbuild: warning: ") for line in f if text in line]


def _cause(log):
    """The line of a scons run's output (in `log`) that says why it stopped: the compiler's first
    error, or else scons' own."""
    with open(log, errors="replace") as f:
        lines = [line.strip() for line in f]
    compiler = [line for line in lines if COMPILER_ERROR.search(line)]
    said = [line for line in lines if line.startswith(("scons: ***", "rvbuild: error:"))]
    cause = (compiler[:1] or said[-1:] or lines[-1:] or ["no output"])[0]
    return cause if len(cause) <= 300 else cause[:297] + "..."
