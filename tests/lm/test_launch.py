"""idscaling.launch without training: how many processes a job gets, and where the torchrun
child processes' output goes (the job's log file, which runlog.log_to makes sys.stdout/stderr)."""

from __future__ import annotations

import io
import json
import sys

import pytest

from idscaling.lm import launch
from idscaling.lm.launch import n_processes, run_training


def test_processes_default_to_one_per_gpu_of_the_job():
    assert n_processes(None, 2) == 2  # train.processes null, resources gpu=2 -> 2 under torchrun
    assert n_processes(None, 1) == 1 and n_processes(None, 0) == 1  # no GPU resource: one process
    assert n_processes(3, 2) == 3 and n_processes(2, 0) == 2  # configured: as configured


CHILD = """
import json, pathlib, sys
print("child stdout line", flush=True)
print("child stderr line", file=sys.stderr, flush=True)
args = json.loads(open(sys.argv[1]).read())
pathlib.Path(args["out_dir"]).mkdir(parents=True, exist_ok=True)
(pathlib.Path(args["out_dir"]) / "train_summary.json").write_text(json.dumps({"processes": 2}))
"""


@pytest.fixture
def fake_torchrun(monkeypatch):
    """torchrun_command -> a small Python child that prints to stdout and stderr and writes the summary."""
    monkeypatch.setattr(
        launch, "torchrun_command", lambda nproc, args_path: [sys.executable, "-c", CHILD, str(args_path)]
    )


def test_child_output_goes_to_the_redirected_sys_stdout_and_stderr(fake_torchrun, tmp_path, monkeypatch):
    log = tmp_path / "job.log"
    # what runlog.log_to does; the streams are restored before the file is closed
    with open(log, "a", buffering=1, encoding="utf-8") as fh, monkeypatch.context() as mp:
        mp.setattr(sys, "stdout", fh)
        mp.setattr(sys, "stderr", fh)
        print("parent line before")
        summary = run_training({"out_dir": str(tmp_path / "run" / "model")}, nproc=2)
        print("parent line after")
    assert summary == {"processes": 2}
    lines = log.read_text().splitlines()
    # In order: the parent's buffered line is flushed before the child starts.
    assert lines == ["parent line before", "child stdout line", "child stderr line", "parent line after"], lines
    assert not list((tmp_path / "run").glob("*.json"))  # the arguments file is removed


def test_streams_without_a_file_descriptor_are_inherited(capfd, fake_torchrun, tmp_path, monkeypatch):
    with monkeypatch.context() as mp:  # undone before capfd restores the real streams
        mp.setattr(sys, "stdout", io.StringIO())  # e.g. pytest's capsys: no fileno()
        mp.setattr(sys, "stderr", io.StringIO())
        assert launch._file_stream(sys.stdout) is None
        summary = run_training({"out_dir": str(tmp_path / "model")}, nproc=2)
    assert summary == {"processes": 2}
    out, err = capfd.readouterr()  # the child wrote to the inherited file descriptors 1 and 2
    assert "child stdout line" in out and "child stderr line" in err
    assert json.loads((tmp_path / "model" / "train_summary.json").read_text()) == summary
