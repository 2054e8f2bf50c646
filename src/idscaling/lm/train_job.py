"""One training run from plain arguments (paths and dicts): what every process started by
``torchrun`` executes (``python -m idscaling.train_job ARGS.json``), and what the single-process
path calls directly."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Mapping
from typing import Any

import numpy as np

from idscaling.corpus.tokens import load_token_file
from idscaling.lm.settings import TrainSettings
from idscaling.lm.train import train
from idscaling.runlog import log_to

__all__ = ["run"]


def run(args: Mapping[str, Any]) -> dict:
    """``args``: subset, selection (token-file paths), shape, settings (dict), seed, out_dir,
    resume_dir (or None), run_info, and optionally log_file (the job's log; read by the ``__main__``
    entry point of the processes torchrun starts, which do not inherit the caller's logging)."""
    subset = load_token_file(args["subset"])
    selection = load_token_file(args["selection"])
    return train(
        np.asarray(subset.tokens),
        np.asarray(selection.tokens),
        shape=args["shape"],
        vocab_size=subset.meta["vocab_size"],
        eot_id=subset.meta["eot_id"],
        settings=TrainSettings(**args["settings"]),
        seed=int(args["seed"]),
        out_dir=args["out_dir"],
        run_info=args.get("run_info"),
        resume_dir=args.get("resume_dir"),
    )


def main(args_path: str) -> None:
    """One process under torchrun: log to the job's log file when the arguments name one (as
    :func:`idscaling.runlog.log_to` does for the Snakemake script itself), else to stderr."""
    with open(args_path) as fh:
        args = json.load(fh)
    if args.get("log_file"):
        log_to(args["log_file"])
    else:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    run(args)


if __name__ == "__main__":
    main(sys.argv[1])
