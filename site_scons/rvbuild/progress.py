"""Progress of the long steps, on a terminal (progress=1): while a component's commands run, a tqdm
bar counts its compiles (the lines of its log such as `  CC      init/main.o`, or a compiler's
`-c` command line) against those expected: what the same step compiled when it last ran, or on a
first build, what it compiled in another variant; an edit that compiles more than last time is
measured against the largest build the step has made. Above the bars, one line says what is
running and the time left. With progress=0 (the default off a terminal) nothing is drawn.

What each step compiled is kept in build/.compiles.json, written when the step ends well.
"""

import json
import os
import re
import threading
import time

COMPILE = re.compile(rb"^\s*(?:CC|CXX|AS|HOSTCC)(?:\s+\[M\])?\s+\S|\s-c\s", re.MULTILINE)
POLL_SECONDS = 0.25
SHOWN_AFTER_SECONDS = 0.5  # a step quicker than this draws nothing

_settings = {"enabled": False, "record": None}
_lock = threading.RLock()
_running = []  # the Steps running now, in the order they started
_drawn = {"monitor": None, "overall": None}  # the thread that draws, and the line above the bars


def configure(enabled, record):
    """Draw bars (`enabled`), remembering what each step compiled in the JSON file `record`."""
    _settings.update(enabled=enabled, record=record)


def say(line):
    """Print `line` (a build step's) above the bars, if any are drawn."""
    with _lock:
        if _drawn["overall"]:
            from tqdm import tqdm

            tqdm.write(line)
        else:
            print(line, flush=True)


def _read_record():
    try:
        with open(_settings["record"]) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def _write_record(key, count):
    record = _read_record()
    entry = record.setdefault(key, {"last": 0, "most": 0})
    entry.update(last=count, most=max(entry["most"], count))
    temporary = f"{_settings['record']}.{os.getpid()}"
    with open(temporary, "w") as f:
        json.dump(record, f, indent=1, sort_keys=True)
    os.replace(temporary, _settings["record"])


class Step:
    """One run of a component's commands, logged to `log` (build/<variant>/logs/<name>.log);
    `what` tells this step from the others logged there (the first command's last word)."""

    def __init__(self, log, what):
        parts = os.path.abspath(log).split(os.sep)
        self.name = f"{parts[-1].removesuffix('.log')} ({parts[-3]})"
        self.key = f"{parts[-3]}/{parts[-1].removesuffix('.log')}:{what}"
        self.log, self.offset, self.partial = log, _size(log), b""
        self.started, self.done, self.bar = time.time(), 0, None
        known = _read_record()
        same_step = [entry for key, entry in known.items() if key.split("/", 1)[1] == self.key.split("/", 1)[1]]
        own = known.get(self.key)
        self.expected = [own["last"], own["most"]] if own else [max((e["most"] for e in same_step), default=0)]
        self.expected = sorted({count for count in self.expected if count})

    def total(self):
        """The expected count the bar measures against: the first one not yet passed."""
        return next((count for count in self.expected if count >= self.done), None)

    def poll(self):
        try:
            with open(self.log, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except OSError:
            return
        self.offset += len(data)
        lines = self.partial + data
        complete, _, self.partial = lines.rpartition(b"\n")
        self.done += len(COMPILE.findall(complete))

    def seconds_left(self):
        total, elapsed = self.total(), time.time() - self.started
        if not total or not self.done:
            return None
        return (total - self.done) * elapsed / self.done

    def draw(self, position):
        from tqdm import tqdm

        if self.bar is None:
            self.bar = tqdm(desc=self.name, unit=" compiles", position=position, leave=False, smoothing=0)
            self.bar.start_t = self.started  # its rate and times from the step's start
        self.bar.total = self.total()
        self.bar.update(self.done - self.bar.n)
        self.bar.refresh()

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _size(path):
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


class _Overall:
    """The line above the bars: what runs, and the time left."""

    def __init__(self):
        from tqdm import tqdm

        self.line = tqdm(bar_format="{desc}", position=0, leave=False)

    def draw(self, steps):
        lefts = [seconds for step in steps if (seconds := step.seconds_left()) is not None]
        left = f"; about {_duration(max(lefts))} left" if lefts else ""
        self.line.set_description_str(f"rvbuild: building {', '.join(step.name for step in steps)}{left}")

    def close(self):
        self.line.close()


def _duration(seconds):
    return f"{int(seconds // 60)} min {int(seconds % 60):02d} s" if seconds >= 60 else f"{int(seconds)} s"


def _watch():
    while True:
        time.sleep(POLL_SECONDS)
        with _lock:
            if not _running:
                _drawn["monitor"] = None
                return
            shown = [step for step in _running if time.time() - step.started >= SHOWN_AFTER_SECONDS]
            for step in _running:
                step.poll()
            if shown:
                _drawn["overall"] = _drawn["overall"] or _Overall()
                _drawn["overall"].draw(shown)
                for position, step in enumerate(shown, start=1):
                    step.draw(position)


class tracked:
    """Context manager around a step's commands: its bar while they run (progress=1), and what it
    compiled remembered when they end well."""

    def __init__(self, log, what):
        self.step = Step(log, what) if _settings["record"] else None

    def __enter__(self):
        if self.step and _settings["enabled"]:
            with _lock:
                _running.append(self.step)
                if _drawn["monitor"] is None:
                    _drawn["monitor"] = threading.Thread(target=_watch, name="progress", daemon=True)
                    _drawn["monitor"].start()
        return self

    def __exit__(self, kind, error, traceback):
        if not self.step:
            return
        with _lock:
            self.step.poll()
            if self.step in _running:
                _running.remove(self.step)
                if self.step.bar is not None:
                    self.step.draw(self.step.bar.pos)  # the count it ended with
            self.step.close()
            if not _running and _drawn["overall"]:
                _drawn["overall"].close()
                _drawn["overall"] = None
            if kind is None:
                _write_record(self.step.key, self.step.done)
