"""Snakemake script: the ID of the latent-teacher corpora under every protocol, against their known k."""

import json
from pathlib import Path

import pandas as pd

from idscaling.latent.known_dimension import (
    diagnostics_tables,
    known_dimension_table,
    protocol_agreement,
)
from idscaling.provenance import provenance_of, stamp_frame
from idscaling.runlog import log_to
from idscaling.workflow.inputs import require_inputs

log = log_to(snakemake.log[0])
require_inputs(snakemake.input)
p = snakemake.params
per_dataset, by_position = diagnostics_tables([json.loads(Path(f).read_text()) for f in snakemake.input.diagnostics])
table = known_dimension_table(
    pd.read_csv(snakemake.input.protocols),
    pd.read_csv(snakemake.input.exponents),
    p.sources,
    id_settings=p.id_settings,
    beta=p.beta,
    diagnostics=per_dataset,
    source_points=p.latent["source_points"],
)
stamp = provenance_of(snakemake)
stamp_frame(table, stamp).to_csv(snakemake.output.table, index=False)
stamp_frame(by_position, stamp).to_csv(snakemake.output.by_position, index=False)
log.info("known dimension:\n%s", table.iloc[:, :12].to_string())
log.info("agreement with k:\n%s", protocol_agreement(table).to_string())
