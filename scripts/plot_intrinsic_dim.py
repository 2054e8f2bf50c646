"""Snakemake script: the intrinsic-dimension panel."""

import pandas as pd

from idscaling.report.figures.intrinsic_dim import plot_intrinsic_dim
from idscaling.runlog import log_to
from idscaling.workflow.inputs import require_inputs

log_to(snakemake.log[0])
require_inputs(snakemake.input)
plot_intrinsic_dim(pd.read_csv(snakemake.input[0], dtype={"layer": str}), snakemake.output[0])
