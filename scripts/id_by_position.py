"""Snakemake script: the ID of one checkpoint's final-layer points, grouped by context position."""

import json
from pathlib import Path

import numpy as np

from idscaling.id.analyses import id_by_position
from idscaling.provenance import provenance_of
from idscaling.runlog import log_to
from idscaling.workflow.inputs import require_inputs
from idscaling.workflow.params import execution_settings

log = log_to(snakemake.log[0], snakemake.threads)
require_inputs(snakemake.input)
w = snakemake.wildcards
positions = np.load(snakemake.input.positions)[:, 2]  # columns: document, window start, position
groups = id_by_position(
    np.load(snakemake.input.points),
    positions,
    snakemake.params.bins,
    snakemake.params.settings | execution_settings(snakemake.config, "id"),
)
result = {"dataset": w.dataset, "model": w.model, "n_tokens": int(w.n), "seed": int(w.seed), "groups": groups}
Path(snakemake.output[0]).write_text(json.dumps(result | provenance_of(snakemake), indent=2) + "\n")
for g in groups:
    log.info(
        "positions %d-%d: %d points, ID %.3f", g["position_low"], g["position_high"], g["n_points"], g["dimension"]
    )
