"""One training run from plain arguments (paths and dicts): what every process started by
``torchrun`` executes (``python -m idscaling.train_job ARGS.json``), and what the single-process
path calls directly."""

from __future__ import annotations

import json
import sys
from typing import Any, Mapping

import numpy as np

from .tokens import load_token_file
from .train import TrainSettings, train

__all__ = ["run"]


def run(args: Mapping[str, Any]) -> dict:
    """``args``: subset, selection (token-file paths), shape, settings (dict), seed, out_dir,
    resume_dir (or None), run_info."""
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


if __name__ == "__main__":
    import logging

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    run(json.loads(open(sys.argv[1]).read()))
