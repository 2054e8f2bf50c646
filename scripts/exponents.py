"""Snakemake script: observed exponents (power-law fits) beside those predicted from the ID."""

import pandas as pd

from idscaling.fit.exponents import exponents_table
from idscaling.fit.protocol_exponents import with_protocol_predictions
from idscaling.provenance import provenance_of, stamp_frame
from idscaling.report.tables import dataset_ids
from idscaling.runlog import log_to
from idscaling.workflow.inputs import require_inputs

log = log_to(snakemake.log[0])
require_inputs(snakemake.input)
fit = snakemake.params.fit
table = exponents_table(
    pd.read_csv(snakemake.input.points),
    dataset_ids(pd.read_csv(snakemake.input.ids, dtype={"layer": str})),
    beta=fit["beta"],
    ci_level=fit["ci_level"],
    params_column=fit["params"],
    data_axis_model=fit["data_axis_model"],
    n_bootstrap=fit["n_bootstrap"],
    resample=fit["resample"],
)
if "protocols" in snakemake.input.keys():  # the predictions from every ID protocol x metric, too
    table = with_protocol_predictions(
        table, pd.read_csv(snakemake.input.protocols), metric=snakemake.params.id_metric, beta=fit["beta"]
    )
stamp_frame(table, provenance_of(snakemake)).to_csv(snakemake.output[0], index=False)
log.info("exponents:\n%s", table.to_string())
