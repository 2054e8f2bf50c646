"""Snakemake script: hidden states of one checkpoint at sampled validation positions."""

from pathlib import Path

from idscaling.corpus.tokens import load_token_file
from idscaling.lm.embed import embed, save_embeddings
from idscaling.provenance import provenance_of
from idscaling.runlog import log_to
from idscaling.workflow.inputs import require_inputs
from idscaling.workflow.params import inference_batch_size

log = log_to(snakemake.log[0], snakemake.threads)
require_inputs(snakemake.input)
s = snakemake.params.settings
layers = snakemake.params.layers
arrays, positions, meta = embed(
    str(Path(snakemake.input.config).parent),
    load_token_file(snakemake.input.val),
    layers=layers,
    context=s["block_size"],
    max_documents=s["max_documents"],
    windows_per_document=s["windows_per_document"],
    positions_per_window=s["positions_per_window"],
    max_points=s["max_points"],
    batch_size=inference_batch_size(snakemake.config, snakemake.rule),  # how, not what: not a param
    seed=s["seed"],
    device=snakemake.config["train"]["device"],
    threads=snakemake.threads,
    pool_layer=snakemake.params.pool_layer,
)
paths = dict(zip(layers, snakemake.output.arrays)) | {
    name: snakemake.output[name] for name in ("window_mean", "window_last", "windows")
}
save_embeddings(
    arrays, positions, meta | provenance_of(snakemake), paths, snakemake.output.positions, snakemake.output.meta
)
log.info("%d points of width %d from %d documents", meta["n_points"], meta["width"], meta["n_documents"])
