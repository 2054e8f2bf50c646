"""Snakemake script: estimated ID vs known k, observed vs predicted data exponent, loss gap by position."""

import pandas as pd

from idscaling.report.figures.known_dimension import plot_known_dimension
from idscaling.runlog import log_to
from idscaling.workflow.inputs import require_inputs

log_to(snakemake.log[0])
require_inputs(snakemake.input)
plot_known_dimension(
    pd.read_csv(snakemake.input.table), snakemake.output[0], by_position=pd.read_csv(snakemake.input.by_position)
)
