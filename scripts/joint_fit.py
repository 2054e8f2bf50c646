"""Snakemake script: the joint law L(N, D) = E + A/N^a + B/D^b fitted to each dataset's points."""

import pandas as pd

from idscaling.fit.joint_table import joint_fits_table
from idscaling.provenance import provenance_of, stamp_frame
from idscaling.report.tables import dataset_ids
from idscaling.runlog import log_to
from idscaling.workflow.inputs import require_inputs

log = log_to(snakemake.log[0])
require_inputs(snakemake.input)
fit = snakemake.params.fit
table = joint_fits_table(
    pd.read_csv(snakemake.input.points),
    dataset_ids(pd.read_csv(snakemake.input.ids, dtype={"layer": str})),
    beta=fit["beta"],
    ci_level=fit["ci_level"],
    params_column=fit["params"],
    n_bootstrap=fit["n_bootstrap"],
    processes=snakemake.threads,  # bootstrap refits in parallel: the same numbers
)
stamp_frame(table, provenance_of(snakemake)).to_csv(snakemake.output[0], index=False)
log.info("joint fits:\n%s", table.to_string())
