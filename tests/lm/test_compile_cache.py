"""The shared compile cache: a second training process with the same shape loads what the first
compiled (its first step a fraction of the first's), and the setting reruns nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from idscaling.lm.checkpoint import NOT_IN_FINGERPRINT
from idscaling.workflow.params import EXECUTION_KEYS


def test_the_cache_is_execution_only():
    assert "compile_cache" in EXECUTION_KEYS["train"] and "compile_cache" in NOT_IN_FINGERPRINT
    assert "tensorboard" in EXECUTION_KEYS["train"] and "tensorboard" in NOT_IN_FINGERPRINT


def test_use_compile_cache_points_inductor_at_the_folder(tmp_path, monkeypatch):
    from idscaling.lm.compile_cache import use_compile_cache

    for var in ("TORCHINDUCTOR_CACHE_DIR", "TRITON_CACHE_DIR"):
        monkeypatch.delenv(var, raising=False)
    root = use_compile_cache(tmp_path / "c")
    assert root == (tmp_path / "c").resolve() and root.is_dir()
    assert os.environ["TORCHINDUCTOR_CACHE_DIR"] == str(root / "inductor")
    assert os.environ["TRITON_CACHE_DIR"] == str(root / "triton")


@pytest.mark.slow
def test_a_second_job_of_the_same_shape_compiles_in_a_fraction_of_the_time(small_corpus, tmp_path):
    """Two training jobs, each its own process (as Snakemake runs them), torch.compile on, one
    cache folder: the second's first step (where compilation happens) takes under half the first's."""
    root = small_corpus["root"]
    cache = tmp_path / "cache"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TORCHINDUCTOR", "TRITON"))}
    env["TORCHINDUCTOR_CACHE_DIR"] = str(tmp_path / "not-this")  # the setting must win over the environment
    first_step = []
    for job in ("a", "b"):
        args = {
            "subset": str(root / "train.bin"),
            "selection": str(root / "select.bin"),
            "shape": {"n_layer": 1, "n_head": 2, "n_embd": 32},
            "settings": dict(
                block_size=32,
                batch_size=4,
                max_steps=4,
                lr=1e-2,
                min_lr=1e-3,
                warmup_steps=1,
                eval_interval=2,
                selection_tokens=512,
                threads=1,
                compile=True,
                compile_cache=str(cache),
                tensorboard=False,
            ),  # fmt: skip
            "seed": 0,
            "out_dir": str(tmp_path / job),
            "resume_dir": None,
        }
        (tmp_path / f"{job}.json").write_text(json.dumps(args))
        subprocess.run([sys.executable, "-m", "idscaling.lm.train_job", str(tmp_path / f"{job}.json")],
                       env=env, check=True, capture_output=True, timeout=600)  # fmt: skip
        first_step.append(json.loads((tmp_path / job / "train_summary.json").read_text())["first_step_s"])
    assert any((cache / "inductor").rglob("*")), "nothing was cached in the configured folder"
    assert not any((tmp_path / "not-this").rglob("*"))  # (torch may create the folder, but keeps nothing there)
    print(f"first step: {first_step[0]:.2f} s cold, {first_step[1]:.2f} s from the cache")
    assert first_step[1] < 0.5 * first_step[0]
