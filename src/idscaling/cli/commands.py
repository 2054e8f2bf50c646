"""The CLI's subcommands: each reads its arguments, calls the package and returns a JSON-ready
dict. Heavy modules (numpy, scikit-learn, pandas, scipy) are imported inside them, so that
``idscaling --help`` stays fast."""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

from idscaling.cli.common import CLIError


def run_verify_archive(args: argparse.Namespace) -> dict[str, Any]:
    # (imported here: the CLI starts without numpy and the libraries behind it)
    from idscaling.archive import verify_archive

    if not Path(args.archive).is_file():
        raise CLIError(f"no such file: {args.archive}")
    problems = verify_archive(args.archive)
    if problems:
        raise CLIError(f"{args.archive}: {len(problems)} problem(s), first: {problems[0]}")
    return {"archive": args.archive, "intact": True}


def run_fetch_gpt2_ranks(args: argparse.Namespace) -> dict[str, Any]:
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


def run_fetch_smollm2(args: argparse.Namespace) -> dict[str, Any]:
    # (imported here: the CLI starts without numpy and the libraries behind it)
    from idscaling.lm.smollm2 import FetchError, fetch_smollm2

    try:
        return {"dest": args.dest, **fetch_smollm2(args.dest, index_url=args.index_url)}
    except FetchError as err:
        raise CLIError(str(err)) from None


def run_estimate_id(args: argparse.Namespace) -> dict[str, Any]:
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

    gride = {
        key: value
        for key, value in (("gride_n1", args.gride_n1), ("gride_range_max", args.gride_range_max))
        if value is not None
    }
    if gride and args.estimator != "gride":
        raise CLIError(f"--{next(iter(gride)).replace('_', '-')} applies to --estimator gride only")
    try:
        result = estimate_id(
            np.asarray(X),
            estimator=args.estimator,
            k=args.k,
            metric=args.metric,
            comb=args.comb,
            batch_size=args.batch_size,
            n_bootstrap=args.bootstrap,
            ci_level=args.ci,
            seed=args.seed,
            unbiased=args.unbiased,
            discard_fraction=args.discard_fraction,
            twonn_method=args.twonn_method,
            epsilon=args.epsilon,
            knn_method=args.knn,
            **gride,
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


def run_fit_envelope(args: argparse.Namespace) -> dict[str, Any]:
    if args.resample is not None or args.group is not None:
        raise CLIError("--resample and --group do not apply to --envelope (its bootstrap resamples seeds and sizes)")
    # (imported here: the CLI starts without numpy and the libraries behind it)
    from idscaling.fit.envelope import fit_envelope

    # (imported here: the CLI starts without numpy and the libraries behind it)
    from idscaling.fit.exponents import FitSettings

    frame = _read_points(args.points, [args.x, args.y, args.envelope], args.where)
    try:
        fit = fit_envelope(
            frame,
            x=args.x,
            y=args.y,
            model=args.envelope,
            ci_level=args.ci,
            seed=args.seed,
            n_bootstrap=FitSettings.n_bootstrap if args.bootstrap is None else args.bootstrap,
        )
    except ValueError as err:
        raise CLIError(f"{args.points}: envelope of {args.y} vs {args.x} over {args.envelope}: {err}") from None
    if args.law == "saturating" and fit["saturating"] is None:
        raise CLIError(f"{args.points}: envelope of {args.y} vs {args.x}: {fit['saturating_note']}")
    result = fit["pure"] if args.law == "power" else fit["saturating"]
    return {
        **result,
        **fit["heldout"],
        "envelope": fit["envelope"].to_dict("records"),
        "law": args.law,
        "x": args.x,
        "y": args.y,
        "over": args.envelope,
        "where": args.where,
        "input": str(args.points),
    }


def run_fit(args: argparse.Namespace) -> dict[str, Any]:
    if args.envelope is not None:
        return run_fit_envelope(args)
    if args.law == "power" and (args.resample is not None or args.group is not None):
        raise CLIError("--resample and --group apply to --law saturating only")
    frame = _read_points(args.points, [args.x, args.y] + ([args.group] if args.group else []), args.where)
    path = args.points
    x, y = frame[args.x].to_numpy(), frame[args.y].to_numpy()
    extra: dict[str, Any] = {}
    if args.heldout:
        # (imported here: the CLI starts without numpy and the libraries behind it)
        from idscaling.fit.exponents import FitSettings

        # (imported here: the CLI starts without numpy and the libraries behind it)
        from idscaling.fit.heldout import heldout_fixed

        extra.update(
            heldout_fixed(
                x,
                y,
                ci_level=args.ci,
                seed=args.seed,
                resample=args.resample or FitSettings.resample,
                n_bootstrap=FitSettings.n_bootstrap if args.bootstrap is None else args.bootstrap,
            )
        )
    try:
        if args.law == "power":
            # (imported here: the CLI starts without numpy and the libraries behind it)
            from idscaling.fit.power_law import fit_power_law

            result = fit_power_law(x, y, ci_level=args.ci, n_bootstrap=args.bootstrap or 0, seed=args.seed)
        else:
            # (imported here: the CLI starts without numpy and the libraries behind it)
            from idscaling.fit.exponents import FitSettings

            # (imported here: the CLI starts without numpy and the libraries behind it)
            from idscaling.fit.resample import SATURATING_RESAMPLING

            # (imported here: the CLI starts without numpy and the libraries behind it)
            from idscaling.fit.saturating import fit_saturating_power_law

            resample = FitSettings.resample if args.resample is None else args.resample
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
                    raise CLIError(
                        f"{path}: {len(repeated)} repeated ({args.x}, {args.group}) pair(s), first "
                        f"({first[args.x]}, {first[args.group]}): each seed should have one run per size"
                    )
                groups = frame[args.group].to_numpy() if resample == "groups" else None
                extra["group"] = args.group
            n_boot = FitSettings.n_bootstrap if args.bootstrap is None else args.bootstrap
            result = fit_saturating_power_law(
                x, y, ci_level=args.ci, n_bootstrap=n_boot, seed=args.seed, resample=resample, groups=groups
            )
    except ValueError as err:
        raise CLIError(f"{path}: {args.y} vs {args.x}: {err}") from None
    return {**result, "law": args.law, "x": args.x, "y": args.y, "where": args.where, **extra, "input": str(path)}


def run_fit_joint(args: argparse.Namespace) -> dict[str, Any]:
    frame = _read_points(args.points, [args.n_params, args.n_tokens, args.loss], args.where)
    # (imported here: the CLI starts without numpy and the libraries behind it)
    from idscaling.fit.joint import EPOCH_JOINT_GRID, JOINT_GRID, fit_joint_scaling_law

    try:
        result = fit_joint_scaling_law(
            frame[args.n_params].to_numpy(),
            frame[args.n_tokens].to_numpy(),
            frame[args.loss].to_numpy(),
            huber_delta=args.huber_delta,
            grid=EPOCH_JOINT_GRID if args.grid == "epoch" else JOINT_GRID,
            n_bootstrap=args.bootstrap,
            ci_level=args.ci,
            seed=args.seed,
        )
    except ValueError as err:
        raise CLIError(f"{args.points}: {err}") from None
    return {
        **result,
        "n_params_column": args.n_params,
        "n_tokens_column": args.n_tokens,
        "loss_column": args.loss,
        "grid": args.grid,
        "where": args.where,
        "input": str(args.points),
    }


def run_fit_coverage(args: argparse.Namespace) -> dict[str, Any]:
    frame = _read_points(
        args.points, ["dataset", "model", "seed", args.x, args.y], [f"dataset={args.dataset}", *args.where]
    )
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
            design_sizes,
            seeds,
            E=truth["E"],
            A=truth["A"],
            alpha=truth["alpha"],
            seed_sd=float(noise["noise_sd"]),
            lack_of_fit_sd=lack_of_fit if math.isfinite(lack_of_fit) else 0.0,
            replicates=args.replicates,
            ci_level=args.ci,
            seed=args.seed,
        )
    except ValueError as err:
        raise CLIError(f"{args.points}: dataset {args.dataset!r}, model {model!r}: {err}") from None
    return {
        **result,
        "noise_method": str(noise["method"]),
        "noise_dof": int(noise["dof"]),
        "dataset": args.dataset,
        "model": model,
        "x": args.x,
        "y": args.y,
        "input": str(args.points),
    }
