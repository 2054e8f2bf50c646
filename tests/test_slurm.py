"""The SLURM profile (profiles/slurm-gpu) against a real single-node SLURM with two fake GPUs
(tests/slurm/cluster.py; root and the Debian packages slurmctld slurmd slurm-client munge,
which .ci/run installs). Skips, with the reason, where the cluster cannot be started.

A small config (the local-files dataset of tests/data/tiny_config.yaml, two data sizes, two
models, one embedding layer, few steps) runs through `snakemake --profile profiles/slurm-gpu`
with only the overrides a cluster without accounting needs (see local-slurm.md in the
project's notes): `--slurm-status-command squeue` and a first status check after 2 s (the
profile's 40 s would idle most of the run; MinJobAge 600 s >= 3 x 2 s keeps squeue exact).
Then: every job of the DAG but the local `all` went through sbatch, once; the GPU rules asked
for one GPU and SLURM granted it (scontrol's TresPerJob), the CPU rules asked for none; and
results/summary/scaling_points.csv equals a local `--cores 2` run of the same config."""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import REPO, SNAKEMAKE, planned_jobs, smk
from idscaling.corpus import stdlib_files

_spec = importlib.util.spec_from_file_location("slurm_cluster", Path(__file__).parent / "slurm" / "cluster.py")
cluster = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cluster)

pytestmark = pytest.mark.slow

PROFILE = REPO / "profiles" / "slurm-gpu"
SLURM_RUN_TIMEOUT = 480  # seconds; the run takes about 2.5 minutes on 2 cores
STATUS_INIT_SECONDS = 2
GPU_FLAG = re.compile(r"--(?:gpus|gres|gpus-per-\w+|cpus-per-gpu|mem-per-gpu)\b\S*")


@pytest.fixture(scope="module")
def slurm():
    reason = cluster.unavailable()
    if reason:
        pytest.skip(reason)
    t0 = time.monotonic()
    try:
        env = cluster.start(timeout=30)
    except cluster.ClusterError as e:
        pytest.skip(f"SLURM daemons did not start: {e}")
    try:
        yield {"env": env, "start_s": time.monotonic() - t0}
    finally:
        cluster.stop()


def small_config() -> dict:
    cfg = yaml.safe_load((REPO / "tests" / "data" / "tiny_config.yaml").read_text())
    cfg["datasets"] = {"local": cfg["datasets"]["local"]}  # two data sizes x two models
    cfg["train"] |= {"max_steps": 10, "eval_interval": 5}
    cfg["evaluate"]["n_bootstrap"] = 50
    cfg["embed"] |= {"layers": ["final"], "max_points": 1000}
    cfg["id"]["n_bootstrap"] = 20
    return cfg


def make_workdir(path: Path, cfg: dict) -> Path:
    (path / "corpus").mkdir(parents=True)
    for i, src in enumerate(stdlib_files()[:40]):
        shutil.copy(src, path / "corpus" / f"{i:02d}_{src.stem}.py")
    (path / "config.yaml").write_text(yaml.safe_dump(cfg))
    return path


def gpu_rules_of_profile() -> set[str]:
    prof = yaml.safe_load((PROFILE / "config.yaml").read_text())
    return {rule for rule, res in prof.get("set-resources", {}).items() if res.get("gpu")}


def test_profile_on_a_real_slurm_cluster(slurm, tmp_path):
    cfg = small_config()
    work = make_workdir(tmp_path / "slurm", cfg)
    local = make_workdir(tmp_path / "local", cfg)
    planned = planned_jobs("--configfile", "config.yaml", cwd=work)
    # A rule without an action (`all`) runs on the submitting host; the workflow has no localrules.
    assert "localrules" not in "".join(p.read_text() for p in [REPO / "Snakefile", *REPO.glob("rules/*.smk")])
    remote = {rule: n for rule, n in planned.items() if rule != "all"}
    gpu_rules = gpu_rules_of_profile() & set(remote)
    assert gpu_rules == {"train", "evaluate", "embed"}, gpu_rules

    t0 = time.monotonic()
    cmd = ["timeout", "-k", "10", str(SLURM_RUN_TIMEOUT), SNAKEMAKE, "-s", str(REPO / "Snakefile"),
           "--profile", str(PROFILE), "--configfile", "config.yaml",
           "--slurm-status-command", "squeue",
           "--slurm-init-seconds-before-status-checks", str(STATUS_INIT_SECONDS), "--verbose"]
    proc = subprocess.run(cmd, cwd=work, env=slurm["env"], capture_output=True, text=True,
                          timeout=SLURM_RUN_TIMEOUT + 30)
    slurm_s = time.monotonic() - t0
    out = proc.stdout + proc.stderr
    (work / "snakemake_slurm.log").write_text(out)
    assert proc.returncode == 0, (f"snakemake --profile failed (rc {proc.returncode}, 124: timed out after "
                                  f"{SLURM_RUN_TIMEOUT}s); log {work / 'snakemake_slurm.log'}:\n{out[-4000:]}\n"
                                  f"{cluster.logs()}")

    # What Snakemake submitted: one `sbatch call:` per job (no retries), the rule in its log path.
    calls = [line.split("sbatch call:", 1)[1].split("--wrap", 1)[0]
             for line in out.splitlines() if "sbatch call:" in line]
    submitted: dict[str, int] = {}
    flags: dict[str, set[str]] = {}
    for call in calls:
        rule = re.search(r"slurm_logs/rule_([^/\s]+)/", call)[1]
        submitted[rule] = submitted.get(rule, 0) + 1
        flags.setdefault(rule, set()).update(GPU_FLAG.findall(call) or ["none"])
    assert submitted == remote, f"sbatch calls per rule {submitted} != planned non-local jobs {remote}"
    for rule, seen in flags.items():
        assert seen == ({"--gpus=1"} if rule in gpu_rules else {"none"}), (rule, seen)

    # What SLURM saw (MinJobAge keeps finished jobs): one job per submission, all COMPLETED,
    # a GPU granted to exactly the GPU rules' jobs.
    job_ids = re.findall(r"has been submitted with SLURM jobid (\d+)", out)
    assert len(job_ids) == len(calls) == len(set(job_ids))
    granted: dict[str, int] = {}
    for job_id in job_ids:
        show = subprocess.run(["scontrol", "-o", "show", "job", job_id], env=slurm["env"],
                              capture_output=True, text=True, timeout=10, check=True).stdout
        fields = dict(kv.split("=", 1) for kv in show.split() if "=" in kv)
        assert fields["JobState"] == "COMPLETED" and fields["BatchFlag"] == "1", show
        rule = re.match(r"rule_(.+?)(?:_wildcards_.*)?$", fields["Comment"])[1]
        tres = fields.get("TresPerJob", "")
        assert (tres == "gres:gpu:1") == (rule in gpu_rules), (job_id, rule, tres)
        granted[rule] = granted.get(rule, 0) + (tres == "gres:gpu:1")
    assert {r: n for r, n in granted.items() if n} == {r: remote[r] for r in gpu_rules}

    # The same config run locally gives the same scaling points, bit for bit. Not compared: the
    # provenance stamps code_version (a hash of the working tree) and config_hash (of the config
    # with the schema's defaults), which an edit between the two runs changes.
    t1 = time.monotonic()
    smk("--configfile", "config.yaml", targets=["results/summary/scaling_points.csv"], cwd=local, timeout=600)
    local_s = time.monotonic() - t1
    provenance = ["code_version", "config_hash"]
    got = pd.read_csv(work / "results/summary/scaling_points.csv").drop(columns=provenance)
    want = pd.read_csv(local / "results/summary/scaling_points.csv").drop(columns=provenance)
    assert len(got) == 4 and set(got["model"]) == {"a", "b"} and got["val_loss"].notna().all()
    pd.testing.assert_frame_equal(got, want, check_exact=True)

    n_cpu_jobs = sum(n for r, n in remote.items() if r not in gpu_rules)
    summary = (
        f"SLURM end-to-end (profiles/slurm-gpu, Slurm single node, 2 fake GPUs): {len(calls)} of "
        f"{sum(planned.values())} DAG jobs submitted with sbatch (the rest local: all), {len(job_ids)} "
        f"SLURM jobs COMPLETED per scontrol. sbatch GPU flags: "
        + ", ".join(f"{r} {remote[r]}x {'/'.join(sorted(flags[r]))}" for r in sorted(gpu_rules))
        + f"; the other {len(remote) - len(gpu_rules)} rules ({n_cpu_jobs} jobs) no GPU flag; "
        f"TresPerJob gres:gpu:1 on {sum(granted.values())} jobs. scaling_points.csv ({len(got)} rows, "
        f"{got.shape[1]} columns but provenance) equal to the local run's. Wall time: cluster start "
        f"{slurm['start_s']:.1f} s, SLURM run {slurm_s:.0f} s, local run (scaling_points.csv) {local_s:.0f} s."
    )
    (work / "slurm_summary.txt").write_text(summary + "\n")
    print("\n" + summary)
