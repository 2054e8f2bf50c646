from __future__ import annotations

import subprocess
import sys


def test_log_to_captures_prints_warnings_and_logging(tmp_path):
    """In a fresh process, as a Snakemake script runs: everything lands in the job's log file."""
    log = tmp_path / "job.log"
    code = (
        "import logging, warnings, os\n"
        "from idscaling.runlog import log_to\n"
        f"logger = log_to({str(log)!r}, threads=3)\n"
        "print('printed line')\n"
        "logger.info('info line')\n"
        "logging.getLogger('idscaling.corpus.sources').warning('warning line')\n"
        "warnings.warn('python warning')\n"
        "print(os.environ['RAYON_NUM_THREADS'], os.environ['OMP_NUM_THREADS'])\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "" and proc.stderr == ""  # nothing escapes to the terminal
    text = log.read_text()
    for line in ("printed line", "info line", "warning line", "python warning", "3 3"):
        assert line in text
    assert "idscaling INFO info line" in text
