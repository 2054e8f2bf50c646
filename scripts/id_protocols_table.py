"""Snakemake script: one row per (checkpoint, ID protocol, metric)."""

from idscaling.id_protocols import id_protocols_table
from idscaling.provenance import provenance_of, stamp_frame
from idscaling.runlog import log_to

log = log_to(snakemake.log[0])
table = id_protocols_table(snakemake.input)
stamp_frame(table, provenance_of(snakemake)).to_csv(snakemake.output[0], index=False)
log.info("%d protocol estimates", len(table))
