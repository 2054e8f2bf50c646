"""Benchmark: ID estimation speed, ours (`estimate_id`, MLE) vs skdim's MLE run the paper's way.

Data (seeded, documented so the numbers can be reproduced): n points on a curved manifold of known
intrinsic dimension d embedded in R^dim, plus small isotropic noise, float32. Latent coordinates
t ~ U[0, 1]^d are mapped by random Fourier features,

    x(t) = [cos(W t + b), sin(W t + b)] / sqrt(dim / 2),   W ~ N(0, freq^2)^(dim/2 x d), b ~ U[0, 2 pi),

a smooth embedding of the cube onto a curved d-manifold on the unit sphere of R^dim (squared
distances 2 - 2 exp(-freq^2 |t - s|^2 / 2) in expectation: curved, injective); then Gaussian noise
of total norm ~noise (noise / sqrt(dim) per coordinate).

Compared, in the same process, on the same batches (deduplicated, shuffled with the seed and cut
into consecutive batches of 3,600, as `estimate_id` does; see `batch_indices`):

(a) ours: `estimate_id(X, estimator="mle", k=20, metric=..., batch_size=3600, n_bootstrap=...,
    knn_method=...)`, timed end to end (deduplication and shuffling included), once per neighbour
    search method given with `--knn` (default `blas,faiss`; all exact, see `knn_distances`);
(b) skdim the paper's way: for each batch `skdim.id.MLE().fit(batch, n_neighbors=20)` (Euclidean;
    skdim has no metric) or, for cosine, scikit-learn's brute-force cosine neighbours passed as
    `precomputed_knn_arrays`; the mean of the batch estimates. The batches are float32, as the
    authors' embeddings; imports are not timed.

Prints wall times, the ratio (b)/(a) per metric and method, and both estimates with their
relative difference, and each method's estimate against the first method's. With `--repeat R`
the runs are interleaved (skdim, then each method, R times) and each timing is the best of its R
(for a machine with other load).

    .venv/bin/python bench/id_speed.py                      # 200,000 x 768, both metrics
    .venv/bin/python bench/id_speed.py --knn sklearn,blas,faiss --repeat 2
    .venv/bin/python bench/id_speed.py --n 20000 --dim 128  # quick
    # on a GPU: the torch method (float32 ranking on the GPU) against the CPU route, 1,000,000 x 768
    python bench/id_speed.py --n 1000000 --metrics cosine --knn torch,blas --skip-skdim

`--knn torch` ranks on the GPU when PyTorch sees one (on the CPU otherwise: the output says
which); torch is imported and the device initialised before the timings, as faiss and skdim.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

import numpy as np


def make_points(n: int, dim: int, d: int, noise: float, freq: float, seed: int) -> np.ndarray:
    """n x dim float32 points on a curved d-manifold plus noise (see the module docstring)."""
    if dim % 2:
        raise ValueError("dim must be even (cos and sin halves)")
    rng = np.random.default_rng(seed)
    W = freq * rng.standard_normal((dim // 2, d))
    b = rng.uniform(0.0, 2 * np.pi, dim // 2)
    out = np.empty((n, dim), dtype=np.float32)
    scale = 1.0 / np.sqrt(dim / 2)
    for a in range(0, n, 20_000):
        t = rng.uniform(size=(min(n, a + 20_000) - a, d))
        phase = t @ W.T + b
        block = np.concatenate([np.cos(phase), np.sin(phase)], axis=1) * scale
        block += (noise / np.sqrt(dim)) * rng.standard_normal(block.shape)
        out[a : a + len(block)] = block
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200_000, help="points (default 200000)")
    ap.add_argument("--dim", type=int, default=768, help="ambient dimension (default 768)")
    ap.add_argument("--d", type=int, default=10, help="intrinsic dimension of the manifold (default 10)")
    ap.add_argument("--noise", type=float, default=0.01, help="noise norm (default 0.01)")
    ap.add_argument("--freq", type=float, default=2.0, help="random-feature frequency scale (default 2)")
    ap.add_argument("--k", type=int, default=20)
    ap.add_argument("--batch-size", type=int, default=3600)
    ap.add_argument("--metrics", default="euclidean,cosine")
    ap.add_argument(
        "--bootstrap",
        type=int,
        default=0,
        help="our bootstrap replicates (default 0: the same work as skdim, which has no interval)",
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--knn",
        default="blas,faiss",
        help="our neighbour search method(s), comma-separated: auto, sklearn, blas, faiss, torch (default blas,faiss)",
    )
    ap.add_argument("--repeat", type=int, default=1, help="time each run this many times, keep the best (default 1)")
    ap.add_argument(
        "--skip-skdim", action="store_true", help="time only our methods (their columns against skdim are left empty)"
    )
    args = ap.parse_args()
    methods = [m.strip() for m in args.knn.split(",") if m.strip()]

    t0 = time.perf_counter()
    X = make_points(args.n, args.dim, args.d, args.noise, args.freq, args.seed)
    t_gen = time.perf_counter() - t0
    t0 = time.perf_counter()
    import idscaling.id as idm
    from idscaling.id import knn as idknn

    t_import_ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    import skdim
    from sklearn.neighbors import NearestNeighbors

    t_import_skdim = time.perf_counter() - t0
    bad = [m for m in methods if m not in idm.KNN_METHODS]
    if bad:
        ap.error(f"--knn: unknown method(s) {bad}; choose from {idm.KNN_METHODS}")
    if "faiss" in methods:
        import faiss  # noqa: F401  (imported before timing, as skdim)
    torch_device = None
    if "torch" in methods or ("auto" in methods and idknn.resolve_knn_method("auto") == "torch"):
        torch_device = idknn._torch_device()  # imports torch; then one small search initialises the device
        idm.knn_distances(X[:200], min(args.k, 100), "euclidean", method="torch")

    print(
        f"# ID speed: {args.n} x {args.dim} float32, curved manifold d={args.d} (freq {args.freq}, "
        f"noise {args.noise}), k={args.k}, batches of {args.batch_size}, seed {args.seed}"
    )
    print(
        f"# python {platform.python_version()}, numpy {np.__version__}, skdim {skdim.__version__}, "
        f"{os.cpu_count()} CPUs; generate {t_gen:.1f} s; import ours {t_import_ours:.1f} s, "
        f"skdim+sklearn {t_import_skdim:.1f} s (not timed below)"
    )
    if torch_device is not None:
        import torch

        name = torch.cuda.get_device_name(torch_device) if torch_device.type == "cuda" else "CPU"
        print(
            f"# knn torch: torch {torch.__version__} on {torch_device} ({name}), "
            f"{torch.get_num_threads()} CPU threads; 'auto' = {idknn.resolve_knn_method('auto')}"
        )
    print(
        f"# load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())} "
        "(other processes on the machine distort both timings)"
    )
    batches, _ = idm.batch_indices(X, args.batch_size, args.k, args.seed)

    def skdim_paper_way(metric: str) -> list[float]:
        estimates = []
        for idx in batches:
            batch = X[idx]
            if metric == "euclidean":
                est = skdim.id.MLE().fit(batch, n_neighbors=args.k)
            else:
                knn = NearestNeighbors(n_neighbors=args.k, metric="cosine", algorithm="brute").fit(batch).kneighbors()
                est = skdim.id.MLE().fit(batch, precomputed_knn_arrays=knn)
            estimates.append(float(est.dimension_))
        return estimates

    def timed(run):
        t0 = time.perf_counter()
        out = run()
        return time.perf_counter() - t0, out

    rows = []
    for metric in [m.strip() for m in args.metrics.split(",") if m.strip()]:
        t_skdim, t_ours, ours = np.inf if not args.skip_skdim else np.nan, dict.fromkeys(methods, np.inf), {}
        for r in range(max(1, args.repeat)):
            if args.skip_skdim:
                estimates = [np.nan] * len(batches)
            else:
                t, estimates = timed(lambda metric=metric: skdim_paper_way(metric))
                t_skdim = min(t_skdim, t)
                print(f"# {metric} run {r + 1}: skdim {t:.1f} s", flush=True)
            for method in methods:
                t, ours[method] = timed(
                    lambda metric=metric, method=method: idm.estimate_id(
                        X,
                        estimator="mle",
                        k=args.k,
                        metric=metric,
                        batch_size=args.batch_size,
                        n_bootstrap=args.bootstrap,
                        seed=args.seed,
                        knn_method=method,
                    )
                )
                t_ours[method] = min(t_ours[method], t)
                print(f"# {metric} run {r + 1}: ours ({method}) {t:.1f} s (load {os.getloadavg()[0]:.2f})", flush=True)
        ref = float(np.mean(estimates))
        first = ours[methods[0]]["dimension"]
        for method in methods:
            batch_rel = np.max(np.abs(np.asarray(ours[method]["batch_estimates"]) / np.asarray(estimates) - 1))
            rows.append(
                (
                    metric,
                    method,
                    len(batches),
                    t_ours[method],
                    t_skdim,
                    ours[method]["dimension"],
                    ref,
                    batch_rel,
                    abs(ours[method]["dimension"] / first - 1),
                )
            )

    print(f"# load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print()
    print(
        f"| metric | knn | batches | ours s | skdim (paper's way) s | speed-up | ID ours | ID skdim | rel. diff "
        f"| max batch rel. diff | rel. diff vs {methods[0]} |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for metric, method, nb, t_ours, t_skdim, a, b, batch_rel, vs_first in rows:
        print(
            f"| {metric} | {method} | {nb} | {t_ours:.1f} | {t_skdim:.1f} | {t_skdim / t_ours:.2f}x | {a:.6f} "
            f"| {b:.6f} | {abs(a / b - 1):.1e} | {batch_rel:.1e} | {vs_first:.1e} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
