"""idscaling.workflow.inputs: every kind of input a job reads, whole and damaged; the one line."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO
from safetensors.numpy import save_file

from idscaling.corpus.tokens import write_token_file
from idscaling.workflow.inputs import DamagedInput, check_input, require_inputs


def _truncate(path: Path, keep: float = 0.5) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def _files(root: Path) -> dict[str, Path]:
    out = root / "results" / "d"
    out.mkdir(parents=True)
    write_token_file(out / "train.bin", np.arange(1000, dtype=np.uint16), np.array([0, 500]), {"dtype": "uint16"})
    np.save(out / "emb.npy", np.ones((50, 8), dtype=np.float32))
    np.savez(out / "val_losses.npz", losses=np.linspace(1, 2, 2000))
    save_file({"w": np.zeros((64, 64), np.float32)}, str(out / "model.safetensors"))
    (out / "eval.json").write_text(json.dumps({"val_loss": 3.0}))
    (out / "points.csv").write_text("a,b\n1,2\n3,4\n")
    (out / "train.jsonl").write_text('{"text": "one"}\n{"text": "two"}\n')
    return {p.suffix: p for p in out.iterdir() if p.suffix != ".json" or p.name == "eval.json"}


def test_whole_files_pass(tmp_path):
    for path in _files(tmp_path).values():
        check_input(path)
    check_input(tmp_path / "results")  # a directory


DAMAGE = {
    ".bin": lambda p: _truncate(p, 0.9),
    ".npy": _truncate,
    ".safetensors": _truncate,
    ".json": lambda p: p.write_text('{"val_loss": 3.'),
    ".csv": lambda p: p.write_text("a,b\n1,2\n3\n"),
    ".jsonl": lambda p: p.write_text('{"text": "one"}\n{"text": "tw'),
}


@pytest.mark.parametrize("suffix", sorted(DAMAGE) + [".npz"])
def test_a_damaged_file_is_named_with_the_rebuild_command(tmp_path, suffix):
    path = _files(tmp_path)[suffix]
    if suffix == ".npz":
        data = bytearray(path.read_bytes())
        data[100] ^= 0xFF  # a flipped byte inside the member: its CRC fails
        path.write_bytes(bytes(data))
    else:
        DAMAGE[suffix](path)
    with pytest.raises(DamagedInput) as err:
        check_input(path)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: damaged or incomplete (")
    assert message.endswith("it is not made by the workflow: fix or replace it")  # absolute: not under results/
    rel = path.relative_to(tmp_path)
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        with pytest.raises(DamagedInput, match=re.escape(f"rebuild it with: snakemake --forcerun {rel}") + "$"):
            check_input(rel)
    finally:
        os.chdir(cwd)


def test_a_missing_file_and_a_users_file(tmp_path):
    with pytest.raises(DamagedInput, match=r"missing; it is not made by the workflow: fix or replace it$"):
        check_input(tmp_path / "corpus.jsonl")
    with pytest.raises(
        DamagedInput,
        match=r"^results/x/eval\.json: missing; rebuild it with: snakemake --forcerun results/x/eval\.json$",
    ):
        check_input("results/x/eval.json")


def test_require_inputs_ends_the_job_with_the_line_and_no_traceback(tmp_path, capsys):
    files = _files(tmp_path)
    _truncate(files[".safetensors"])
    with pytest.raises(SystemExit) as err:
        require_inputs([str(files[".json"]), str(files[".safetensors"])])
    assert str(err.value).startswith(f"error: {files['.safetensors']}: damaged or incomplete")
    assert err.value.__cause__ is None and err.value.__suppress_context__


def test_every_job_script_checks_its_inputs_first():
    for script in sorted((REPO / "scripts").glob("*.py")):
        lines = script.read_text().splitlines()
        start = next(i for i, line in enumerate(lines) if "log_to(snakemake.log[0]" in line)
        assert lines[start + 1] == "require_inputs(snakemake.input)", script.name
