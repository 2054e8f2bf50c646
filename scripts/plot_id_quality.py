"""Snakemake script: the ID-vs-model-quality figure."""

import pandas as pd

from idscaling.report.figures.id_quality import plot_id_quality
from idscaling.runlog import log_to
from idscaling.workflow.inputs import require_inputs

log_to(snakemake.log[0])
require_inputs(snakemake.input)
plot_id_quality(pd.read_csv(snakemake.input.table), pd.read_csv(snakemake.input.extrapolated), snakemake.output[0])
