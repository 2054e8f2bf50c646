"""Snakemake script: train one GPT-2-style model on one subset; keep the best checkpoint.
Several GPUs (or train.processes) -> torchrun with DDP; a killed run resumes from its checkpoint."""

from pathlib import Path

from idscaling.launch import n_processes, run_training
from idscaling.runlog import log_to
from idscaling.provenance import provenance_of
from idscaling.workflow.params import execution_settings

log = log_to(snakemake.log[0], snakemake.threads)
w = snakemake.wildcards
out_dir = Path(snakemake.output.summary).parent
# How the job runs (device, processes, checkpoints...) comes from the config, not params: changing it
# must not rerun finished training.
settings = snakemake.params.settings | execution_settings(snakemake.config, "train") | {"threads": snakemake.threads}
args = {
    "subset": snakemake.input.subset,
    "selection": snakemake.input.selection,
    "shape": snakemake.params.shape,
    "settings": settings,
    "seed": int(w.seed),
    "out_dir": str(out_dir),
    # Not an output: Snakemake leaves it alone when a job fails, so a rerun resumes from it.
    "resume_dir": str(out_dir.with_name(out_dir.name + ".resume")),
    "log_file": snakemake.log[0],
    "run_info": {"dataset": w.dataset, "model": w.model, "n_tokens": int(w.n)} | provenance_of(snakemake),
}
nproc = n_processes(settings.get("processes"), snakemake.resources.get("gpu", 0))
summary = run_training(args, nproc)
log.info("best step %d, selection loss %.4f (%d processes, resumed from step %s)", summary["best_step"],
         summary["best_selection_loss"], nproc, summary["resumed_from_step"])
