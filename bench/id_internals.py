"""The speed claims behind three choices inside the ID code, measured against their peers.

1. ``id.duplicates.unique_rows`` (row hashing) against ``np.unique(X, axis=0)``, same answer.
2. ``id.knn`` float64 gathers in cache-sized chunks (``_GATHER_ELEMENTS``) against one gather of
   every row at once, for the refinement's ``(points, neighbours, features)`` gather.
3. The cost of importing torch (why ``id.knn`` looks for an NVIDIA device file first).

Usage: ``python bench/id_internals.py [--n 200000] [--d 768] [--repeat 3]``; prints a Markdown table.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

import numpy as np

from idscaling.id.duplicates import unique_rows


def best_of(fn, repeat: int) -> float:
    """Fastest of ``repeat`` wall-clock runs of ``fn()`` (seconds)."""
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def gather(P: np.ndarray, idx: np.ndarray, rows_per_chunk: int) -> float:
    """Sum of squared neighbour offsets, gathered ``rows_per_chunk`` points at a time."""
    total = 0.0
    for a in range(0, idx.shape[0], rows_per_chunk):
        block = P[idx[a : a + rows_per_chunk]] - P[a : a + rows_per_chunk, None, :]
        total += float(np.einsum("ijk,ijk->", block, block))
    return total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--d", type=int, default=768)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    rng = np.random.default_rng(0)
    rows = []

    X = rng.standard_normal((a.n, a.d)).astype(np.float32)
    X[a.n // 2 : a.n // 2 + a.n // 100] = X[: a.n // 100]  # 1% exact duplicates
    ours = unique_rows(X, "euclidean")
    ref = np.sort(np.unique(X, axis=0, return_index=True)[1])
    assert np.array_equal(ours, ref), "unique_rows differs from np.unique"
    t_ours = best_of(lambda: unique_rows(X, "euclidean"), a.repeat)
    t_ref = best_of(lambda: np.unique(X, axis=0, return_index=True), a.repeat)
    rows.append((f"unique rows of {a.n:,} x {a.d} float32", "unique_rows (hash)", t_ours, "np.unique(axis=0)", t_ref))

    from idscaling.id import knn

    n_pts, k = 3600, 20
    P = rng.standard_normal((n_pts, a.d))
    idx = rng.integers(0, n_pts, size=(n_pts, k))
    step = max(1, knn._GATHER_ELEMENTS // (k * a.d))
    assert np.isclose(gather(P, idx, step), gather(P, idx, n_pts))
    t_chunk = best_of(lambda: gather(P, idx, step), a.repeat)
    t_all = best_of(lambda: gather(P, idx, n_pts), a.repeat)
    rows.append(
        (f"float64 gather of {n_pts:,} x {k} x {a.d}", f"chunks of {step} points", t_chunk, "all at once", t_all)
    )

    code = "import time; t = time.perf_counter(); import {m}; print(time.perf_counter() - t)"
    t_torch = min(
        float(subprocess.check_output([sys.executable, "-c", code.format(m="torch")])) for _ in range(a.repeat)
    )
    t_np = min(float(subprocess.check_output([sys.executable, "-c", code.format(m="numpy")])) for _ in range(a.repeat))
    rows.append(("import in a fresh interpreter", "numpy", t_np, "torch", t_torch))

    print("| what | ours | s | peer | s | peer / ours |")
    print("|---|---|---:|---|---:|---:|")
    for what, name, t, peer, tp in rows:
        print(f"| {what} | {name} | {t:.3f} | {peer} | {tp:.3f} | {tp / t:.2f}× |")


if __name__ == "__main__":
    main()
