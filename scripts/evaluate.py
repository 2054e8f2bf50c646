"""Snakemake script: validation loss of one checkpoint and its bootstrap CI over documents, from
the per-token losses its training job wrote."""

import json
from pathlib import Path

from idscaling.corpus.tokens import load_token_file
from idscaling.lm.evaluate import load_validation_losses, summarize_losses
from idscaling.provenance import provenance_of
from idscaling.runlog import log_to
from idscaling.workflow.inputs import require_inputs
from idscaling.workflow.targets import checkpoint_ident

log = log_to(snakemake.log[0], snakemake.threads)
require_inputs(snakemake.input)
ident = checkpoint_ident(snakemake.wildcards)
s = snakemake.params.settings
result = ident | summarize_losses(
    load_token_file(snakemake.input.val),
    load_validation_losses(snakemake.input.losses),
    n_bootstrap=s["n_bootstrap"],
    ci_level=s["ci_level"],
    seed=ident["seed"],
)
Path(snakemake.output[0]).write_text(json.dumps(result | provenance_of(snakemake), indent=2) + "\n")
log.info("val loss %.4f [%.4f, %.4f]", result["val_loss"], result["val_loss_ci_low"], result["val_loss_ci_high"])
