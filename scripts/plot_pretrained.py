"""Snakemake script: loss and estimated ID against parameters for the pretrained suites."""

import pandas as pd

from idscaling.report.figures.pretrained import plot_pretrained
from idscaling.runlog import log_to
from idscaling.workflow.inputs import require_inputs

log_to(snakemake.log[0])
require_inputs(snakemake.input)
plot_pretrained(
    pd.read_csv(snakemake.input.points),
    pd.read_csv(snakemake.input.exponents),
    snakemake.output[0],
    params_column=snakemake.params.params_column,
)
