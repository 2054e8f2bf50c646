"""Snakemake script: the nested, seeded training subset of N tokens."""

from idscaling.corpus.subsample import write_subset
from idscaling.runlog import log_to
from idscaling.workflow.inputs import require_inputs

log = log_to(snakemake.log[0])
require_inputs(snakemake.input)
w = snakemake.wildcards
meta = write_subset(snakemake.input.bin, snakemake.output.bin, dataset=w.dataset, n_tokens=int(w.n), seed=int(w.seed))
log.info("subset of %d tokens from %d documents", meta["n_tokens"], meta["n_documents"])
