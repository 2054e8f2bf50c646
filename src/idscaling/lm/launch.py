"""Start a training run: in this process, or under ``torchrun`` when it uses several processes
(one per GPU; across the nodes of a multi-node SLURM allocation through ``srun``).

torch's own launcher (``torch.distributed.run``, i.e. ``torchrun``) starts the processes and sets
up the rendezvous; this module only builds its command line and hands it the run's arguments as a
JSON file, which :mod:`idscaling.train_job` reads in every process. The processes write to this
process's stdout/stderr: in a Snakemake job that is the job's log file (:func:`idscaling.runlog.log_to`
points ``sys.stdout``/``sys.stderr`` there), so torchrun's and every rank's output lands in the log.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from idscaling.lm.train_job import run

__all__ = ["n_processes", "torchrun_command", "run_training"]

RDZV_PORT = 29500


def n_processes(settings_processes: int | None, gpus: int) -> int:
    """Processes for one run: the configured number, else one per GPU the job was given, else 1."""
    if settings_processes:
        return int(settings_processes)
    return max(1, int(gpus))


def torchrun_command(nproc: int, args_path: str | Path, env: Mapping[str, str] | None = None) -> list[str]:
    """The command that runs :mod:`idscaling.train_job` in ``nproc`` processes per node. Inside a
    SLURM allocation of several nodes it is ``srun`` (one launcher per node) + torchrun with a c10d
    rendezvous on the first node; otherwise torchrun ``--standalone``."""
    env = os.environ if env is None else env
    run = [sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={nproc}"]
    job = ["-m", "idscaling.lm.train_job", str(args_path)]
    nnodes = int(env.get("SLURM_JOB_NUM_NODES", env.get("SLURM_NNODES", "1")))
    if nnodes > 1:
        head = env.get("SLURM_LAUNCH_NODE_IPADDR") or env["SLURMD_NODENAME"]
        rdzv = [
            f"--nnodes={nnodes}",
            "--rdzv_backend=c10d",
            f"--rdzv_endpoint={head}:{RDZV_PORT}",
            f"--rdzv_id={env.get('SLURM_JOB_ID', 'idscaling')}",
        ]
        return ["srun", f"--nodes={nnodes}", "--ntasks-per-node=1", *run, *rdzv, *job]
    return [*run, "--standalone", *job]


def _file_stream(stream):
    """``stream`` flushed, if it is backed by a file descriptor a child process can write to (a log
    file, a terminal); else None (pytest's capture, a StringIO): the child inherits fd 1/2."""
    try:
        stream.flush()
        stream.fileno()
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is both
        return None
    return stream


def run_training(args: Mapping[str, Any], nproc: int) -> dict:
    """Train with ``args`` (the keyword arguments of :func:`idscaling.train_job.run`) in ``nproc``
    processes; returns the training summary. Several processes: ``torchrun`` in a child process whose
    stdout/stderr are this process's ``sys.stdout``/``sys.stderr`` (the job's log file in a
    Snakemake job), not the file descriptors 1/2 it inherited."""
    if nproc == 1:
        return run(args)
    out_dir = Path(args["out_dir"])
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", suffix=".json", dir=out_dir.parent, delete=False) as fh:
        json.dump(args, fh)
    try:
        subprocess.run(
            torchrun_command(nproc, fh.name),
            check=True,
            stdout=_file_stream(sys.stdout),
            stderr=_file_stream(sys.stderr),
        )
    finally:
        os.unlink(fh.name)
    return json.loads((out_dir / "train_summary.json").read_text())
