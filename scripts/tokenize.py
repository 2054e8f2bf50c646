"""Snakemake script: encode one split into a token file with document offsets and a sidecar
(the training split in tokenize.shards byte ranges at once when set: the same file)."""

from pathlib import Path

from idscaling.corpus.tokens import tokenize_jsonl_parallel
from idscaling.runlog import log_to
from idscaling.workflow.inputs import require_inputs

log = log_to(snakemake.log[0], snakemake.threads)
require_inputs(snakemake.input)
split = snakemake.wildcards.split
meta = tokenize_jsonl_parallel(
    snakemake.input.docs,
    Path(snakemake.input.tokenizer).parent,
    snakemake.output.bin,
    # how, not what: read from the config, so changing it reruns nothing
    shards=snakemake.config["tokenize"]["shards"] if split == "train" else 1,
    processes=snakemake.threads,
    extra_meta={"dataset": snakemake.wildcards.dataset, "split": split},
)
log.info("%s: %d tokens in %d documents", split, meta["n_tokens"], meta["n_documents"])
