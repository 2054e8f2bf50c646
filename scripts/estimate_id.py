"""Snakemake script: intrinsic dimension (the configured estimator, the paper's batching) of one embedding array."""

import json
from pathlib import Path

import numpy as np

from idscaling.id.batching import estimate_id, settings_for_estimator
from idscaling.provenance import provenance_of
from idscaling.runlog import log_to
from idscaling.workflow.inputs import require_inputs
from idscaling.workflow.params import execution_settings
from idscaling.workflow.targets import checkpoint_ident

log = log_to(snakemake.log[0], snakemake.threads)
require_inputs(snakemake.input)
s = snakemake.params.settings | execution_settings(snakemake.config, "id")  # knn: how, not what
result = estimate_id(np.load(snakemake.input[0]), **settings_for_estimator(s))
result = checkpoint_ident(snakemake.wildcards) | {"layer": snakemake.wildcards.layer} | result
Path(snakemake.output[0]).write_text(json.dumps(result | provenance_of(snakemake), indent=2) + "\n")
log.info("ID %.3f [%.3f, %.3f]", result["dimension"], result["ci_low"], result["ci_high"])
