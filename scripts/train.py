"""Snakemake script: train one GPT-2-style model on one subset; keep the best checkpoint."""

from pathlib import Path

import numpy as np

from idscaling.runlog import log_to
from idscaling.tokens import load_token_file
from idscaling.train import TrainSettings, train

log = log_to(snakemake.log[0], snakemake.threads)
w = snakemake.wildcards
subset = load_token_file(snakemake.input.subset)
selection = load_token_file(snakemake.input.selection)
settings = TrainSettings(**(snakemake.params.settings | {"threads": snakemake.threads}))
summary = train(
    np.asarray(subset.tokens),
    np.asarray(selection.tokens),
    shape=snakemake.params.shape,
    vocab_size=subset.meta["vocab_size"],
    eot_id=subset.meta["eot_id"],
    settings=settings,
    seed=int(w.seed),
    out_dir=Path(snakemake.output.summary).parent,
    run_info={"dataset": w.dataset, "model": w.model, "n_tokens": int(w.n)},
)
log.info("best step %d, selection loss %.4f", summary["best_step"], summary["best_selection_loss"])
