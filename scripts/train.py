"""Snakemake script: train one GPT-2-style model on one subset; keep the best checkpoint, and
write its per-token validation losses (rule evaluate turns them into the loss and its CI).
Several GPUs (or train.processes) -> torchrun with DDP; a killed run resumes from its checkpoint."""

from pathlib import Path

from idscaling.corpus.tokens import load_token_file
from idscaling.lm.evaluate import save_validation_losses, validation_losses
from idscaling.lm.launch import n_processes, run_training
from idscaling.provenance import provenance_of
from idscaling.runlog import log_to
from idscaling.workflow.inputs import require_inputs
from idscaling.workflow.params import execution_settings, inference_batch_size

log = log_to(snakemake.log[0], snakemake.threads)
require_inputs(snakemake.input)
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
log.info(
    "best step %d, selection loss %.4f (%d processes, resumed from step %s)",
    summary["best_step"],
    summary["best_selection_loss"],
    nproc,
    summary["resumed_from_step"],
)
# The validation forward pass here, where torch and the model are loaded already (a separate job
# would spend longer starting up than computing): the checkpoint just written, read back from
# disk exactly as any evaluation would read it.
losses = validation_losses(
    str(out_dir),
    load_token_file(snakemake.input.val),
    block_size=settings["block_size"],
    batch_size=inference_batch_size(snakemake.config, "evaluate"),
    device=settings["device"],
    threads=snakemake.threads,
)
save_validation_losses(snakemake.output.val_losses, losses)
log.info("validation: %d token losses, mean %.4f", len(losses["losses"]), losses["losses"].mean())
