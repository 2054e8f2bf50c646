"""Snakemake script: the ID of one checkpoint under every configured protocol and metric."""

import json
from pathlib import Path

import numpy as np

from idscaling.corpus.tokenizer import load_tokenizer
from idscaling.id.protocols import protocol_ids, protocol_inputs
from idscaling.provenance import provenance_of
from idscaling.runlog import log_to
from idscaling.workflow.inputs import require_inputs
from idscaling.workflow.params import execution_settings
from idscaling.workflow.targets import checkpoint_ident

log = log_to(snakemake.log[0], snakemake.threads)
require_inputs(snakemake.input)
p = snakemake.params
sets, oracle_info = protocol_inputs(
    p.protocols,
    points=np.load(snakemake.input.points),
    positions=np.load(snakemake.input.positions),
    window_mean=np.load(snakemake.input.window_mean),
    window_last=np.load(snakemake.input.window_last),
    windows=np.load(snakemake.input.windows),
    val_bin=snakemake.input.val,
    val_texts=snakemake.input.get("val_texts"),
    tokenizer=load_tokenizer(Path(snakemake.input.tokenizer).parent) if "tokenizer" in snakemake.input.keys() else None,
    source=p.source,
    settings=p.settings,
)
rows = protocol_ids(
    sets,
    p.metrics,
    p.settings | execution_settings(snakemake.config, "id"),
    scale_range_max=p.settings["scale_range_max"],
)
result = checkpoint_ident(snakemake.wildcards) | {"protocols": rows, "oracle": oracle_info}
Path(snakemake.output[0]).write_text(json.dumps(result | provenance_of(snakemake), indent=2) + "\n")
for r in rows:
    log.info(
        "%s %s: %d points, ID %.3f [%.3f, %.3f] %s",
        r["protocol"],
        r["metric"],
        r["n_points"],
        r["dimension"],
        r["ci_low"],
        r["ci_high"],
        r["note"],
    )
