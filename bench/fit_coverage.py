"""Benchmark: coverage of the saturating fit's nominal 95% interval on alpha (and E), by sweep design.

For each design (sizes x seeds per size), truth curve ``L = E + A N^-alpha`` and noise level, draws
``--replicates`` sweeps and fits each exactly as the pipeline does
(:func:`idscaling.fit_coverage.simulate_coverage`: ``fit_saturating_power_law`` with the
exponents table's bootstrap size and scheme, unless ``--resample`` names others to compare).
Prints a Markdown table: design, scheme, noise SD in log loss (seed-to-seed; + the per-size
lack-of-fit term when given), coverage of alpha and E with exact 95% binomial intervals, the median
width of the alpha interval, the median error of alpha (bias) and the seconds each row took.

Designs: ``old`` (the latent sweep before: 12,500 ... 200,000 tokens, 5 sizes, 1 seed), ``config``
(config/latent_sweep.yaml as it is now: its first dataset's n_tokens and its seeds) and the ones
between, named ``SxR`` for S log-spaced sizes over 12,500 ... 200,000 and R seeds (e.g. ``5x3``,
``7x1``), or ``SxR@LO`` with another smallest size (``9x3@3125``). Truths: ``E:alpha:excess``,
excess being the reducible loss (nats) at 12,500 tokens, so a truth is the same curve in every
design.

    .venv/bin/python bench/fit_coverage.py                                 # the table in BENCHMARKS.md
    .venv/bin/python bench/fit_coverage.py --replicates 100 --noise 0.01   # quick
    .venv/bin/python bench/fit_coverage.py --designs 7x3 --resample points,within_x,within_x_pooled,groups
    .venv/bin/python bench/fit_coverage.py --points runs/latent_sweep/results/summary/scaling_points.csv
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]
N_SMALL, N_LARGE = 12500, 200000


def design(name: str) -> tuple[np.ndarray, int]:
    """Sizes and seeds per size of a design name (module docstring)."""
    if name == "old":
        return np.geomspace(N_SMALL, N_LARGE, 5).round(), 1
    if name == "config":
        config = yaml.safe_load((REPO / "config" / "latent_sweep.yaml").read_text())
        first = next(iter(config["datasets"].values()))
        return np.asarray(first["n_tokens"], dtype=float), len(config["seeds"])
    shape, _, low = name.partition("@")
    try:
        sizes, seeds = (int(v) for v in shape.split("x"))
        n_min = float(low) if low else N_SMALL
    except ValueError:
        raise SystemExit(f"design {name!r}: expected old, config, SxR or SxR@LO (e.g. 7x3, 9x3@3125)") from None
    return np.geomspace(n_min, N_LARGE, sizes).round(), seeds


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--designs", default="old,5x3,7x1,config", help="comma-separated (default old,5x3,7x1,config)")
    ap.add_argument(
        "--truths", default="3.0:0.6:1.5", help="comma-separated E:alpha:excess-at-12500 (default 3.0:0.6:1.5)"
    )
    ap.add_argument(
        "--noise",
        default="0.005,0.01,0.02,0.03",
        help="seed-to-seed SDs of log loss, comma-separated (default 0.005,0.01,0.02,0.03)",
    )
    ap.add_argument(
        "--lack-of-fit", type=float, default=0.0, help="SD of a per-size deviation shared by its seeds (default 0)"
    )
    ap.add_argument(
        "--points",
        help="scaling_points.csv: use its measured noise (pooled over its sweeps) "
        "and lack of fit instead of --noise/--lack-of-fit",
    )
    ap.add_argument(
        "--resample", default=None, help="comma-separated bootstrap schemes to compare (default: the pipeline's)"
    )
    ap.add_argument("--replicates", type=int, default=400)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    import pandas as pd

    from idscaling.fit.coverage import (
        measure_noise,
        pooled_noise_sd,
        prefactor_for_excess,
        simulate_coverage,
    )
    from idscaling.fit.exponents import FitSettings

    noises = [(float(v), args.lack_of_fit) for v in args.noise.split(",")]
    if args.points:
        table = measure_noise(pd.read_csv(args.points))
        print(table.to_markdown(index=False, floatfmt=".4f"), "\n")
        method = "seed_spread" if (table["method"] == "seed_spread").any() else "fit_residual"
        lof = table.loc[table["method"] == "seed_spread", "lack_of_fit_sd"].dropna()
        lof_sd = float(np.sqrt(np.mean(lof**2))) if len(lof) else 0.0
        noises = [(pooled_noise_sd(table, method), lof_sd)]
        print(f"noise from {args.points}: {method}, pooled SD {noises[0][0]:.4f}, lack of fit {lof_sd:.4f}\n")
    schemes = args.resample.split(",") if args.resample else [FitSettings.resample]
    truths = [tuple(float(v) for v in t.split(":")) for t in args.truths.split(",")]

    print(
        f"{args.replicates} replicates per row, nominal 95% intervals, 1 thread; "
        f"{platform.processor() or platform.machine()}, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}\n"
    )
    print(
        "| design | sizes | seeds | truth E / alpha / excess@12.5k | scheme | noise SD (+ lack of fit) "
        "| coverage alpha [95% CI] | coverage E [95% CI] | median alpha CI width | median alpha error | s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name in args.designs.split(","):
        sizes, seeds = design(name)
        for e, alpha, excess in truths:
            a = prefactor_for_excess(excess, N_SMALL, alpha)
            for sd, lof in noises:
                for scheme in schemes:
                    size_text = (
                        f"{len(sizes)}: {sizes.min():,.0f}-{sizes.max():,.0f} "
                        f"({np.log10(sizes.max() / sizes.min()):.1f} dec)"
                    )
                    noise_text = f"{sd:.4f}" + (f" + {lof:.4f}" if lof else "")
                    try:
                        out = simulate_coverage(
                            sizes,
                            seeds,
                            E=e,
                            A=a,
                            alpha=alpha,
                            seed_sd=sd,
                            lack_of_fit_sd=lof,
                            replicates=args.replicates,
                            resample=scheme,
                            seed=args.seed,
                        )
                    except ValueError as err:  # e.g. a seed bootstrap on a one-seed design
                        print(
                            f"| {name} | {size_text} | {seeds} | {e:g} / {alpha:g} / {excess:g} | {scheme} "
                            f"| {noise_text} | n/a: {err} | | | | |"
                        )
                        continue
                    print(
                        f"| {name} | {size_text} | {seeds} | {e:g} / {alpha:g} / {excess:g} | {out['resample']} "
                        f"| {noise_text} "
                        f"| {out['coverage_alpha']:.3f} [{out['coverage_alpha_ci_low']:.3f}, "
                        f"{out['coverage_alpha_ci_high']:.3f}] "
                        f"| {out['coverage_E']:.3f} [{out['coverage_E_ci_low']:.3f}, {out['coverage_E_ci_high']:.3f}] "
                        f"| {out['median_alpha_ci_width']:.3f} | {out['median_alpha_error']:+.4f} "
                        f"| {out['seconds']:.0f} |",
                        flush=True,
                    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
