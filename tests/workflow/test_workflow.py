"""The Snakemake workflow itself: lint, dry runs, a real tiny end-to-end run, partial reruns
and bad input, all through the `snakemake` command line as a user runs it."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import REPO, planned_jobs, smk

from idscaling.corpus.sources.builtin import stdlib_files

TINY = REPO / "tests" / "data" / "tiny_config.yaml"


def local_workdir(work: Path, **train: object) -> Path:
    """A work dir with the tiny config's local-files dataset only (40 stdlib files in corpus/),
    optionally with other train settings."""
    import yaml

    (work / "corpus").mkdir(parents=True)
    for path in stdlib_files()[:40]:
        shutil.copy(path, work / "corpus" / f"{path.stem}_{abs(hash(path)) % 10**6}.py")
    cfg = yaml.safe_load(TINY.read_text())
    cfg["datasets"].pop("latent")
    cfg["train"].update(train)
    (work / "config.yaml").write_text(yaml.safe_dump(cfg))
    return work


def test_lint_is_clean():
    proc = smk("--lint")
    out = proc.stdout + proc.stderr
    assert "Congratulations" in out and "Lints for" not in out, out


def test_dry_run_of_the_default_dag(tmp_path):
    import yaml

    cfg = yaml.safe_load((REPO / "config.yaml").read_text())
    n_data, n_models = len(cfg["datasets"]), len(cfg["models"])
    n_runs = sum(len(d["n_tokens"]) for d in cfg["datasets"].values()) * n_models * len(cfg.get("seeds", [0]))
    jobs = planned_jobs("--directory", str(tmp_path), "--configfile", str(REPO / "config.yaml"))
    assert jobs["prepare_corpus"] == n_data and jobs["train_tokenizer"] == n_data
    assert jobs["tokenize"] == 3 * n_data
    assert jobs["subsample"] == sum(len(d["n_tokens"]) for d in cfg["datasets"].values())
    assert jobs["train"] == jobs["evaluate"] == n_runs
    # Fig. 4: every shape is embedded at the largest N (final layer), the largest at every layer,
    # and its final-layer points grouped by context position.
    assert jobs["embed"] == n_data * n_models
    assert jobs["estimate_id"] == n_data * (len(cfg["embed"]["layers"]) + n_models - 1)
    assert jobs["id_by_position"] == n_data
    for rule in (
        "scaling_points",
        "id_table",
        "exponents",
        "joint_fit",
        "id_analyses",
        "plot_scaling",
        "plot_intrinsic_dim",
        "plot_id_analyses",
        "all",
    ):
        assert jobs[rule] == 1
    assert "known_dimension_table" not in jobs  # no latent corpus in the default
    assert "id_protocols" not in jobs  # ... and only the paper's token protocol


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("work")
    (work / "corpus").mkdir()
    for path in stdlib_files()[:40]:
        shutil.copy(path, work / "corpus" / f"{path.stem}_{abs(hash(path)) % 10**6}.py")
    shutil.copy(TINY, work / "config.yaml")
    return work


def test_one_id_json_builds_only_its_ancestors(workdir):
    target = "results/local/id/b/n12000/seed0/layer_final.json"
    jobs = planned_jobs("--configfile", "config.yaml", targets=[target], cwd=workdir)
    # tokenize: the train split (for the subset), select (checkpoint choice) and val (embedding);
    # one subset, one model: no other size, shape, evaluation or summary.
    assert jobs == {
        "prepare_corpus": 1,
        "train_tokenizer": 1,
        "tokenize": 3,
        "subsample": 1,
        "train": 1,
        "embed": 1,
        "estimate_id": 1,
    }


def test_end_to_end_tiny_run(workdir):
    smk("--configfile", "config.yaml", cwd=workdir, timeout=1200)
    res = workdir / "results"
    all_points = pd.read_csv(res / "summary" / "scaling_points.csv")
    assert len(all_points) == 8 and set(all_points["dataset"]) == {"local", "latent"}
    points = all_points[all_points["dataset"] == "local"]
    assert len(points) == 4 and set(points["model"]) == {"a", "b"} and set(points["n_tokens"]) == {3000, 12000}
    for col in (
        "dataset",
        "model",
        "n_params",
        "n_tokens",
        "seed",
        "val_loss",
        "val_loss_ci_low",
        "val_loss_ci_high",
        "train_flops",
    ):
        assert points[col].notna().all(), col
    assert (points["val_loss_ci_low"] < points["val_loss"]).all() and (
        points["val_loss"] < points["val_loss_ci_high"]
    ).all()
    assert (points["val_loss"] < 5.95).all()  # ln(384) = 5.95: every model learned something
    all_exps = pd.read_csv(res / "summary" / "exponents.csv")
    # the latent corpus's other ID protocols add rows with their own predictions; "primary" the configured ones
    others = all_exps[~all_exps["primary"]]
    assert set(others["dataset"]) == {"latent"} and len(others) == 3 * 11  # 3 axes x (6 protocols x 2 metrics - 1)
    data_others = others[others["axis"] == "data"]
    np.testing.assert_allclose(data_others["alpha_predicted"], 2 / (2 + data_others["id"]))
    exps = all_exps[all_exps["primary"]].reset_index(drop=True)
    assert set(exps["axis"]) == {"data", "data_envelope", "model"} and len(exps) == 6
    # the envelope: at each size the shape with the lowest seed-mean loss, recorded per size
    for dataset, sub in all_points.groupby("dataset"):
        env = exps[(exps["dataset"] == dataset) & (exps["axis"] == "data_envelope")].iloc[0]
        best = sub.groupby(["n_tokens", "model"])["val_loss"].mean().groupby(level=0).idxmin()
        assert set(env["envelope_models"].split()) == {f"{n}:{model}" for n, model in best}
    for col in (
        "alpha_observed",
        "alpha_ci_low",
        "alpha_ci_high",
        "id",
        "id_ci_low",
        "id_ci_high",
        "beta",
        "alpha_predicted",
    ):
        assert col in exps.columns
    data = exps[exps["axis"] == "data"].iloc[0]
    assert data["alpha_predicted"] == pytest.approx(2 / (2 + data["id"]))
    # two data sizes: too few for the saturating law, and the table says so
    assert exps["alpha_saturating"].isna().all() and exps["saturating_note"].str.contains("at least 4 points").all()
    joint = pd.read_csv(res / "summary" / "joint_fit.csv").set_index("dataset")
    assert joint.loc["local", "n_points"] == 4 and "at least 6 points" in joint.loc["local", "note"]
    # the controlled test's path: the latent corpus (k = 2) through every stage
    known = pd.read_csv(res / "summary" / "known_dimension.csv")
    assert set(known["dataset"]) == {"latent"} and (known["k"] == 2).all()
    # a latent corpus gets every ID protocol with both metrics (only [token] configured)
    assert len(known) == 12 and set(known["protocol"]) == {
        "token",
        "token_centred",
        "sequence_mean",
        "sequence_last",
        "oracle",
        "oracle_window",
    }
    assert known["recommended"].sum() == 1
    ids_all = pd.read_csv(res / "summary" / "intrinsic_dim.csv", dtype={"layer": str})
    ids_final = ids_all[(ids_all["dataset"] == "latent") & (ids_all["layer"] == "final")]
    token = known[(known["protocol"] == "token") & (known["metric"] == "cosine")].iloc[0]
    assert token["id"] == pytest.approx(ids_final["id"].mean())  # the same estimate as estimate_id's
    assert known.set_index(["protocol", "metric"]).loc[("oracle", "euclidean"), "id_target"] == 2
    assert known.set_index(["protocol", "metric"]).loc[("oracle", "cosine"), "id_target"] == 1
    latent_data = exps[(exps["dataset"] == "latent") & (exps["axis"] == "data")].iloc[0]
    np.testing.assert_allclose(known["alpha_observed"], latent_data["alpha_observed"], rtol=1e-12)
    assert (
        known[
            [
                "id",
                "id_source",
                "teacher_entropy",
                "alpha_predicted",
                "probe_r2_late",
                "loss_gap_late",
                "bayes_loss_late",
            ]
        ]
        .notna()
        .all(axis=None)
    )
    assert (known["bayes_loss_late"] >= known["teacher_entropy"] - 0.3).all()
    by_position = pd.read_csv(res / "summary" / "latent_diagnostics.csv")
    assert by_position["position"].min() == 1 and by_position["n_documents"].max() > 10
    protocols = pd.read_csv(res / "summary" / "id_protocols.csv")
    assert set(protocols["dataset"]) == {"latent"} and len(protocols) == 12
    scale = pd.read_csv(res / "summary" / "id_scale.csv")
    assert set(scale["protocol"]) == set(protocols["protocol"]) and scale["n1"].min() == 1
    assert (res / "figures" / "id_scale.png").stat().st_size > 10_000
    assert (res / "figures" / "known_dimension.png").stat().st_size > 10_000
    ids = pd.read_csv(res / "summary" / "intrinsic_dim.csv", dtype={"layer": str})
    assert set(ids["layer"]) == {"final", "1"} and (ids["id"] > 0).all() and (ids["k"] == 10).all()
    for name in ("data_scaling", "model_scaling", "intrinsic_dim", "id_analyses", "exponents"):
        assert (res / "figures" / f"{name}.png").stat().st_size > 10_000
    analyses = pd.read_csv(res / "summary" / "id_analyses.csv")
    local = analyses[analyses["dataset"] == "local"]
    assert sorted(local["analysis"].unique()) == ["layer", "params", "position", "width"]
    assert list(local[local["analysis"] == "width"]["x"]) == [16, 32]  # models a and b
    assert list(local[local["analysis"] == "layer"]["x"]) == [1, 2]  # layers 1 and final (= 2) of model b
    summary = json.loads((res / "local/models/b/n12000/seed0/train_summary.json").read_text())
    assert "selection split" in summary["checkpoint_selection"]
    # provenance on every result: one config hash and code version for the whole run
    stamps = set()
    for table in (res / "summary").glob("*.csv"):
        frame = pd.read_csv(table)
        assert {"config_hash", "code_version", "versions"} <= set(frame.columns), table.name
        stamps |= set(zip(frame["config_hash"], frame["code_version"]))
    for result in [
        res / "local/models/b/n12000/seed0/train_summary.json",
        res / "local/eval/b/n12000/seed0.json",
        res / "local/id/b/n12000/seed0/layer_final.json",
        res / "local/embeddings/b/n12000/seed0/meta.json",
    ]:
        r = json.loads(result.read_text())
        stamps.add((r["config_hash"], r["code_version"]))
        assert r["versions"]["torch"] == torch_version()
    assert len(stamps) == 1
    assert (res / "local/models/b/n12000/seed0/model.safetensors").is_file()
    # A self-contained HTML report.
    smk("--configfile", "config.yaml", "--report", "report.html", cwd=workdir)
    html = (workdir / "report.html").read_text(errors="replace")
    assert len(html) > 100_000 and "exponents.csv" in html


# Settings that change only how a job runs (idscaling.workflow.params.EXECUTION_KEYS), and the
# command-line ways to say the same: after a finished run, none may plan a job.
EXECUTION_ONLY = [
    ("--config", 'train={"threads": 2}'),
    ("--config", 'train={"device": "cpu"}'),
    ("--config", 'train={"processes": 2}'),
    ("--config", 'train={"compile": true}'),
    ("--config", 'train={"checkpoint_interval": 7}'),
    ("--config", 'evaluate={"batch_size": 3}'),
    ("--config", 'embed={"batch_size": 3}'),
    ("--config", 'id={"knn": "blas"}'),
    ("--config", 'tokenize={"shards": 3}'),
    ("--config", 'pretrained={"batch_size": 2, "mem_mb": 999, "runtime": 7}'),
    ("--set-threads", "train=2", "evaluate=2"),
    ("--set-resources", "train:gpu=2", "train:mem_mb=9000", "embed:runtime=5"),
]


@pytest.mark.parametrize("setting", EXECUTION_ONLY, ids=lambda s: " ".join(s))
def test_an_execution_setting_reruns_nothing(workdir, setting):
    if not (workdir / "results/summary/exponents.csv").exists():
        pytest.skip("needs the end-to-end run")
    assert planned_jobs("--configfile", "config.yaml", *setting, cwd=workdir) == {}


# Settings that change results: exactly their rule's jobs and what reads their outputs rerun
# (4 runs per dataset, 2 datasets; the largest model is embedded at every layer).
FITS = {"exponents": 1, "known_dimension_table": 1, "plot_scaling": 1, "plot_known_dimension": 1, "all": 1}
EMBEDDING_DOWNSTREAM = {
    "estimate_id": 6,
    "id_by_position": 2,
    "id_protocols": 1,
    "latent_diagnostics": 1,
    "id_analyses": 1,
    "id_protocols_table": 1,
    "id_table": 1,
    "joint_fit": 1,
    "plot_id_analyses": 1,
    "plot_id_scale": 1,
    "plot_intrinsic_dim": 1,
} | FITS
RESULT_SETTINGS = [
    ('evaluate={"n_bootstrap": 50}', {"evaluate": 8, "scaling_points": 1, "joint_fit": 1} | FITS),
    ('fit={"data_axis_model": "a"}', FITS),  # the joint fit does not read it
    ('fit={"beta": 2.0}', {"joint_fit": 1} | FITS),
    ('embed={"max_points": 2000}', {"embed": 4} | EMBEDDING_DOWNSTREAM),
    ('train={"lr": 0.005}', {"train": 8, "evaluate": 8, "scaling_points": 1, "embed": 4} | EMBEDDING_DOWNSTREAM),
]


@pytest.mark.parametrize("setting,expected", RESULT_SETTINGS, ids=[s for s, _ in RESULT_SETTINGS])
def test_a_result_setting_reruns_exactly_its_rules(workdir, setting, expected):
    if not (workdir / "results/summary/exponents.csv").exists():
        pytest.skip("needs the end-to-end run")
    assert planned_jobs("--configfile", "config.yaml", "--config", setting, cwd=workdir) == expected


def test_archive_target_bundles_results_with_a_manifest(workdir, tmp_path):
    """`snakemake archive` after the run: config, tables, figures, the HTML report and the pinned
    envs, each listed with its sha256 in the manifest; unpacked and checked here."""
    import tarfile

    import yaml

    from idscaling.archive import verify_archive
    from idscaling.config import load_schema, validate_config

    if not (workdir / "results/summary/scaling_points.csv").exists():
        pytest.skip("needs the end-to-end run")
    smk("--configfile", "config.yaml", targets=["archive"], cwd=workdir)
    archive = workdir / "results/archive/idscaling-results.tar.gz"
    assert verify_archive(archive) == []
    with tarfile.open(archive) as tar:
        tar.extractall(tmp_path / "x", filter="data")
    root = tmp_path / "x"
    manifest = json.loads((root / "manifest.json").read_text())
    names = {f["path"] for f in manifest["files"]}
    assert {
        "config.yaml",
        "report.html",
        "summary/scaling_points.csv",
        "summary/exponents.csv",
        "figures/data_scaling.png",
        "envs/torch.yaml",
        "requirements.lock",
    } <= names
    for entry in manifest["files"]:  # the unpacked files match their manifest entries
        data = (root / entry["path"]).read_bytes()
        assert len(data) == entry["bytes"] and hashlib.sha256(data).hexdigest() == entry["sha256"]
    assert len((root / "report.html").read_bytes()) > 100_000
    config = yaml.safe_load((root / "config.yaml").read_text())
    schema = load_schema(REPO / "schemas" / "config.schema.yaml")
    assert validate_config(config, schema, base_dir=workdir) == config  # the resolved, complete config
    points = pd.read_csv(root / "summary/scaling_points.csv")
    assert (points["config_hash"] == manifest["config_hash"]).all()


def test_snakemake_archive_from_a_clean_clone(tmp_path):
    """`snakemake --archive` (Snakemake's workflow archive) in a fresh clone: every tracked file
    of the workflow goes in. The full default DAG's archive also packs each rule's conda env,
    which needs conda; where conda is missing that part cannot run, and the test says so."""
    import subprocess
    import tarfile

    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
    tracked = set(subprocess.run(["git", "ls-files"], cwd=clone, capture_output=True, text=True).stdout.split())
    # A DAG without jobs (no pretrained suite configured): sources only, no conda needed.
    smk("--archive", str(tmp_path / "wf.tar.gz"), targets=["pretrained"], cwd=clone)
    with tarfile.open(tmp_path / "wf.tar.gz") as tar:
        names = set(tar.getnames())
    assert (
        tracked <= names and {"Snakefile", "rules/common.smk", "envs/torch.yaml", "src/idscaling/lm/train.py"} <= names
    )
    if shutil.which("conda") is None:
        pytest.skip(
            "conda is not installed: `snakemake --archive` of the full DAG packs each rule's conda "
            "env and needs conda (sources-only archive checked above)"
        )
    smk("--archive", str(tmp_path / "full.tar.gz"), cwd=clone, timeout=3600)
    with tarfile.open(tmp_path / "full.tar.gz") as tar:
        assert any(n.startswith(".snakemake/conda-archive") for n in tar.getnames())


def torch_version() -> str:
    from importlib.metadata import version

    return version("torch")


def test_rerun_from_clean_results_is_bit_identical(tmp_path):
    """The same config run twice from an empty results/ gives byte-identical scaling points
    (seeded data order, initialisation and training; same code, so same provenance too)."""
    local_workdir(tmp_path)
    target = ["results/summary/scaling_points.csv"]
    runs = []
    for _ in range(2):
        shutil.rmtree(tmp_path / "results", ignore_errors=True)
        shutil.rmtree(tmp_path / ".snakemake", ignore_errors=True)
        smk("--configfile", "config.yaml", targets=target, cwd=tmp_path)
        runs.append((tmp_path / target[0]).read_bytes())
    assert runs[0] == runs[1]
    assert len(pd.read_csv(tmp_path / target[0])) == 4


def test_changing_an_id_setting_reruns_only_id_and_downstream(workdir):
    ckpt = workdir / "results/local/models/b/n12000/seed0/model.safetensors"
    if not ckpt.exists():
        pytest.skip("needs the end-to-end run")
    assert planned_jobs("--configfile", "config.yaml", cwd=workdir) == {}  # nothing to do
    knob = ["--configfile", "config.yaml", "--config", 'id={"k": 5, "batch_size": 1000, "n_bootstrap": 100}']
    jobs = planned_jobs(*knob, cwd=workdir)
    # per dataset: the largest model at 2 layers + the other model's final layer, and the position groups
    assert jobs == {
        "estimate_id": 6,
        "id_by_position": 2,
        "id_table": 1,
        "id_analyses": 1,
        "exponents": 1,
        "joint_fit": 1,
        "plot_scaling": 1,
        "plot_intrinsic_dim": 1,
        "plot_id_analyses": 1,
        "id_protocols": 1,
        "id_protocols_table": 1,
        "plot_id_scale": 1,
        "known_dimension_table": 1,
        "plot_known_dimension": 1,
        "all": 1,
    }
    before = ckpt.stat().st_mtime_ns
    smk(*knob, cwd=workdir)
    assert ckpt.stat().st_mtime_ns == before
    ids = pd.read_csv(workdir / "results/summary/intrinsic_dim.csv")
    assert (ids["k"] == 5).all()


def test_bad_config_is_one_line_before_any_job(workdir, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(TINY.read_text().replace("n_tokens: [3000, 12000]", "n_tokens: [3000, -12000]"))
    proc = smk("-n", "--configfile", str(bad), cwd=workdir, check=False)
    assert proc.returncode != 0
    assert "config: datasets.local.n_tokens[1]: -12000 is less than the minimum of 1" in proc.stdout + proc.stderr
    # Oversized N is checked against the tokenized corpus once it exists (the e2e run made it).
    train_tokens = json.loads((workdir / "results/local/tokens/train.json").read_text())["n_tokens"]
    big = tmp_path / "big.yaml"
    big.write_text(TINY.read_text().replace("n_tokens: [3000, 12000]", f"n_tokens: [3000, {train_tokens + 1}]"))
    proc = smk("-n", "--configfile", str(big), cwd=workdir, check=False)
    assert proc.returncode != 0
    assert f"{train_tokens + 1} is larger than the {train_tokens} training tokens" in proc.stdout + proc.stderr


def test_empty_corpus_and_invalid_utf8(tmp_path):
    import yaml

    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "a.txt").write_text("   \n\n" * 2000)  # big enough to pass the size bound
    (tmp_path / "latin").mkdir()
    for i in range(12):  # Latin-1 bytes: 4 invalid UTF-8 bytes per repetition
        (tmp_path / "latin" / f"{i}.txt").write_bytes(
            ("caf\xe9 cr\xe8me br\xfbl\xe9e " * 20 + str(i)).encode("latin-1")
        )
    cfg = yaml.safe_load(TINY.read_text())
    cfg["datasets"] = {
        "empty": {"source": {"kind": "files", "paths": ["empty/*.txt"]}, "n_tokens": [3000]},
        "latin": {"source": {"kind": "files", "paths": ["latin/*.txt"]}, "n_tokens": [3000]},
    }
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg))
    proc = smk("--configfile", "config.yaml", targets=["results/empty/corpus/meta.json"], cwd=tmp_path, check=False)
    assert proc.returncode != 0
    log = (tmp_path / "logs/prepare_corpus/empty.log").read_text()
    assert "dataset 'empty': the source produced no non-empty documents" in log
    assert not list(tmp_path.glob("results/empty/corpus/*"))  # nothing half-written left behind
    smk("--configfile", "config.yaml", targets=["results/latin/corpus/meta.json"], cwd=tmp_path)
    meta = json.loads((tmp_path / "results/latin/corpus/meta.json").read_text())
    assert meta["replacement_chars"] == 12 * 20 * 4
    assert "replac" in (tmp_path / "logs/prepare_corpus/latin.log").read_text()


@pytest.mark.parametrize("name", ["latent_sweep", "holder_sweep"])
def test_dry_run_of_the_latent_sweep(tmp_path, name):
    """config/latent_sweep.yaml and holder_sweep.yaml: corpora of known k, their sizes and seeds,
    one model; the protocol comparison and the controlled-test table and figure are part of its DAG (and of no DAG
    without a latent corpus: see above)."""
    cfg = yaml.safe_load((REPO / "config" / f"{name}.yaml").read_text())
    jobs = planned_jobs("--configfile", str(REPO / "config" / f"{name}.yaml"), cwd=tmp_path)
    n_runs = sum(len(d["n_tokens"]) for d in cfg["datasets"].values()) * len(cfg["models"]) * len(cfg["seeds"])
    assert jobs["prepare_corpus"] == len(cfg["datasets"]) and jobs["train"] == jobs["evaluate"] == n_runs
    assert jobs["id_protocols"] == len(cfg["datasets"]) * len(cfg["seeds"])
    assert jobs["known_dimension_table"] == jobs["plot_known_dimension"] == 1


def test_sharded_tokenization_through_the_workflow(tmp_path):
    """tokenize.shards = 3: one tokenize job encodes the training split in three processes and
    writes the same token file, offsets and sidecar as a serial job, leaving no shard behind."""
    local_workdir(tmp_path)
    tokens = tmp_path / "results/local/tokens"
    target = ["results/local/tokens/train.bin"]
    smk("--configfile", "config.yaml", targets=target, cwd=tmp_path)
    serial = {p.name: p.read_bytes() for p in tokens.glob("train.*")}
    shutil.rmtree(tokens)
    knob = ["--configfile", "config.yaml", "--config", 'tokenize={"shards": 3}']
    assert planned_jobs(*knob, targets=target, cwd=tmp_path) == {"tokenize": 1}
    smk(*knob, targets=target, cwd=tmp_path)
    assert {p.name: p.read_bytes() for p in tokens.glob("train.*")} == serial
    assert set(serial) == {"train.bin", "train.docs.npy", "train.json"}
    assert sorted(p.name for p in tokens.iterdir()) == sorted(serial)  # no shard left behind
    assert "shard 3 of 3" in (tmp_path / "logs/tokenize/local_train.log").read_text()


def test_killed_training_job_resumes_when_snakemake_reruns_it(tmp_path):
    """Kill Snakemake (and its training job) once the job has checkpointed; the rerun resumes the
    job from that checkpoint (not from step 0) and ends with the weights of an uninterrupted run."""
    import os
    import signal
    import subprocess
    import time

    import torch
    from conftest import SNAKEMAKE
    from safetensors.numpy import load_file

    target = "results/local/models/b/n12000/seed0/train_summary.json"
    runs = {
        name: local_workdir(tmp_path / name, max_steps=300, checkpoint_interval=20, patience=None)
        for name in ("reference", "killed")
    }
    smk("--configfile", "config.yaml", targets=[target], cwd=runs["reference"])

    work = runs["killed"]
    ckpt = work / "results/local/models/b/n12000/seed0.resume/checkpoint.pt"
    proc = subprocess.Popen(
        [SNAKEMAKE, target, "-s", str(REPO / "Snakefile"), "--cores", "2", "--configfile", "config.yaml"],
        cwd=work,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    killed_at, deadline = None, time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if ckpt.exists():
            step = torch.load(ckpt, weights_only=False)["state"]["step"]
            if step >= 40:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                killed_at = step
                break
        time.sleep(0.05)
    assert killed_at is not None, "training finished or stalled before its checkpoint at step 40"
    assert not (work / target).exists()
    smk("--configfile", "config.yaml", "--unlock", cwd=work)  # what a killed Snakemake asks the user to do
    smk("--configfile", "config.yaml", "--rerun-incomplete", targets=[target], cwd=work)
    summary = json.loads((work / target).read_text())
    assert summary["resumed_from_step"] >= killed_at
    assert "resumed from step" in (work / "logs/train/local_b_n12000_seed0.log").read_text()
    a = load_file(str(runs["reference"] / "results/local/models/b/n12000/seed0/model.safetensors"))
    b = load_file(str(work / "results/local/models/b/n12000/seed0/model.safetensors"))
    assert all(np.array_equal(a[k], b[k]) for k in a)
    print(
        f"snakemake killed with the job's checkpoint at step {killed_at}; rerun resumed from step "
        f"{summary['resumed_from_step']}; final weights bit-identical to the uninterrupted run"
    )
