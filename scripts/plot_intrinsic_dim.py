"""Snakemake script: the intrinsic-dimension panel."""

import pandas as pd

from idscaling.report.figures.intrinsic_dim import plot_intrinsic_dim
from idscaling.runlog import log_to

log_to(snakemake.log[0])
plot_intrinsic_dim(pd.read_csv(snakemake.input[0], dtype={"layer": str}), snakemake.output[0])
