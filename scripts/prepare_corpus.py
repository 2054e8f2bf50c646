"""Snakemake script: a configured corpus -> train / select / val documents (jsonl)."""

from pathlib import Path

from idscaling.corpus.prepare import prepare_corpus
from idscaling.runlog import log_to
from idscaling.workflow.inputs import require_inputs

log = log_to(snakemake.log[0], snakemake.threads)
require_inputs(snakemake.input)
split = snakemake.params.split
meta = prepare_corpus(
    snakemake.params.source,
    Path(snakemake.output.meta).parent,
    validation_fraction=split["validation_fraction"],
    selection_fraction=split["selection_fraction"],
    seed=split["seed"],
    dataset=snakemake.wildcards.dataset,
    chunk_chars=split["chunk_chars"],
)
log.info("prepared: %s", meta)
