"""Snakemake script: encode one byte-range shard of the training split."""

from pathlib import Path

from idscaling.runlog import log_to
from idscaling.tokenizer import load_tokenizer
from idscaling.tokens import tokenize_jsonl

log = log_to(snakemake.log[0], snakemake.threads)
meta = tokenize_jsonl(
    snakemake.input.docs,
    load_tokenizer(Path(snakemake.input.tokenizer).parent),
    snakemake.output.bin,
    shard=(int(snakemake.wildcards.shard), snakemake.params.shards),
    extra_meta={"dataset": snakemake.wildcards.dataset, "split": "train"},
)
log.info("shard %s: %d tokens in %d documents", snakemake.wildcards.shard, meta["n_tokens"], meta["n_documents"])
