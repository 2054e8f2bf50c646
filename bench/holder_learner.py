"""Benchmark: does a latent corpus with a beta-Hölder teacher have the theory's data exponent?

For each latent dimension k, the holder teacher (`idscaling.holder_teacher`, `teacher: holder`
with its defaults unless overridden: smoothness beta = 1.5, 256 pseudo-words, logit scale 3)
generates documents of `--document-tokens` words, and a learner that is told every document's
latent z (`idscaling.oracle_learner`: k-nearest-neighbour averaging of word counts in z-space,
K and pseudo-counts chosen by leave-one-document-out likelihood) is trained on nested subsets of
N tokens. Its excess loss E_z KL(p(.|z) || p_hat(.|z)) (exact over the vocabulary, on 2,000 fresh
latents) is fitted as A N^(-alpha) with `idscaling.fit.fit_power_law` (every (N, seed) a point,
Student-t 95% interval) and compared with the theory's 2 beta / (2 beta + k).

Columns: k, beta, predicted exponent, fitted exponent [95% CI] on the whole cube, the same on
latents of the inner cube [1/4, 3/4]^k (no one-sided neighbourhoods: isolates the boundary
effect), chosen K at the smallest and largest N, the share of the excess that is bias at the
largest N (the rest is word-sampling noise; at the optimum of A h^(2 beta) + B / (N h^k) it is
k / (2 beta + k), shown beside it), the effective vocabulary 2 K T (excess - bias) at
the smallest and largest N (grows towards V - 1 as rare words get resolved: the vocabulary noise
floor), N range, seeds and wall time. One core (OMP_NUM_THREADS=1):

    OMP_NUM_THREADS=1 .venv/bin/python bench/holder_learner.py            # k = 1, 2, 4, 8; ~1.5 min
    OMP_NUM_THREADS=1 .venv/bin/python bench/holder_learner.py --k 2 --smoothness 1.0 --seeds 0,1
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np

from idscaling.latent.holder import HOLDER_DEFAULTS, HolderTeacher
from idscaling.latent.learner import exponent_check


def effective_vocab(row: dict, document_tokens: int) -> float:
    return 2 * row["n_neighbors"] * document_tokens * (row["excess_loss"] - row["bias_loss"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--k", default="1,2,4,8", help="latent dimensions, comma-separated")
    parser.add_argument("--smoothness", type=float, default=HOLDER_DEFAULTS["smoothness"])
    parser.add_argument("--logit-scale", type=float, default=HOLDER_DEFAULTS["logit_scale"])
    parser.add_argument("--document-tokens", type=int, default=128)
    parser.add_argument("--n-min", type=float, default=1e4)
    parser.add_argument("--n-max", type=float, default=1e6)
    parser.add_argument("--n-sizes", type=int, default=9)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--teacher-seed", type=int, default=0)
    args = parser.parse_args()
    ks = [int(k) for k in args.k.split(",")]
    seeds = [int(s) for s in args.seeds.split(",")]
    sizes = np.unique(np.round(np.geomspace(args.n_min, args.n_max, args.n_sizes)).astype(int))
    T = args.document_tokens
    print(
        f"# {platform.platform()}, numpy {np.__version__}; T = {T} words per document, "
        f"{len(sizes)} sizes, teacher seed {args.teacher_seed}, logit scale {args.logit_scale}"
    )
    header = (
        "| k | beta | predicted 2b/(2b+k) | fitted [95% CI] | fitted, inner cube [95% CI] | K at N min..max "
        "| bias share at N max (asymptotic k/(2b+k)) | V_eff at N min..max | N range (tokens) | seeds | wall s |"
    )
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for k in ks:
        start = time.perf_counter()
        teacher = HolderTeacher.from_seed(
            k, smoothness=args.smoothness, logit_scale=args.logit_scale, seed=args.teacher_seed
        )
        res = exponent_check(teacher, args.smoothness, sizes, document_tokens=T, seeds=seeds)
        rows = res["rows"]
        small = [r for r in rows if r["n_tokens"] == res["n_min"]]
        large = [r for r in rows if r["n_tokens"] == res["n_max"]]
        bias_share = np.mean([r["bias_loss"] / r["excess_loss"] for r in large])
        v_small = np.mean([effective_vocab(r, T) for r in small])
        v_large = np.mean([effective_vocab(r, T) for r in large])
        k_small = int(np.median([r["n_neighbors"] for r in small]))
        k_large = int(np.median([r["n_neighbors"] for r in large]))
        print(
            f"| {k} | {args.smoothness:g} | {res['predicted']:.3f} "
            f"| {res['alpha']:.3f} [{res['alpha_ci_low']:.3f}, {res['alpha_ci_high']:.3f}] "
            f"| {res['alpha_interior']:.3f} [{res['alpha_interior_ci_low']:.3f}, {res['alpha_interior_ci_high']:.3f}] "
            f"| {k_small}..{k_large} | {bias_share:.2f} ({k / (2 * args.smoothness + k):.2f}) "
            f"| {v_small:.0f}..{v_large:.0f} "
            f"| {res['n_min']:.3g}..{res['n_max']:.3g} | {len(seeds)} | {time.perf_counter() - start:.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
