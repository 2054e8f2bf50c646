"""Snakemake script: build the configured tokenizer (BPE trained on the training split, or GPT-2)."""

from pathlib import Path

from idscaling.corpus.tokenizer import build_tokenizer
from idscaling.runlog import log_to
from idscaling.workflow.inputs import require_inputs

log = log_to(snakemake.log[0], snakemake.threads)
require_inputs(snakemake.input)
tok = snakemake.params.tokenizer
meta = build_tokenizer(
    tok["kind"],
    snakemake.input.train,
    Path(snakemake.output.meta).parent,
    vocab_size=tok["vocab_size"],
    gpt2_ranks_file=tok["gpt2_ranks_file"],
)
log.info("tokenizer %s", meta)
