"""config/paper.yaml: the paper's experiment set. Its DAG must dry-run, and offline it must fail
fast, naming the dataset; its loaders read local files of the same schema."""

from __future__ import annotations

import json
import time

import pyarrow as pa
import pyarrow.parquet as pq
import yaml
from conftest import REPO, planned_jobs, smk

from idscaling.corpus.sources import iter_documents

PAPER = REPO / "config" / "paper.yaml"


def test_paper_dag_dry_runs(tmp_path):
    cfg = yaml.safe_load(PAPER.read_text())
    jobs = planned_jobs("--configfile", str(PAPER), cwd=tmp_path)
    n_models = sum(len(d["n_tokens"]) for d in cfg["datasets"].values()) * len(cfg["models"])
    assert jobs["prepare_corpus"] == 3 and jobs["train"] == jobs["evaluate"] == n_models == 30
    # ID of each dataset on both shapes (Fig. 4: vs parameters and width) and by context position
    assert jobs["embed"] == 6 and jobs["estimate_id"] == 6 and jobs["id_by_position"] == 3
    assert cfg["tokenizer"]["kind"] == "gpt2" and cfg["models"]["gpt2_small"] == {
        "n_layer": 12,
        "n_head": 12,
        "n_embd": 768,
    }
    assert cfg["train"]["batch_size"] * cfg["train"]["block_size"] * cfg["train"]["grad_accum"] == 524288


def test_paper_config_fails_fast_offline_naming_the_dataset(tmp_path):
    # An endpoint nothing listens on: the same as no network, whatever the machine can reach.
    t0 = time.perf_counter()
    proc = smk(
        "--configfile",
        str(PAPER),
        targets=["results/owt/corpus/meta.json"],
        cwd=tmp_path,
        check=False,
        env={"HF_ENDPOINT": "http://127.0.0.1:9"},
    )
    elapsed = time.perf_counter() - t0
    assert proc.returncode != 0
    log = (tmp_path / "logs/prepare_corpus/owt.log").read_text()
    assert "Hugging Face dataset 'Skylion007/openwebtext' could not be loaded" in log
    assert not list(tmp_path.glob("results/owt/corpus/*.jsonl"))
    assert elapsed < 60, elapsed  # fails in seconds, not after minutes of retries


def test_paper_loaders_on_local_files_with_the_same_schema(tmp_path):
    """OWT and TinyStories rows carry `text`; The Stack's carry `content` (+ metadata columns)."""
    owt = tmp_path / "owt.jsonl"
    owt.write_text("".join(json.dumps({"text": f"web page {i}"}) + "\n" for i in range(5)))
    stack = tmp_path / "stack.parquet"
    pq.write_table(
        pa.table(
            {
                "content": [f"SELECT {i};" for i in range(4)],
                "lang": ["SQL"] * 4,
                "max_stars_repo_path": [f"q{i}.sql" for i in range(4)],
            }
        ),
        stack,
    )
    for name, ds in yaml.safe_load(PAPER.read_text())["datasets"].items():
        local = {"kind": "files", "text_field": ds["source"]["text_field"]}
        if name == "stack_sql":
            docs = list(iter_documents(local | {"paths": [str(stack)], "format": "parquet"}))
            assert docs == [f"SELECT {i};" for i in range(4)]
        else:
            docs = list(iter_documents(local | {"paths": [str(owt)], "format": "jsonl"}))
            assert docs == [f"web page {i}" for i in range(5)]


def test_pretrained_suites_dag_dry_runs(tmp_path):
    """GPT-2 small -> XL and Pythia 70M -> 12B on the paper's datasets, no training."""
    suites = REPO / "config" / "pretrained_suites.yaml"
    jobs = planned_jobs("--configfile", str(PAPER), str(suites), targets=["pretrained"], cwd=tmp_path)
    assert jobs["fetch_pretrained"] == 12 and "train" not in jobs
    assert jobs["evaluate_pretrained"] == jobs["embed_pretrained"] == jobs["estimate_id_pretrained"] == 3 * 12
    assert jobs["pretrained_tables"] == jobs["plot_pretrained"] == 1


def test_resources_scale_with_model_and_data(tmp_path):
    """Training memory grows with model and subset size, runtime with the model's FLOPs; the GPT-2
    small runs of the paper's schedule get hours, the tiny default's minutes."""
    import re

    proc = smk("-n", "--configfile", str(PAPER), cwd=tmp_path)
    out = proc.stdout + proc.stderr
    train = {}
    for block in out.split("\nrule ")[1:]:
        if not block.startswith("train:"):
            continue
        w = dict(re.findall(r"(\w+)=(\w+)", re.search(r"wildcards: (.*)", block).group(1)))
        res = dict(re.findall(r"(mem_mb|runtime)=(\d+)", re.search(r"resources: (.*)", block).group(1)))
        train[(w["dataset"], w["model"], int(w["n"]))] = {k: int(v) for k, v in res.items()}
    small = [v for (d, m, n), v in train.items() if d == "owt" and m == "gpt2_small"]
    sizes = sorted((n, v) for (d, m, n), v in train.items() if d == "owt" and m == "gpt2_small")
    assert len(small) == 5
    assert [v["mem_mb"] for _, v in sizes] == sorted(v["mem_mb"] for _, v in sizes) and sizes[0][1]["mem_mb"] < sizes[
        -1
    ][1]["mem_mb"]
    w384 = train[("owt", "w384", sizes[0][0])]
    assert w384["mem_mb"] < sizes[0][1]["mem_mb"] and w384["runtime"] < sizes[0][1]["runtime"]
    assert sizes[0][1]["runtime"] > 600  # 20,000 steps x 0.5M tokens of GPT-2 small: many hours
