"""Snakemake script: ID vs parameters, width, layer and context position (paper Fig. 4)."""

import pandas as pd

from idscaling.report.figures.id_analyses import plot_id_analyses
from idscaling.runlog import log_to
from idscaling.workflow.inputs import require_inputs

log_to(snakemake.log[0])
require_inputs(snakemake.input)
plot_id_analyses(pd.read_csv(snakemake.input[0], dtype={"layer": str}), snakemake.output[0])
