"""Snakemake script: the ID of the latent-teacher corpora under every protocol, against their known k."""

import pandas as pd

from idscaling.known_dimension import known_dimension_table, protocol_agreement
from idscaling.provenance import provenance_of, stamp_frame
from idscaling.runlog import log_to

log = log_to(snakemake.log[0])
p = snakemake.params
table = known_dimension_table(
    pd.read_csv(snakemake.input.protocols),
    pd.read_csv(snakemake.input.exponents),
    p.sources,
    id_settings=p.id_settings,
    beta=p.beta,
)
stamp_frame(table, provenance_of(snakemake)).to_csv(snakemake.output[0], index=False)
log.info("known dimension:\n%s", table.iloc[:, :12].to_string())
log.info("agreement with k:\n%s", protocol_agreement(table).to_string())
