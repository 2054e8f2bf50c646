"""Snakemake script: the pretrained suites' points (loss, ID, size) and their model-axis exponents."""

import json
from pathlib import Path

from idscaling.fit.exponents import pretrained_exponents_table
from idscaling.provenance import provenance_of, stamp_frame
from idscaling.report.tables import pretrained_points
from idscaling.runlog import log_to
from idscaling.workflow.inputs import require_inputs

log = log_to(snakemake.log[0])
require_inputs(snakemake.input)


def read(paths):
    return [json.loads(Path(p).read_text()) for p in paths]


points = pretrained_points(read(snakemake.input.sources), read(snakemake.input.evals), read(snakemake.input.ids))
stamp_frame(points, provenance_of(snakemake)).to_csv(snakemake.output.points, index=False)
fit = snakemake.params.fit
exponents = pretrained_exponents_table(
    points,
    beta=fit["beta"],
    ci_level=fit["ci_level"],
    params_column=fit["params"],
    n_bootstrap=fit["n_bootstrap"],
    resample=fit["resample"],
)
stamp_frame(exponents, provenance_of(snakemake)).to_csv(snakemake.output.exponents, index=False)
log.info("pretrained points:\n%s\nexponents:\n%s", points.to_string(), exponents.to_string())
