"""Send a job's output to its Snakemake log file."""

from __future__ import annotations

import logging
import os
import sys


def log_to(path: str, threads: int | None = None) -> logging.Logger:
    """Redirect stdout/stderr and the ``logging`` root to ``path`` (one file per job), quiet
    progress bars, and cap library thread pools at the job's ``threads``."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    if threads is not None:
        os.environ["RAYON_NUM_THREADS"] = str(threads)  # tokenizers' thread pool
        os.environ["OMP_NUM_THREADS"] = str(threads)
    stream = open(path, "a", buffering=1, encoding="utf-8")
    sys.stdout = sys.stderr = stream
    logging.basicConfig(stream=stream, level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s", force=True)
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    except ImportError:
        pass
    return logging.getLogger("idscaling")
