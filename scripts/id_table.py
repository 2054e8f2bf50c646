"""Snakemake script: one row per intrinsic-dimension estimate."""

from idscaling.provenance import provenance_of, stamp_frame
from idscaling.report.tables import id_table
from idscaling.runlog import log_to
from idscaling.workflow.inputs import require_inputs

log = log_to(snakemake.log[0])
require_inputs(snakemake.input)
table = id_table(snakemake.input)
stamp_frame(table, provenance_of(snakemake)).to_csv(snakemake.output[0], index=False)
log.info("%d ID estimates", len(table))
