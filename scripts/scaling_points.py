"""Snakemake script: one row per trained model (parameters, data size, validation loss, FLOPs)."""

from idscaling.runlog import log_to
from idscaling.summary import scaling_points
from idscaling.provenance import provenance_of, stamp_frame

log = log_to(snakemake.log[0])
points = scaling_points(snakemake.input.train, snakemake.input.evals)
stamp_frame(points, provenance_of(snakemake)).to_csv(snakemake.output[0], index=False)
log.info("%d scaling points", len(points))
