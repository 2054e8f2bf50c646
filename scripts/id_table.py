"""Snakemake script: one row per intrinsic-dimension estimate."""

from idscaling.runlog import log_to
from idscaling.summary import id_table

log = log_to(snakemake.log[0])
table = id_table(snakemake.input)
table.to_csv(snakemake.output[0], index=False)
log.info("%d ID estimates", len(table))
