"""Snakemake script: one row per trained model (parameters, data size, validation loss, FLOPs)."""

from idscaling.provenance import provenance_of, stamp_frame
from idscaling.report.tables import not_converged, scaling_points
from idscaling.runlog import log_to
from idscaling.workflow.inputs import require_inputs

log = log_to(snakemake.log[0])
require_inputs(snakemake.input)
points = scaling_points(snakemake.input.train, snakemake.input.evals)
stamp_frame(points, provenance_of(snakemake)).to_csv(snakemake.output[0], index=False)
log.info("%d scaling points", len(points))
cut = not_converged(points)
if len(cut):
    log.warning(
        "%d of %d runs were stopped by train.max_steps while still improving (converged = False in %s): "
        "raise max_steps, or use train.schedule: wsd; %s",
        len(cut),
        len(points),
        snakemake.output[0],
        ", ".join(f"{r.dataset}/{r.model}/n{r.n_tokens}/seed{r.seed}" for r in cut.itertuples()),
    )
