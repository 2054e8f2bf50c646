"""Snakemake script: encode one split into a token file with document offsets and a sidecar."""

from idscaling.runlog import log_to
from idscaling.tokenizer import load_tokenizer
from idscaling.tokens import tokenize_jsonl
from pathlib import Path

log = log_to(snakemake.log[0], snakemake.threads)
meta = tokenize_jsonl(
    snakemake.input.docs,
    load_tokenizer(Path(snakemake.input.tokenizer).parent),
    snakemake.output.bin,
    extra_meta={"dataset": snakemake.wildcards.dataset, "split": snakemake.wildcards.split},
)
log.info("%s: %d tokens in %d documents", snakemake.wildcards.split, meta["n_tokens"], meta["n_documents"])
