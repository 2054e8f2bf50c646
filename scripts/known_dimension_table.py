"""Snakemake script: estimated ID and exponents of the latent-teacher corpora against their known k."""

import numpy as np
import pandas as pd

from idscaling.known_dimension import known_dimension_table, other_metric_id
from idscaling.runlog import log_to
from idscaling.summary import dataset_ids
from idscaling.provenance import provenance_of, stamp_frame

log = log_to(snakemake.log[0])
p = snakemake.params
other = {d: other_metric_id(np.load(path), p.id_settings) for d, path in zip(p.datasets, snakemake.input.arrays)}
table = known_dimension_table(
    pd.read_csv(snakemake.input.exponents),
    dataset_ids(pd.read_csv(snakemake.input.ids, dtype={"layer": str})),
    other,
    p.sources,
    metric=p.id_settings["metric"],
    id_settings=p.id_settings,
    beta=p.beta,
)
stamp_frame(table, provenance_of(snakemake)).to_csv(snakemake.output[0], index=False)
log.info("known dimension:\n%s", table.to_string())
