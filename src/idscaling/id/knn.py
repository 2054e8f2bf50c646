"""Exact k-nearest-neighbour search for the ID estimators: :func:`knn_distances`.

The default is scikit-learn's ``NearestNeighbors`` (float64). The opt-in
``method="blas"`` scores all pairs of a batch with one float32 BLAS
product on centred data (numpy computes ``A @ A.T`` as a symmetric rank-k
update), keeps for each point every other point whose float32 score is within
a *rigorous* float32 rounding-error bound of its k-th best, and recomputes the
distances of those candidates in float64 (about k of them: the bound is small
against the gaps between neighbour distances on real data). A point with too
many candidates (heavily tied or ill-conditioned data) is searched again in
float64 (counted in ``last_knn_fallback_rows``). So the result is the exact
k-NN up to ties and float64 rounding, like scikit-learn's brute force search
(``method="sklearn"``, the default and the reference); the test-suite checks 1e-9
agreement. ``method="faiss"`` (opt-in, needs ``faiss-cpu``) ranks with faiss's exact flat
index (``IndexFlatL2``, float32) and applies the same float64 refinement, with the same kind of
rounding-error certificate and float64 fallback. ``method="torch"`` does the float32 ranking
with a matmul and ``topk`` on the GPU (on the CPU without one), then the same refinement;
``method="auto"`` picks it when PyTorch sees a CUDA device, else scikit-learn's.

The cosine metric is searched as the Euclidean one on the unit rows
(:func:`idscaling.id.base.unit_rows`), and every backend returns
``1 - cos = |u - v|^2 / 2`` with the small distances computed from the coordinate
differences of the (uncentred) unit rows: ``1 - cos`` from a dot product is ~1e-16 absolute
noise, so scikit-learn's own cosine distance is exactly 0 for rows that differ only by
rounding (x and x (1 + 1e-15)) while a distance from differences is ~1e-31, and the
backends disagreed about whether such a pair is a duplicate. Now all of them return the same
small distance, and two rows at distance 0 are exactly the duplicates of the metric
(equal unit rows), which :func:`idscaling.id.estimate_id` removes beforehand.
"""

from __future__ import annotations

import contextlib
import functools
import glob
import sys

import numpy as np

from idscaling.id.base import KNN_METHODS, check_metric, unit_rows

__all__ = ["knn_distances"]

# Largest float32 block of the distance matrix held at once by the k-NN search (~64 MB).
_KNN_BLOCK_ELEMENTS = 16_000_000
_KNN_ROWS = 4096
# Largest float64 gather (points x neighbours x features) of the refinement / TLE steps
# (cache-sized chunks beat one large gather: BENCHMARKS.md, bench/id_internals.py).
_GATHER_ELEMENTS = 600_000
# Refined squared distances below this fraction of |a|^2 + |b|^2 (centred) are
# recomputed from coordinate differences: the Gram identity loses relative accuracy
# there, and exact duplicates must come out as exactly 0.
_GRAM_RECOMPUTE = 1e-6

# Rows of the last knn_distances(method="blas", "faiss" or "torch") call that had too many float32 candidates
# and were searched again in float64 (diagnostics and tests; with estimate_id's parallel
# batches, whichever batch finished last).
last_knn_fallback_rows = 0


def _search_points(X: np.ndarray, metric: str) -> np.ndarray:
    """float64 points whose Euclidean geometry gives the metric (cosine: unit rows)."""
    return unit_rows(X) if metric == "cosine" else np.asarray(X, dtype=np.float64)


def _to_metric(d2: np.ndarray, metric: str) -> np.ndarray:
    """Squared Euclidean distances of the search points -> distances in ``metric``.

    For unit vectors ``|a - b|^2 / 2 = 1 - cos(a, b)``: scikit-learn's cosine distance.
    """
    return np.sqrt(d2) if metric == "euclidean" else 0.5 * d2


def _sq_diff(P: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """``|P[rows[i]] - P[cols[i]]|^2`` from coordinate differences (1-D index arrays): the
    accurate form for close points, shared by every backend so that they agree on them."""
    diff = P[rows] - P[cols]
    return np.einsum("ij,ij->i", diff, diff)


def _exact_sq_dist(P: np.ndarray, Pc: np.ndarray, sq: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """float64 squared distances between P[rows[i]] and P[cols[i, j]].

    Gram identity on the centred points Pc (squared norms ``sq``); entries small against
    the norms (where it loses relative accuracy, and exact duplicates, which must give 0)
    are recomputed from coordinate differences of the *uncentred* points P: centring
    rounds, and could merge two rows that differ in their last digits.
    """
    n_rows, c = cols.shape
    out = np.empty((n_rows, c))
    step = max(1, _GATHER_ELEMENTS // max(1, c * Pc.shape[1]))
    for a in range(0, n_rows, step):
        r = rows[a : a + step]
        cc = cols[a : a + step]
        dots = np.matmul(Pc[cc], Pc[r][:, :, None])[:, :, 0]
        out[a : a + step] = sq[r][:, None] + sq[cc] - 2.0 * dots
    scale = sq[rows][:, None] + sq[cols]
    small = np.nonzero(out <= _GRAM_RECOMPUTE * scale)
    if small[0].size:
        out[small] = _sq_diff(P, rows[small[0]], cols[small])
    return out


def _candidates(M: np.ndarray, c: int) -> np.ndarray:
    """Columns of the c smallest entries per row (the diagonal holds +inf)."""
    n_cols = M.shape[1]
    if c >= n_cols - 1:  # every other point
        return np.argsort(M, axis=1)[:, : n_cols - 1]
    return np.argpartition(M, c, axis=1)[:, :c]


def _select(
    P: np.ndarray,
    Pc: np.ndarray,
    sq: np.ndarray,
    rows: np.ndarray,
    cand: np.ndarray,
    k: int,
    valid: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The k nearest of each row's candidates, by exact float64 distance (invalid ones excluded)."""
    d2 = np.maximum(_exact_sq_dist(P, Pc, sq, rows, cand), 0.0)
    if valid is not None:
        d2[~valid] = np.inf
    order = np.argsort(d2, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(d2, order, axis=1), np.take_along_axis(cand, order, axis=1)


def _within_bound(H: np.ndarray, rows: np.ndarray, k: int, slack: np.ndarray, cap: int):
    """Per row, every column whose float32 score is within ``slack`` of the k-th smallest.

    Returns (candidates, valid, ok): (r, w) padded column indices (padding: the row's own
    index, flagged invalid) and the rows whose candidate count fits in ``cap``.
    """
    kth = np.partition(H, k - 1, axis=1)[:, k - 1]
    # flatnonzero + divmod: several times faster than 2-D nonzero
    r_nz, c_nz = np.divmod(np.flatnonzero(H <= (kth + slack)[:, None]), H.shape[1])
    counts = np.bincount(r_nz, minlength=rows.size)
    ok = counts <= cap
    if not np.all(ok):
        keep = ok[r_nz]
        r_nz, c_nz = r_nz[keep], c_nz[keep]
        counts = np.where(ok, counts, 0)
    width = max(int(counts.max()), k) if counts.size else k
    starts = np.cumsum(counts) - counts
    pos = np.arange(r_nz.size) - starts[r_nz]
    cand = np.broadcast_to(rows[:, None], (rows.size, width)).copy()
    valid = np.zeros((rows.size, width), dtype=bool)
    cand[r_nz, pos] = c_nz
    valid[r_nz, pos] = True
    return cand, valid, ok


def _knn_blas(X: np.ndarray, k: int, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """Exact k-NN: float32 BLAS scores, float64 refinement of every candidate the float32
    rounding error cannot rule out (see below), float64 search for rows with too many."""
    global last_knn_fallback_rows
    P = _search_points(X, metric)
    n, dim = P.shape
    Pc = P - P.mean(axis=0)  # centring: the float32 error scales with the norms
    sq = np.einsum("ij,ij->i", Pc, Pc)
    A = Pc.astype(np.float32)
    half = np.float32(0.5) * np.einsum("ij,ij->i", A, A)  # float32 |a_j|^2 / 2 (exact halving)
    normA = np.sqrt(np.einsum("ij,ij->i", A, A, dtype=np.float64))
    # Score H_ij = fl(|a_j|^2/2 - a_i.a_j): for the true points, (|p_i - p_j|^2 - |a_i|^2) / 2
    # differs from H_ij by at most E_i / 2 with E_i bounding: rounding the centred points to
    # float32 (2u(|a_i|+|a_j|)^2), float32 dot products and norms (gamma_D |a_i||a_j| in any
    # summation order) and one subtraction; factors kept generous. A column j whose score
    # exceeds the row's k-th smallest score by more than E_i is then provably farther than k
    # other points: every other column is a candidate, refined exactly in float64.
    u = 2.0**-24
    gamma = dim * u / (1.0 - dim * u)
    slack = 1.01 * (gamma + 6.0 * u) * (normA + normA.max()) ** 2
    cap = min(n - 1, 2 * k + 8)
    dist = np.empty((n, k))
    idx = np.empty((n, k), dtype=np.int64)
    failed: list[np.ndarray] = []
    step = max(1, min(_KNN_ROWS, _KNN_BLOCK_ELEMENTS // n))
    for start in range(0, n, step):
        rows = np.arange(start, min(n, start + step))
        # A @ A.T is computed by numpy as one symmetric rank-k update (syrk): half the work
        H = A @ A.T if rows.size == n else A[rows] @ A.T
        np.subtract(half[None, :], H, out=H)
        H[np.arange(rows.size), rows] = np.inf
        cand, valid, ok = _within_bound(H, rows, k, slack[rows].astype(np.float32), cap)
        del H
        d2, nb = _select(P, Pc, sq, rows, cand, k, valid)
        dist[rows[ok]] = d2[ok]
        idx[rows[ok]] = nb[ok]
        if not np.all(ok):
            failed.append(rows[~ok])
    bad = np.concatenate(failed) if failed else np.empty(0, dtype=np.int64)
    last_knn_fallback_rows = int(bad.size)
    _search_float64(P, Pc, sq, bad, k, dist, idx)
    return _to_metric(dist, metric), idx


def _search_float64(
    P: np.ndarray, Pc: np.ndarray, sq: np.ndarray, bad: np.ndarray, k: int, dist: np.ndarray, idx: np.ndarray
) -> None:
    """Fill rows ``bad`` of (dist, idx) by a float64 ranking (the accuracy of scikit-learn's
    brute force) and the same exact refinement: the fallback of the float32 searches."""
    n = Pc.shape[0]
    c = min(n - 1, k + max(4, k // 4))
    step = max(1, min(_KNN_ROWS, _KNN_BLOCK_ELEMENTS // n))
    for start in range(0, bad.size, step):
        rows = bad[start : start + step]
        M = sq[None, :] - 2.0 * (Pc[rows] @ Pc.T)
        M[np.arange(rows.size), rows] = np.inf
        cand = _candidates(M, c)
        del M
        dist[rows], idx[rows] = _select(P, Pc, sq, rows, cand, k)


def import_faiss():
    try:
        import faiss
    except ImportError:
        raise ImportError("knn method 'faiss' needs the faiss-cpu package (pip install faiss-cpu==1.15.1)") from None
    return faiss


def _knn_faiss(X: np.ndarray, k: int, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """Exact k-NN through faiss's exact flat index: float32 ranking of k + margin candidates,
    float64 refinement, certificate, float64 search of the rows it cannot certify.

    Why it exists: it hands the float32 ranking (product and top-k selection, fused in C++
    and blocked) to a well-kept library instead of the hand-written selection of
    ``method="blas"``; same exactness guarantee, fewer float64 candidates (k + margin).
    Cosine uses ``IndexFlatL2`` on the centred unit rows rather than ``IndexFlatIP`` on the
    unit rows: the same ranking (|a - b|^2 = 2 - 2 cos), but centring shrinks the float32
    rounding error (it scales with the norms) and one certificate covers both metrics.
    On CPU, ``torch.mm`` + ``torch.topk`` (float32) was measured slower than this on a
    3,600 x 768 batch (BENCHMARKS.md), with the same exactness work; the
    ``"torch"`` method (:func:`_knn_torch`) is for a CUDA device.
    """
    faiss = import_faiss()
    P, Pc, sq, A, normA = _centred_float32(X, metric)
    n, dim = A.shape
    c = _ranked_width(n, k)
    index = faiss.IndexFlatL2(dim)
    index.add(A)
    D, ids = index.search(A, c)  # float32 squared distances, ascending; -1 only if c > n
    del index
    return _refine_ranked(P, Pc, sq, normA, D, ids, k, metric)


def _centred_float32(X: np.ndarray, metric: str):
    """(float64 search points, the same centred, their squared norms, the float32 copy, its
    norms): centring shrinks the float32 rounding error of the rankings (it scales with the
    norms)."""
    P = _search_points(X, metric)
    Pc = P - P.mean(axis=0)
    sq = np.einsum("ij,ij->i", Pc, Pc)
    A = np.ascontiguousarray(Pc, dtype=np.float32)
    normA = np.sqrt(np.einsum("ij,ij->i", A, A, dtype=np.float64))
    return P, Pc, sq, A, normA


def _ranked_width(n: int, k: int) -> int:
    """Results per row of the float32 rankings: k + margin, + 1 as the row itself may be one."""
    return min(n, k + max(4, k // 4) + 1)


def _refine_ranked(
    P: np.ndarray,
    Pc: np.ndarray,
    sq: np.ndarray,
    normA: np.ndarray,
    D: np.ndarray,
    ids: np.ndarray,
    k: int,
    metric: str,
) -> tuple[np.ndarray, np.ndarray]:
    """From a float32 ranking (D: squared distances of the float32 centred points, ascending per
    row; ids: their columns, -1 for none; a row's own index is ignored) to the exact k-NN: float64
    refinement of the candidates the float32 error cannot rule out, certificate, float64 search
    of the rows it cannot certify. D's float32 error must be within the bound below."""
    global last_knn_fallback_rows
    n, c = D.shape
    dim = Pc.shape[1]
    rows = np.arange(n)
    valid = (ids != rows[:, None]) & (ids >= 0)
    # Error bound. faiss's or torch's float32 squared distance (|a|^2 + |b|^2 - 2 a.b with BLAS, or
    # summed squared differences, any summation order) of the float32-rounded centred points differs
    # from the float64 one by at most (gamma_D + 5u)(|a_i| + |a_j|)^2 (rounding the points,
    # the dot product and norms, the additions): E_i below, with a factor 2 for generosity.
    u = 2.0**-24
    gamma = dim * u / (1.0 - dim * u)
    bound = 2.02 * (gamma + 6.0 * u) * (normA + normA.max()) ** 2
    D = D.astype(np.float64)
    # Only candidates within 2 E_i of the k-th valid float32 distance can be among the k nearest
    # (k others are provably nearer than the rest): refine those, a prefix of each sorted row.
    kth = np.partition(np.where(valid, D, np.inf), k - 1, axis=1)[:, k - 1]
    valid &= D <= (kth + 2.0 * bound)[:, None]
    width = max(k, int(np.max(np.flatnonzero(valid.any(axis=0)), initial=0)) + 1)
    valid = valid[:, :width]
    cand = np.where(valid, ids[:, :width], rows[:, None]).astype(np.int64)
    dist, idx = _select(P, Pc, sq, rows, cand, k, valid)
    # Certificate: a point that the ranking did not return has a float32 distance >= D[:, -1], so a
    # true one >= D[:, -1] - E_i; if the exact k-th distance found is no larger, no point left
    # out can be nearer. Rows that fail are searched again in float64.
    if c < n:
        bad = np.flatnonzero(~(dist[:, -1] <= D[:, -1] - bound))
    else:  # every other point was a candidate
        bad = np.empty(0, dtype=np.int64)
    last_knn_fallback_rows = int(bad.size)
    _search_float64(P, Pc, sq, bad, k, dist, idx)
    return _to_metric(dist, metric), idx


def _torch_device():
    import torch

    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@contextlib.contextmanager
def ieee_float32_matmul():
    """Full float32 matmuls (no TF32 on the GPU, no bf16 on oneDNN) inside: the rounding-error
    bound of the certificate assumes them. Only settings that are not already IEEE are touched
    (and restored), through torch's per-backend ``fp32_precision``."""
    import torch

    default = getattr(torch.backends, "fp32_precision", "none")
    changed = {}
    for backend in (torch.backends.cuda.matmul, torch.backends.mkldnn.matmul):
        value = backend.fp32_precision
        if (default if value == "none" else value) not in ("ieee", "none"):
            changed[backend] = value
            backend.fp32_precision = "ieee"
    try:
        yield
    finally:
        for backend, value in changed.items():
            backend.fp32_precision = value


def _knn_torch(X: np.ndarray, k: int, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """Exact k-NN with the float32 ranking on the torch device (CUDA when available, else CPU):
    blocks of rows, squared distances |a_i|^2 + |a_j|^2 - 2 a_i.a_j from one float32 matmul
    against all points, ``torch.topk`` of the k + margin smallest; then on the host the float64
    refinement, certificate and float64 fallback of ``method="faiss"`` (:func:`_refine_ranked`).
    Only the (n, k + margin) ranking comes back from the device."""
    import torch

    P, Pc, sq, A, normA = _centred_float32(X, metric)
    n = A.shape[0]
    c = _ranked_width(n, k)
    device = _torch_device()
    step = max(1, min(_KNN_ROWS, _KNN_BLOCK_ELEMENTS // n))
    with torch.inference_mode(), ieee_float32_matmul():
        At = torch.from_numpy(A).to(device)
        norms = (At * At).sum(dim=1)
        D, ids = [], []
        for start in range(0, n, step):
            stop = min(n, start + step)
            S = (norms[start:stop, None] + norms[None, :]) - 2.0 * (At[start:stop] @ At.T)
            S[torch.arange(stop - start, device=device), torch.arange(start, stop, device=device)] = torch.inf
            d, i = torch.topk(S, c, dim=1, largest=False, sorted=True)
            D.append(d)
            ids.append(i)
            del S
        D = torch.cat(D).cpu().numpy()
        ids = torch.cat(ids).cpu().numpy()
    return _refine_ranked(P, Pc, sq, normA, D, ids, k, metric)


def _knn_sklearn(X: np.ndarray, k: int, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's ``NearestNeighbors`` (float64) ranks; the k distances found are then
    recomputed from coordinate differences and the rows re-sorted.

    Why: its brute force uses ``|a|^2 + |b|^2 - 2ab`` (cosine: ``1 - a.b``), which leaves
    ~1e-8 (cosine ~1e-16) where a distance is 0 and loses the relative precision of close
    pairs, so that rows differing only by rounding came out at exactly 0 here but not in the
    other backends. Cosine is ranked as the Euclidean distance of the unit rows (the same
    order) with brute force, as before.
    """
    from sklearn.neighbors import NearestNeighbors

    P = _search_points(X, metric)
    algorithm = "brute" if metric == "cosine" else "auto"
    nn = NearestNeighbors(n_neighbors=k, metric="euclidean", algorithm=algorithm).fit(P)
    # kneighbors() without X excludes each query point from its own neighbours.
    idx = nn.kneighbors(return_distance=False)
    d2 = np.empty(idx.shape)
    step = max(1, _GATHER_ELEMENTS // (k * P.shape[1]))
    for a in range(0, len(P), step):
        nb = idx[a : a + step]
        rows = np.repeat(np.arange(a, a + len(nb)), k)
        d2[a : a + step] = _sq_diff(P, rows, nb.ravel()).reshape(nb.shape)
    order = np.argsort(d2, axis=1, kind="stable")
    d2, idx = np.take_along_axis(d2, order, 1), np.take_along_axis(idx, order, 1)
    return _to_metric(d2, metric), idx.astype(np.int64, copy=False)


def knn_distances(X: np.ndarray, k: int, metric: str, method: str = "auto") -> tuple[np.ndarray, np.ndarray]:
    """Sorted distances and indices of the k nearest *other* rows of ``X`` (exact).

    Parameters
    ----------
    X : (n, D) array, n > k; for ``"cosine"`` no all-zero rows.
    k : int
    metric : {"euclidean", "cosine"}
        ``"cosine"`` is scikit-learn's ``1 - cos``, computed as ``|u - v|^2 / 2`` of the unit
        rows (from coordinate differences where small: accurate for close pairs, exactly 0
        only for rows that are equal after L2 normalisation).
    method : {"auto", "sklearn", "blas", "faiss", "torch"}
        ``"auto"`` (the default): ``"torch"`` when PyTorch sees a CUDA device, else
        ``"sklearn"``. ``"sklearn"``: scikit-learn's
        ``NearestNeighbors`` in float64 (brute force for cosine), the well-kept
        library route and the reference. ``"blas"`` (opt-in): float32 BLAS scores
        with float64 refinement of every candidate the float32 rounding error cannot
        rule out (see the module docstring); it exists because numpy computes a
        batch's Gram matrix as a symmetric product (half the float32 work of a
        general one), faster than sklearn on 768-wide embeddings (BENCHMARKS.md).
        ``"faiss"`` (opt-in, needs ``faiss-cpu``): faiss's exact ``IndexFlatL2``
        ranks k + margin candidates in float32, refined and certified the same way
        (see :func:`_knn_faiss`); it exists as the library-backed fast route.
        ``"torch"``: float32 matmul + ``topk`` ranking on the GPU (CPU without one),
        refined and certified as ``"faiss"`` (see :func:`_knn_torch`). All
        are exact; they can differ only in the order of tied neighbours and in the
        last float64 digits.

    Returns
    -------
    distances : (n, k) float64, ascending per row
    indices : (n, k) int64
    """
    check_metric(metric)
    if method not in KNN_METHODS:
        raise ValueError(f"method must be one of {KNN_METHODS}, got {method!r}")
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[0] <= k:
        raise ValueError(f"need a 2-D array with more than k={k} rows, got shape {X.shape}")
    method = resolve_knn_method(method)
    if method == "blas":
        return _knn_blas(X, k, metric)
    if method == "faiss":
        return _knn_faiss(X, k, metric)
    if method == "torch":
        return _knn_torch(X, k, metric)
    return _knn_sklearn(X, k, metric)


@functools.lru_cache(maxsize=1)
def _cuda_available() -> bool:
    """Whether PyTorch sees a CUDA device. Without an NVIDIA device file torch is not imported
    (that alone takes longer than many ID jobs' work: BENCHMARKS.md)."""
    if "torch" not in sys.modules and not glob.glob("/dev/nvidia[0-9]*"):
        return False
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def resolve_knn_method(method: str) -> str:
    """``"auto"``: ``"torch"`` with a CUDA device, else ``"sklearn"``; other names unchanged."""
    if method != "auto":
        return method
    return "torch" if _cuda_available() else "sklearn"


def neighbour_pair_distances(X: np.ndarray, idx: np.ndarray, metric: str) -> np.ndarray:
    """(n, k, k) distances between the neighbours of each point, in ``metric``."""
    P = _search_points(X, metric)
    n, k = idx.shape
    out = np.empty((n, k, k))
    step = max(1, _GATHER_ELEMENTS // (k * P.shape[1]))
    diag = np.arange(k)
    for a in range(0, n, step):
        nb = idx[a : a + step]
        Y = P[nb] - P[a : a + step][:, None, :]  # neighbours relative to their centre point
        G = np.matmul(Y, Y.transpose(0, 2, 1))
        g = G[:, diag, diag]
        d2 = g[:, :, None] + g[:, None, :] - 2.0 * G
        small = np.nonzero(d2 <= _GRAM_RECOMPUTE * (g[:, :, None] + g[:, None, :]))
        if small[0].size:
            d2[small] = _sq_diff(P, nb[small[0], small[1]], nb[small[0], small[2]])
        d2 = np.maximum(d2, 0.0)
        d2[:, diag, diag] = 0.0
        out[a : a + step] = d2
    return _to_metric(out, metric)
