"""What a step's bar counts and measures against (rvbuild.progress), without a terminal."""

import json

from rvbuild import progress


def run_step(log, compiled, what="Image"):
    with progress.tracked(str(log), what):
        with open(log, "a") as f:
            f.write("$ make\n" + "".join(f"  CC      file{n}.o\n" for n in range(compiled)) + "  LD      vmlinux\n")


def test_each_step_remembers_what_it_compiled_last_and_at_most(tmp_path, monkeypatch):
    record = tmp_path / "compiles.json"
    monkeypatch.setattr(progress, "_settings", {"enabled": False, "record": str(record)})
    log = tmp_path / "build/rv64/logs/linux.log"
    log.parent.mkdir(parents=True)
    run_step(log, 900)
    run_step(log, 3)
    assert json.loads(record.read_text()) == {"rv64/linux:Image": {"last": 3, "most": 900}}
    step = progress.Step(str(log), "Image")
    assert step.total() == 3  # the last build's count first...
    step.done = 4
    assert step.total() == 900  # ...then the largest, once passed
    step.done = 901
    assert step.total() is None


def test_a_first_build_is_measured_against_the_same_step_of_another_variant(tmp_path, monkeypatch):
    record = tmp_path / "compiles.json"
    record.write_text(
        json.dumps({"rv64/linux:Image": {"last": 5, "most": 980}, "rv64/busybox:x": {"last": 1, "most": 1}})
    )
    monkeypatch.setattr(progress, "_settings", {"enabled": False, "record": str(record)})
    assert progress.Step(str(tmp_path / "build/rv32/logs/linux.log"), "Image").total() == 980
    assert progress.Step(str(tmp_path / "build/rv32/logs/opensbi.log"), "all").total() is None


def test_compiles_are_kbuild_lines_and_compiler_commands():
    log = b"  CC      init/main.o\n  CC [M]  drivers/block/loop.o\n  AS      head.o\n  HOSTCC  scripts/x\n"
    log += b"ccache riscv64-linux-gnu-gcc -c -Os -o svr-main.o svr-main.c\n  LD      vmlinux\nchecking for gcc... yes\n"
    assert len(progress.COMPILE.findall(log)) == 5
