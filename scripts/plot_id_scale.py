"""Snakemake script: the ID protocols' GRIDE scale curves (figure)."""

import pandas as pd

from idscaling.report.figures.id_scale import plot_id_scale
from idscaling.runlog import log_to
from idscaling.workflow.inputs import require_inputs

log = log_to(snakemake.log[0])
require_inputs(snakemake.input)
plot_id_scale(pd.read_csv(snakemake.input[0]), snakemake.output[0])
