"""Snakemake script: the HTML report (snakemake --report on this run) and the results archive."""

import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

from idscaling.archive import build_archive
from idscaling.provenance import provenance_of
from idscaling.runlog import log_to
from idscaling.workflow.inputs import require_inputs

log = log_to(snakemake.log[0], snakemake.threads)
require_inputs(snakemake.input)
with tempfile.TemporaryDirectory() as tmp:
    config_file = Path(tmp) / "config.yaml"
    config_file.write_text(yaml.safe_dump(dict(snakemake.config), sort_keys=False))
    report = Path(tmp) / "report.html"
    # The report of this run's outputs, by Snakemake itself (read-only: no lock needed).
    subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "--report",
            str(report),
            "--nolock",
            "-s",
            snakemake.params.snakefile,
            "--configfile",
            str(config_file),
        ],
        check=True,
        stdout=sys.stdout,
        stderr=sys.stderr,
    )
    repo = Path(snakemake.params.snakefile).parent
    files = {"config.yaml": config_file, "report.html": report}
    files |= {str(Path(p).relative_to("results")): p for p in snakemake.input.results}
    files |= {str(Path(p).relative_to(repo)): p for p in snakemake.input.envs}
    manifest = build_archive(files, snakemake.output[0], provenance_of(snakemake))
log.info("archived %d files", len(manifest["files"]))
