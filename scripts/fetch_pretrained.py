"""Snakemake script: one pretrained model (Hub id or local HF folder) into results/pretrained/<name>/."""

from pathlib import Path

from idscaling.lm.pretrained import fetch_pretrained
from idscaling.runlog import log_to
from idscaling.workflow.inputs import require_inputs

log = log_to(snakemake.log[0], snakemake.threads)
require_inputs(snakemake.input)
spec = snakemake.params.spec
source = fetch_pretrained(
    snakemake.wildcards.pretrained,
    spec["id"],
    Path(snakemake.output.source).parent,
    revision=spec.get("revision"),
    suite=spec.get("suite"),
)
log.info("fetched %s", source)
