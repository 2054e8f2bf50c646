"""Snakemake script: one row per (checkpoint, ID protocol, metric), and the protocols' scale curves."""

from idscaling.provenance import provenance_of, stamp_frame
from idscaling.report.tables import id_protocols_table, id_scale_table
from idscaling.runlog import log_to
from idscaling.workflow.inputs import require_inputs

log = log_to(snakemake.log[0])
require_inputs(snakemake.input)
stamp = provenance_of(snakemake)
table = id_protocols_table(snakemake.input)
stamp_frame(table, stamp).to_csv(snakemake.output.ids, index=False)
scale = id_scale_table(snakemake.input)
stamp_frame(scale, stamp).to_csv(snakemake.output.scale, index=False)
log.info("%d protocol estimates, %d scale-curve points", len(table), len(scale))
