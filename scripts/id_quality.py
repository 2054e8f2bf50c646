"""Snakemake script: every model protocol's ID against the checkpoints' loss gap to Bayes and
probe R^2, and each protocol's extrapolation to zero gap (latent corpora)."""

from idscaling.latent.quality import extrapolate_to_zero_gap, read_quality_inputs
from idscaling.provenance import provenance_of, stamp_frame
from idscaling.runlog import log_to
from idscaling.workflow.inputs import require_inputs

log = log_to(snakemake.log[0])
require_inputs(snakemake.input)
table = read_quality_inputs(snakemake.input)
extrapolated = extrapolate_to_zero_gap(table, ci_level=snakemake.params.ci_level)
stamp = provenance_of(snakemake)
stamp_frame(table, stamp).to_csv(snakemake.output.table, index=False)
stamp_frame(extrapolated, stamp).to_csv(snakemake.output.extrapolated, index=False)
log.info("ID at zero gap:\n%s", extrapolated.iloc[:, :14].to_string())
