"""The SLURM profile (profiles/slurm-gpu) against a real single-node SLURM with two fake GPUs
(tests/workflow/slurm/cluster.py; root and the Debian packages slurmctld slurmd slurm-client munge,
which .ci/run installs). Skips, with the reason, where the cluster cannot be started.

A small config (the local-files dataset of tests/data/tiny_config.yaml, two data sizes, two
models, one embedding layer, few steps) runs through `snakemake --profile profiles/slurm-gpu`
with only the overrides a cluster without accounting needs (see local-slurm.md in the
project's notes): `--slurm-status-command squeue` and a first status check after 2 s (the
profile's 40 s would idle most of the run; MinJobAge 600 s >= 3 x 2 s keeps squeue exact).
Then: every job of the DAG but the local `all` went through sbatch, once; the GPU rules asked
for one GPU and SLURM granted it (scontrol's TresPerJob), the CPU rules asked for none; and
results/summary/scaling_points.csv equals a local `--cores 2` run of the same config.

Also: a training job given two GPUs (`--set-resources train:gpu=2`) is one SLURM job with one
task and both GPUs, runs two processes under torchrun (gloo on CPU: the fake GPUs have no CUDA) and
ends with the weights of a local 2-process run; and, without SLURM, the sbatch/srun flags the
installed plugin makes of the profile's GPU resources (tasks per GPU, `gpu` vs `gres`/`gpus`)."""

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

from idscaling.corpus.sources.builtin import stdlib_files

_spec = importlib.util.spec_from_file_location("slurm_cluster", Path(__file__).parent / "slurm" / "cluster.py")
cluster = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cluster)

PROFILE = REPO / "profiles" / "slurm-gpu"
SLURM_RUN_TIMEOUT = 480  # seconds; the run takes about 2.5 minutes on 2 cores
STATUS_INIT_SECONDS = 2
GPU_FLAG = re.compile(r"--(?:gpus|gres|gpus-per-\w+|cpus-per-gpu|mem-per-gpu|ntasks-per-gpu)\b\S*")


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


@pytest.mark.slow
def test_profile_on_a_real_slurm_cluster(slurm, tmp_path):
    cfg = small_config()
    work = make_workdir(tmp_path / "slurm", cfg)
    local = make_workdir(tmp_path / "local", cfg)
    planned = planned_jobs("--configfile", "config.yaml", cwd=work)
    # A rule without an action (`all`) runs on the submitting host; the workflow has no localrules.
    assert "localrules" not in "".join(p.read_text() for p in [REPO / "Snakefile", *REPO.glob("rules/*.smk")])
    remote = {rule: n for rule, n in planned.items() if rule != "all"}
    gpu_rules = gpu_rules_of_profile() & set(remote)
    assert gpu_rules == {"train", "embed"}, gpu_rules

    t0 = time.monotonic()
    cmd = [
        "timeout",
        "-k",
        "10",
        str(SLURM_RUN_TIMEOUT),
        SNAKEMAKE,
        "-s",
        str(REPO / "Snakefile"),
        "--profile",
        str(PROFILE),
        "--configfile",
        "config.yaml",
        "--slurm-status-command",
        "squeue",
        "--slurm-init-seconds-before-status-checks",
        str(STATUS_INIT_SECONDS),
        "--verbose",
    ]
    proc = subprocess.run(
        cmd, cwd=work, env=slurm["env"], capture_output=True, text=True, timeout=SLURM_RUN_TIMEOUT + 30
    )
    slurm_s = time.monotonic() - t0
    out = proc.stdout + proc.stderr
    (work / "snakemake_slurm.log").write_text(out)
    assert proc.returncode == 0, (
        f"snakemake --profile failed (rc {proc.returncode}, 124: timed out after "
        f"{SLURM_RUN_TIMEOUT}s); log {work / 'snakemake_slurm.log'}:\n{out[-4000:]}\n"
        f"{cluster.logs()}"
    )

    # What Snakemake submitted: one `sbatch call:` per job (no retries), the rule in its log path.
    calls = [
        line.split("sbatch call:", 1)[1].split("--wrap", 1)[0] for line in out.splitlines() if "sbatch call:" in line
    ]
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
        show = subprocess.run(
            ["scontrol", "-o", "show", "job", job_id],
            env=slurm["env"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
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


# ---------------------------------------------------------------- preemption
PREEMPT_TARGET = "results/local/models/b/n12000/seed0/train_summary.json"
PREEMPT_MAX_STEPS = 3000  # ~20-30 s of training on this machine: time to see a checkpoint and requeue
PREEMPT_CHECKPOINT_INTERVAL = 40
PREEMPT_AT_STEP = 600  # requeue once a checkpoint at least this far along exists
PREEMPT_RUN_TIMEOUT = 480


def preemption_config() -> dict:
    cfg = yaml.safe_load((REPO / "tests" / "data" / "tiny_config.yaml").read_text())
    cfg["datasets"] = {"local": cfg["datasets"]["local"] | {"n_tokens": [12000]}}
    cfg["models"] = {"b": cfg["models"]["b"]}
    cfg["train"] |= {
        "max_steps": PREEMPT_MAX_STEPS,
        "eval_interval": 50,
        "checkpoint_interval": PREEMPT_CHECKPOINT_INTERVAL,
        "patience": None,
    }
    return cfg


def _jobs_of(workdir: Path, env: dict) -> list[dict]:
    """The SLURM jobs (any state) submitted from ``workdir``: id, state, comment."""
    proc = subprocess.run(
        ["squeue", "-h", "-t", "all", "-o", "%i|%T|%k|%Z"], env=env, capture_output=True, text=True, timeout=10
    )
    jobs = []
    for line in proc.stdout.splitlines():
        job_id, state, comment, cwd = line.split("|", 3)
        if Path(cwd).resolve() == workdir.resolve():
            jobs.append({"id": job_id, "state": state, "comment": comment})
    return jobs


def _checkpoint_step(path: Path) -> int | None:
    import pickle

    import torch

    try:
        return int(torch.load(path, map_location="cpu", weights_only=False)["state"]["step"])
    except (OSError, EOFError, RuntimeError, KeyError, ValueError, pickle.UnpicklingError):  # not there
        return None


@pytest.mark.slow
def test_preempted_training_job_is_requeued_and_resumes(slurm, tmp_path):
    """SLURM preemption of a training job under profiles/slurm-gpu: the job is requeued by SLURM
    and resumes from its checkpoint instead of starting over.

    Mechanism: `scontrol requeue <jobid>` while the train job runs, which is what SLURM itself does
    to a job preempted with PreemptMode=REQUEUE (or hit by a node failure): the batch job is killed
    and the same job id goes back to the queue (Restarts + 1). That needs a requeueable job, which
    the profile's `slurm-requeue: true` (sbatch --requeue) makes it on clusters whose JobRequeue is
    0 (this test cluster keeps Slurm's default 1). Slurm 22.05 holds a requeued job back for 121 s
    (BeginTime = requeue time + 121 s; `scontrol requeuehold` + `release` keeps that BeginTime);
    the test lifts it with `scontrol update StartTime=now`, to save two idle minutes. Snakemake's
    side: squeue shows the job COMPLETING, then PENDING, so the plugin keeps waiting on it; no
    failure is seen, the profile's `retries` are not used, and train is submitted with sbatch once.

    Checked: the workflow succeeds; the train job was submitted once, with --requeue, and
    scontrol shows it COMPLETED with Restarts >= 1; train_summary.json's resumed_from_step is at
    least the checkpoint step seen before the requeue (the train log says "resumed from step N");
    and model.safetensors equals, array for array and bit for bit, that of an uninterrupted local
    `--cores 2` run of the same target."""
    import json
    import os
    import signal

    from safetensors.numpy import load_file

    env = slurm["env"]
    cfg = preemption_config()
    work = make_workdir(tmp_path / "slurm_preempt", cfg)
    local = make_workdir(tmp_path / "local_preempt", cfg)
    model_dir = (work / PREEMPT_TARGET).parent
    ckpt = model_dir.with_name(model_dir.name + ".resume") / "checkpoint.pt"
    log_path = work / "snakemake_slurm.log"

    t0 = time.monotonic()
    cmd = [
        "timeout",
        "-k",
        "10",
        str(PREEMPT_RUN_TIMEOUT),
        SNAKEMAKE,
        PREEMPT_TARGET,
        "-s",
        str(REPO / "Snakefile"),
        "--profile",
        str(PROFILE),
        "--configfile",
        "config.yaml",
        "--slurm-status-command",
        "squeue",
        "--slurm-init-seconds-before-status-checks",
        str(STATUS_INIT_SECONDS),
        "--verbose",
    ]
    with open(log_path, "w") as log_fh:
        proc = subprocess.Popen(cmd, cwd=work, env=env, stdout=log_fh, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        # Wait for the train job to run and checkpoint at step >= PREEMPT_AT_STEP.
        deadline = time.monotonic() + PREEMPT_RUN_TIMEOUT - 60
        train_job, step_seen, mtime = None, None, None
        while True:
            if proc.poll() is not None:
                pytest.fail(
                    f"snakemake ended (rc {proc.returncode}) before the preemption; "
                    f"checkpoint step seen {step_seen}:\n{log_path.read_text()[-4000:]}"
                )
            if time.monotonic() > deadline:
                pytest.fail(
                    f"no checkpoint at step >= {PREEMPT_AT_STEP} in time (seen {step_seen}, "
                    f"train job {train_job}):\n{log_path.read_text()[-4000:]}\n{cluster.logs()}"
                )
            if train_job is None:
                train_job = next(
                    (
                        j["id"]
                        for j in _jobs_of(work, env)  # (not rule_train_tokenizer's)
                        if re.match(r"rule_train(?:_wildcards_.*)?$", j["comment"])
                    ),
                    None,
                )
            try:
                new_mtime = ckpt.stat().st_mtime
            except OSError:
                new_mtime = mtime
            if new_mtime != mtime:
                mtime = new_mtime
                step_seen = _checkpoint_step(ckpt) or step_seen
            if train_job and step_seen is not None and step_seen >= PREEMPT_AT_STEP:
                break
            time.sleep(0.2)
        states = {j["id"]: j["state"] for j in _jobs_of(work, env)}
        assert states.get(train_job) == "RUNNING", (train_job, states)

        # Preempt it the way SLURM does: requeue (kill, back to the queue under the same id).
        requeue = subprocess.run(
            ["scontrol", "requeue", train_job], env=env, capture_output=True, text=True, timeout=10
        )
        assert requeue.returncode == 0, f"scontrol requeue {train_job}: {requeue.stderr}"
        t_requeue = time.monotonic()
        while (state := {j["id"]: j["state"] for j in _jobs_of(work, env)}.get(train_job)) != "PENDING":
            assert time.monotonic() - t_requeue < 60, f"job {train_job} not PENDING 60 s after requeue: {state}"
            time.sleep(0.2)
        step_at_kill = _checkpoint_step(ckpt)  # the job's processes are gone: what the rerun resumes from
        subprocess.run(
            ["scontrol", "update", f"JobId={train_job}", "StartTime=now"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
            timeout=10,
        )

        rc = proc.wait(timeout=max(1.0, PREEMPT_RUN_TIMEOUT + 20 - (time.monotonic() - t0)))
        slurm_s = time.monotonic() - t0
    finally:
        if proc.poll() is None:  # bounded clean-up of snakemake (its own session) and its jobs
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
            left = [j["id"] for j in _jobs_of(work, env) if j["state"] in ("PENDING", "RUNNING", "COMPLETING")]
            if left:
                subprocess.run(["scancel", *left], env=env, capture_output=True, timeout=10)
    out = log_path.read_text()
    assert rc == 0, (
        f"snakemake --profile failed (rc {rc}, 124: timed out after {PREEMPT_RUN_TIMEOUT}s); "
        f"log {log_path}:\n{out[-4000:]}\n{cluster.logs()}"
    )

    # SLURM requeued the one train job: sbatch'ed once (with --requeue), no Snakemake retry.
    train_calls = [line for line in out.splitlines() if "sbatch call:" in line and "rule_train/" in line]
    assert len(train_calls) == 1 and " --requeue" in train_calls[0].split("--wrap", 1)[0], train_calls
    show = subprocess.run(
        ["scontrol", "-o", "show", "job", train_job], env=env, capture_output=True, text=True, timeout=10, check=True
    ).stdout
    fields = dict(kv.split("=", 1) for kv in show.split() if "=" in kv)
    restarts = int(fields["Restarts"])
    assert fields["JobState"] == "COMPLETED" and fields["Requeue"] == "1" and restarts >= 1, show

    # It resumed from its checkpoint rather than starting over.
    summary = json.loads((work / PREEMPT_TARGET).read_text())
    resumed = summary["resumed_from_step"]
    assert resumed is not None and step_seen <= resumed < PREEMPT_MAX_STEPS, (step_seen, step_at_kill, resumed)
    assert summary["steps_run"] == PREEMPT_MAX_STEPS
    train_log = (work / "logs/train/local_b_n12000_seed0.log").read_text()
    assert f"resumed from step {resumed}" in train_log, train_log[-2000:]
    assert not ckpt.parent.exists()  # removed once the run completed

    # Same weights as an uninterrupted local run, bit for bit.
    t1 = time.monotonic()
    smk("--configfile", "config.yaml", targets=[PREEMPT_TARGET], cwd=local, timeout=600)
    local_s = time.monotonic() - t1
    want_summary = json.loads((local / PREEMPT_TARGET).read_text())
    assert want_summary["resumed_from_step"] is None
    got = load_file(model_dir / "model.safetensors")
    want = load_file((local / PREEMPT_TARGET).parent / "model.safetensors")
    assert got.keys() == want.keys()
    for name in want:
        assert got[name].dtype == want[name].dtype and got[name].shape == want[name].shape, name
        assert got[name].tobytes() == want[name].tobytes(), f"{name} differs from the uninterrupted run's"
    assert (summary["best_step"], summary["best_selection_loss"]) == (
        want_summary["best_step"],
        want_summary["best_selection_loss"],
    )

    line = (
        f"SLURM preemption (profiles/slurm-gpu): mechanism scontrol requeue of job {train_job} "
        f"(sbatch --requeue; BeginTime hold lifted with scontrol update StartTime=now), checkpoint step "
        f"seen before it {step_seen} (at the kill {step_at_kill}), resumed_from_step {resumed} of "
        f"{PREEMPT_MAX_STEPS}, Restarts={restarts}, train sbatch calls {len(train_calls)} (no retry), "
        f"{len(want)} weight arrays bit-identical to an uninterrupted local run. Wall time: SLURM run "
        f"{slurm_s:.0f} s, local run {local_s:.0f} s."
    )
    (work / "preemption_summary.txt").write_text(line + "\n")
    print("\n" + line)


# ---------------------------------------------------------------- GPU flags of the plugin (no SLURM)
def _plugin_flags(resources: dict, threads: int = 1) -> tuple[str, str]:
    """(sbatch flags, the jobstep's srun flags) that the installed snakemake-executor-plugin-slurm
    and its jobstep plugin build for a job with these resources: their own functions, called the
    way the executors call them (sbatch: get_submit_command + set_gres_string; inside the job:
    `srun -n1 --cpu-bind=q <cpus> <gpus> <nodes> python -m snakemake ...`)."""
    from types import SimpleNamespace

    from snakemake_executor_plugin_slurm.submit_string import get_submit_command
    from snakemake_executor_plugin_slurm.utils import set_gres_string
    from snakemake_executor_plugin_slurm_jobstep import (
        get_gpu_setting,
        get_node_setting,
    )

    class Res(dict):
        def __getattr__(self, key):
            try:
                return self[key]
            except KeyError:
                raise AttributeError(key) from None

    job = SimpleNamespace(resources=Res(resources), threads=threads)
    params = {
        "run_uuid": "ID",
        "slurm_logfile": "LOG",
        "comment_str": "C",
        "account": "",
        "partition": "",
        "workdir": "",
    }
    settings = SimpleNamespace(requeue=False, no_requeue=False, qos=None, reservation=None)
    sbatch = get_submit_command(job, params, settings=settings) + set_gres_string(job)
    sbatch = sbatch.split("--comment C", 1)[1]
    srun = f"srun -n1 {get_gpu_setting(job)} {get_node_setting(job)}"
    return " ".join(sbatch.split()), " ".join(srun.split())


def test_profile_gpu_resources_make_one_task_with_n_gpus():
    """What plugin 2.8.0 / jobstep 0.6.1 submit for the profile's GPU rules, with 1 and 2 GPUs, and
    why the profile says `gpu: N` + `tasks_per_gpu: 0` (profiles/slurm-gpu/config.yaml): one task
    holding N GPUs (--gpus=N, no --ntasks-per-gpu), whatever a site's `tasks` default says; the
    alternatives either split the job into tasks or hide the GPU count from scripts/train.py."""
    pytest.importorskip("snakemake_executor_plugin_slurm")
    from idscaling.lm.launch import n_processes

    prof = yaml.safe_load((PROFILE / "config.yaml").read_text())["set-resources"]
    assert prof["train"] == {"gpu": 1, "tasks_per_gpu": 0}, prof["train"]
    for rule in gpu_rules_of_profile():
        assert prof[rule].get("tasks_per_gpu") == 0, rule
    for gpus in (1, 2):
        for site in ({}, {"tasks": 1}):  # `tasks: 1` is a common default-resources entry
            res = prof["train"] | {"gpu": gpus} | site
            sbatch, srun = _plugin_flags(res)
            assert sbatch == f"--cpus-per-task=1 --gpus={gpus}", (res, sbatch)
            assert srun == f"srun -n1 --gpus={gpus} --nodes=1", (res, srun)
            assert n_processes(None, res["gpu"]) == gpus  # train.processes null: one per GPU
    # The trap tasks_per_gpu: 0 guards against: with `tasks` set, a GPU job gets N tasks.
    assert _plugin_flags({"gpu": 2, "tasks": 1})[0] == "--ntasks-per-gpu=1 --cpus-per-task=1 --gpus=2"
    # gres: the same GPUs in sbatch, but no `gpu` resource for the script (1 process) nor the step.
    sbatch, srun = _plugin_flags({"gres": "gpu:2"})
    assert sbatch == "--cpus-per-task=1 --gres=gpu:2" and srun == "srun -n1 --nodes=1"
    assert n_processes(None, {"gres": "gpu:2"}.get("gpu", 0)) == 1
    # gpus (plural): not a GPU job for the submitting plugin at all.
    assert _plugin_flags({"gpus": 2})[0] == "--ntasks=1 --cpus-per-task=1"


# ---------------------------------------------------------------- two GPUs, one job, torchrun
TWO_GPU_TARGET = "results/local/models/a/n3000/seed0/train_summary.json"
TWO_GPU_RUN_TIMEOUT = 240


def two_gpu_config() -> dict:
    cfg = yaml.safe_load((REPO / "tests" / "data" / "tiny_config.yaml").read_text())
    cfg["datasets"] = {"local": cfg["datasets"]["local"] | {"n_tokens": [3000]}}
    cfg["models"] = {"a": cfg["models"]["a"]}
    # grad_accum must be a multiple of the processes: 2 micro-batches a step, one per process.
    cfg["train"] |= {"max_steps": 20, "eval_interval": 5, "grad_accum": 2}
    return cfg


@pytest.mark.slow
def test_two_gpu_training_job_runs_two_torchrun_processes_in_one_slurm_job(slurm, tmp_path):
    """`--set-resources train:gpu=2` under profiles/slurm-gpu: the train job is submitted with
    sbatch --gpus=2 and no task geometry (no --ntasks-per-gpu, --ntasks), SLURM runs it as ONE job
    with one task holding both fake GPUs (scontrol: NumTasks=1, TresPerJob gres:gpu:2; in the job
    CUDA_VISIBLE_DEVICES=0,1),
    the jobstep runs the rule once (`srun -n1 ... --gpus=2`), and train.processes null makes that 2
    processes under torchrun (gloo on CPU; train_summary.json: processes 2; the ranks' log lines
    reach the job's log). Its model.safetensors equals, bit for bit, a local `--cores 2` run of the
    same job with the same resource (2 processes under torchrun).

    Only the train job goes through SLURM: its inputs are made locally first and the directory is
    copied for the local run (same inputs, same mtimes); `--rerun-triggers mtime` keeps an edit to
    another rule's code during the test from pulling upstream jobs back in."""
    import json

    from safetensors.numpy import load_file

    env = slurm["env"]
    cfg = two_gpu_config()
    work = make_workdir(tmp_path / "slurm_2gpu", cfg)
    t0 = time.monotonic()
    smk("--configfile", "config.yaml", "--omit-from", "train", targets=[TWO_GPU_TARGET], cwd=work, timeout=300)
    local = tmp_path / "local_2gpu"
    shutil.copytree(work, local, symlinks=True)  # copy2: mtimes kept
    prep_s = time.monotonic() - t0
    args = ["--configfile", "config.yaml", "--rerun-triggers", "mtime", "--set-resources", "train:gpu=2"]
    assert planned_jobs(*args, targets=[TWO_GPU_TARGET], cwd=work) == {"train": 1}

    t1 = time.monotonic()
    cmd = [
        "timeout",
        "-k",
        "10",
        str(TWO_GPU_RUN_TIMEOUT),
        SNAKEMAKE,
        TWO_GPU_TARGET,
        "-s",
        str(REPO / "Snakefile"),
        "--profile",
        str(PROFILE),
        *args,
        "--slurm-status-command",
        "squeue",
        "--slurm-init-seconds-before-status-checks",
        str(STATUS_INIT_SECONDS),
        "--slurm-keep-successful-logs",
        "--verbose",
    ]
    proc = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, timeout=TWO_GPU_RUN_TIMEOUT + 30)
    slurm_s = time.monotonic() - t1
    out = proc.stdout + proc.stderr
    (work / "snakemake_slurm.log").write_text(out)
    assert proc.returncode == 0, (
        f"snakemake --profile failed (rc {proc.returncode}, 124: timed out after "
        f"{TWO_GPU_RUN_TIMEOUT}s):\n{out[-4000:]}\n{cluster.logs()}"
    )

    # sbatch: one call, for train, with --gpus=2 and no task geometry.
    calls = [
        line.split("sbatch call:", 1)[1].split("--wrap", 1)[0] for line in out.splitlines() if "sbatch call:" in line
    ]
    assert len(calls) == 1 and "slurm_logs/rule_train/" in calls[0], calls
    flags = " ".join(calls[0].split(" --comment ", 1)[1].split()[1:]).replace(str(work), "<workdir>")
    assert GPU_FLAG.findall(calls[0]) == ["--gpus=2"], calls[0]
    assert not re.search(r"--ntasks|\s-n\s|--gres|--nodes", calls[0]), calls[0]

    # SLURM: one job, one task, both GPUs.
    (job_id,) = re.findall(r"has been submitted with SLURM jobid (\d+)", out)
    show = subprocess.run(
        ["scontrol", "-d", "-o", "show", "job", job_id], env=env, capture_output=True, text=True, timeout=10, check=True
    ).stdout
    fields = dict(kv.split("=", 1) for kv in show.split() if "=" in kv)
    assert fields["JobState"] == "COMPLETED" and fields["BatchFlag"] == "1", show
    assert fields["NumTasks"] == "1" and fields["NumNodes"] == "1", show
    assert fields["TresPerJob"] == "gres:gpu:2", show
    assert fields["JOB_GRES"] == "gpu:fake:2", show

    # Inside the job (the jobstep's debug lines in the kept SLURM log): the batch step holds both
    # GPUs, and the jobstep runs the rule in one srun step (-n1) with both.
    slurm_log = next((work / ".snakemake" / "slurm_logs" / "rule_train").glob(f"*/{job_id}.log")).read_text()
    job_env = dict(re.findall(r"'(CUDA_VISIBLE_DEVICES|SLURM_JOB_GPUS|SLURM_GPUS)': '([^']*)'", slurm_log))
    assert job_env == {"CUDA_VISIBLE_DEVICES": "0,1", "SLURM_JOB_GPUS": "0,1", "SLURM_GPUS": "2"}, job_env
    step = re.search(r"The call for this job is: (srun .*?)\s+\S*python\S* -m snakemake", slurm_log)
    assert step, slurm_log[-3000:]
    step_call = " ".join(step[1].split())
    assert step_call.startswith("srun -n1 ") and "--gpus=2" in step_call.split(), step_call

    # Two processes under torchrun, once: the summary's world size, the rule's log.
    summary = json.loads((work / TWO_GPU_TARGET).read_text())
    assert summary["processes"] == 2 and summary["device"] == "cpu", summary
    train_log = (work / "logs/train/local_a_n3000_seed0.log").read_text()
    assert train_log.count("(2 processes, resumed from step None)") == 1, train_log  # scripts/train.py, once
    rank_lines = [line for line in train_log.splitlines() if " idscaling.lm.train " in line]
    assert rank_lines, f"no line of the torchrun processes in the job's log:\n{train_log}"

    # The same job locally (same resource: 2 processes under torchrun): the same weights, bit for bit.
    t2 = time.monotonic()
    assert planned_jobs(*args, targets=[TWO_GPU_TARGET], cwd=local) == {"train": 1}
    smk(*args, targets=[TWO_GPU_TARGET], cwd=local, timeout=300)
    local_s = time.monotonic() - t2
    want_summary = json.loads((local / TWO_GPU_TARGET).read_text())
    assert want_summary["processes"] == 2
    got = load_file(str((work / TWO_GPU_TARGET).parent / "model.safetensors"))
    want = load_file(str((local / TWO_GPU_TARGET).parent / "model.safetensors"))
    assert got.keys() == want.keys()
    for name in want:
        assert got[name].dtype == want[name].dtype and got[name].shape == want[name].shape, name
        assert got[name].tobytes() == want[name].tobytes(), f"{name} differs from the local 2-process run's"
    for key in ("best_step", "best_selection_loss", "final_train_loss", "tokens_seen", "steps_run"):
        assert summary[key] == want_summary[key], key

    line = (
        f"SLURM 2 GPUs (profiles/slurm-gpu, --set-resources train:gpu=2): sbatch flags after the "
        f"comment '{flags}'; scontrol NumTasks={fields['NumTasks']} NumNodes={fields['NumNodes']} "
        f"TresPerJob={fields['TresPerJob']} JOB_GRES={fields['JOB_GRES']} JobState={fields['JobState']}; "
        f"in the job CUDA_VISIBLE_DEVICES={job_env['CUDA_VISIBLE_DEVICES']} "
        f"SLURM_JOB_GPUS={job_env['SLURM_JOB_GPUS']}; job step '{step_call}'; "
        f"processes {summary['processes']} (torchrun, gloo on {summary['device']}), "
        f"{len(rank_lines)} lines of the ranks in the job's log; {len(want)} weight arrays bit-identical "
        f"to a local 2-process run ({summary['steps_run']} steps, best step {summary['best_step']}). "
        f"Wall time: inputs made locally {prep_s:.0f} s, SLURM run {slurm_s:.0f} s, local run {local_s:.0f} s, "
        f"test body {time.monotonic() - t0:.0f} s."
    )
    (work / "two_gpu_summary.txt").write_text(line + "\n")
    print("\n" + line)
