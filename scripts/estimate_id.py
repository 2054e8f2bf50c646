"""Snakemake script: intrinsic dimension (Levina-Bickel MLE, the paper's batching) of one embedding array."""

import json
from pathlib import Path

import numpy as np

from idscaling.intrinsic_dim import estimate_id
from idscaling.runlog import log_to

log = log_to(snakemake.log[0], snakemake.threads)
w = snakemake.wildcards
s = snakemake.params.settings
result = estimate_id(
    np.load(snakemake.input[0]),
    k=s["k"],
    metric=s["metric"],
    comb=s["comb"],
    batch_size=s["batch_size"],
    n_bootstrap=s["n_bootstrap"],
    ci_level=s["ci_level"],
    seed=s["seed"],
)
result = {"dataset": w.dataset, "model": w.model, "n_tokens": int(w.n), "seed": int(w.seed), "layer": w.layer} | result
Path(snakemake.output[0]).write_text(json.dumps(result, indent=2) + "\n")
log.info("ID %.3f [%.3f, %.3f]", result["dimension"], result["ci_low"], result["ci_high"])
