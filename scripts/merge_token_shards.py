"""Snakemake script: concatenate the training split's token shards into one token file."""

from idscaling.runlog import log_to
from idscaling.tokens import merge_token_files

log = log_to(snakemake.log[0], snakemake.threads)
meta = merge_token_files(list(snakemake.input.shards), snakemake.output.bin, snakemake.input.docs,
                         extra_meta={"dataset": snakemake.wildcards.dataset, "split": "train"})
log.info("train: %d tokens in %d documents", meta["n_tokens"], meta["n_documents"])
