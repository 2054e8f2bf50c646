"""bench/compare_runs.py: provenance aside, identical runs pass and any changed artifact fails."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "compare_runs.py"


@pytest.fixture(scope="module")
def compare_runs():
    spec = importlib.util.spec_from_file_location("compare_runs", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(root: Path, *, loss: float, version: str, extra_column: bool = False) -> Path:
    results = root / "results"
    (results / "d" / "eval").mkdir(parents=True)
    (results / "summary").mkdir()
    (results / "d" / "model.safetensors").write_bytes(b"\x00\x01weights")
    np.save(results / "d" / "emb.npy", np.arange(6.0).reshape(2, 3))
    meta = {"val_loss": loss, "code_version": version, "versions": {"torch": version}, "wall_time_s": 1.0}
    (results / "d" / "eval" / "seed0.json").write_text(json.dumps(meta))
    table = pd.DataFrame({"dataset": ["a", "b"], "axis": ["data", "model"], "alpha": [0.5, loss]})
    table["code_version"] = version
    if extra_column:
        table["heldout_x"] = [1.0, 2.0]
    table.to_csv(results / "summary" / "exponents.csv", index=False)
    return root


def test_provenance_timing_and_added_columns_are_not_differences(compare_runs, tmp_path, capsys):
    a = _run(tmp_path / "a", loss=3.0, version="abc")
    b = _run(tmp_path / "b", loss=3.0, version="def", extra_column=True)
    assert compare_runs.main([str(a), str(b)]) == 0
    assert "after adds heldout_x" in capsys.readouterr().out


def test_a_changed_value_or_weight_is_reported(compare_runs, tmp_path, capsys):
    a = _run(tmp_path / "a", loss=3.0, version="abc")
    b = _run(tmp_path / "b", loss=3.1, version="abc")
    assert compare_runs.main([str(a), str(b), "--out", str(tmp_path / "r.csv")]) == 1
    out = capsys.readouterr().out
    assert "seed0.json: differs: val_loss" in out
    assert "alpha (1 rows)" in out
    report = pd.read_csv(tmp_path / "r.csv")
    assert report.set_index("file").loc["d/model.safetensors", "result"] == "identical"
    (b / "results" / "d" / "model.safetensors").write_bytes(b"\x00\x02weights")
    compare_runs.main([str(a), str(b), "--out", str(tmp_path / "r.csv")])
    assert pd.read_csv(tmp_path / "r.csv").set_index("file").loc["d/model.safetensors", "result"] == "differs"
