"""Snakemake script: the Fig. 4 analyses (ID vs parameters, width, layer, position) in one table."""

import json
from pathlib import Path

from idscaling.id.analyses import id_analyses_table
from idscaling.provenance import provenance_of, stamp_frame
from idscaling.runlog import log_to
from idscaling.workflow.inputs import require_inputs

log = log_to(snakemake.log[0])
require_inputs(snakemake.input)


def read(paths):
    return [json.loads(Path(p).read_text()) for p in paths]


table = id_analyses_table(
    read(snakemake.input.ids),
    read(snakemake.input.train),
    read(snakemake.input.positions),
    embedding_model=snakemake.params.embedding_model,
)
stamp_frame(table, provenance_of(snakemake)).to_csv(snakemake.output[0], index=False)
log.info("ID analyses:\n%s", table.to_string())
