"""Snakemake script: data-scaling, model-scaling and observed-vs-predicted exponent figures."""

import pandas as pd

from idscaling.fit.protocol_exponents import primary_rows
from idscaling.report.figures.exponents import plot_exponents
from idscaling.report.figures.scaling import plot_data_scaling, plot_model_scaling
from idscaling.runlog import log_to
from idscaling.workflow.inputs import require_inputs

log_to(snakemake.log[0])
require_inputs(snakemake.input)
points = pd.read_csv(snakemake.input.points)
exponents = primary_rows(pd.read_csv(snakemake.input.exponents))  # the configured ID's predictions
column = snakemake.params.params_column
plot_data_scaling(points, exponents, snakemake.output.data, params_column=column)
plot_model_scaling(points, exponents, snakemake.output.model, params_column=column)
plot_exponents(exponents, snakemake.output.exponents)
