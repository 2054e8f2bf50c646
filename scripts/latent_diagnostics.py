"""Snakemake script: linear-probe R^2 of z and the loss gap to the Bayes loss, for one checkpoint
on a latent-teacher corpus."""

import json
from pathlib import Path

import numpy as np

from idscaling.corpus.tokenizer import load_tokenizer
from idscaling.latent.diagnostics import diagnose
from idscaling.provenance import provenance_of
from idscaling.runlog import log_to
from idscaling.workflow.inputs import require_inputs
from idscaling.workflow.targets import checkpoint_ident

log = log_to(snakemake.log[0], snakemake.threads)
require_inputs(snakemake.input)
result = diagnose(
    str(Path(snakemake.input.config).parent),
    val_bin=snakemake.input.val,
    val_texts=snakemake.input.val_texts,
    tokenizer=load_tokenizer(Path(snakemake.input.tokenizer).parent),
    points=np.load(snakemake.input.points),
    positions=np.load(snakemake.input.positions),
    source=snakemake.params.source,
    context=snakemake.params.block_size,
    device=snakemake.config["train"]["device"],
    threads=snakemake.threads,
    n_documents=snakemake.params.latent["diagnostic_documents"],
)
out = checkpoint_ident(snakemake.wildcards) | result
Path(snakemake.output[0]).write_text(json.dumps(out | provenance_of(snakemake), indent=2) + "\n")
log.info(
    "probe R2 (late) %.3f, (early) %.3f; loss gap (late) %.3f nats/word",
    result["probe_r2_late"],
    result["probe_r2_early"],
    result["loss_gap_late"],
)
