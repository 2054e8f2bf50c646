"""Snakemake script: validation loss of a pretrained model over the whole validation set, with
its bootstrap CI over documents (forward pass and summary in one job)."""

import json
from pathlib import Path

from idscaling.corpus.tokens import load_token_file
from idscaling.lm.evaluate import evaluate
from idscaling.provenance import provenance_of
from idscaling.runlog import log_to
from idscaling.workflow.inputs import require_inputs
from idscaling.workflow.params import inference_batch_size
from idscaling.workflow.targets import checkpoint_ident

log = log_to(snakemake.log[0], snakemake.threads)
require_inputs(snakemake.input)
ident = checkpoint_ident(snakemake.wildcards)
s = snakemake.params.settings
result = ident | evaluate(
    str(Path(snakemake.input.config).parent),
    load_token_file(snakemake.input.val),
    block_size=s["block_size"],
    batch_size=inference_batch_size(snakemake.config, snakemake.rule),  # how, not what: not a param
    n_bootstrap=s["n_bootstrap"],
    ci_level=s["ci_level"],
    seed=ident["seed"],
    device=snakemake.config["train"]["device"],
    threads=snakemake.threads,
)
Path(snakemake.output[0]).write_text(json.dumps(result | provenance_of(snakemake), indent=2) + "\n")
log.info("val loss %.4f [%.4f, %.4f]", result["val_loss"], result["val_loss_ci_low"], result["val_loss_ci_high"])
