"""Tests of idscaling.id_protocols: the point sets the ID is estimated on."""

from __future__ import annotations

import json

import numpy as np
import pytest

from idscaling.id.protocols import (
    PointSetInputs,
    centre_by_token,
    protocol_ids,
    protocol_point_sets,
    token_ids_at,
)
from idscaling.id.registry import PROTOCOLS
from idscaling.latent.words import completed_words, document_word_ids, oracle_positions
from idscaling.report.tables import id_protocols_table

SETTINGS = {
    "estimator": "mle",
    "k": 20,
    "metric": "cosine",
    "comb": "mle",
    "batch_size": 3600,
    "n_bootstrap": 50,
    "ci_level": 0.95,
    "seed": 0,
    "discard_fraction": 0.1,
}


def test_centre_by_token_subtracts_each_tokens_mean_and_drops_singletons() -> None:
    X = np.array([[1.0, 0.0], [3.0, 2.0], [10.0, 10.0], [5.0, 5.0], [7.0, 9.0], [4.0, 4.0], [4.0, 4.0]])
    tokens = np.array([4, 4, 9, 2, 2, 6, 6])  # token 9: once; token 6: twice the same state
    Xc, keep = centre_by_token(X, tokens)
    np.testing.assert_array_equal(keep, [True, True, False, True, True, False, False])
    np.testing.assert_allclose(Xc, [[-1.0, -1.0], [1.0, 1.0], [-1.0, -2.0], [1.0, 2.0]])
    with pytest.raises(ValueError, match="min_token_count"):
        centre_by_token(X, tokens, min_token_count=1)
    with pytest.raises(ValueError, match="7 points but 4 token ids"):
        centre_by_token(X, tokens[:4])


def test_token_ids_and_oracle_positions_follow_the_embedding_positions() -> None:
    # two documents of 5 and 3 tokens plus end-of-text (id 0); windows of 4 tokens
    tokens = np.array([11, 12, 13, 14, 15, 0, 21, 22, 23, 0])
    doc_starts = np.array([0, 6])
    positions = np.array([[0, 0, 2], [0, 4, 0], [1, 6, 1], [0, 0, 0]])  # (document, window start, position)
    np.testing.assert_array_equal(token_ids_at(tokens, positions), [13, 15, 22, 11])
    # document 0 = "ki lo me sa" read as tokens "ki", "lo", " me", "s", "a"; document 1 = "ba be bi"
    completed = [
        completed_words(["ki", "lo", " me", "s", "a"], "kilo mesa"),
        completed_words(["ba", " be", " bi"], "ba be bi"),
    ]
    np.testing.assert_array_equal(completed[0], [0, 1, 1, 1, 2])
    np.testing.assert_array_equal(completed[1], [1, 2, 3])
    # the state at a token matches the predictive after its completed words (t = completed - 1)
    np.testing.assert_array_equal(oracle_positions(positions, doc_starts, completed), [[0, 0], [0, 1], [1, 1], [0, -1]])


def test_completed_words_edge_cases() -> None:
    np.testing.assert_array_equal(completed_words(["kilo", " ", "mesa"], "kilo mesa"), [1, 1, 2])  # a lone space
    np.testing.assert_array_equal(completed_words(["kilo ", "me", "sa"], "kilo mesa"), [1, 1, 2])  # trailing space
    with pytest.raises(ValueError, match="do not spell"):
        completed_words(["kilo"], "kilo mesa")


def test_document_word_ids() -> None:
    vocab = ["baba", "kilo", "mesa"]
    docs = document_word_ids(["kilo baba", "mesa"], vocab)
    assert [d.tolist() for d in docs] == [[1, 0], [2]]
    with pytest.raises(ValueError, match="'nope' is not a word"):
        document_word_ids(["kilo nope"], vocab)


def _clustered_states(k: int, n_tokens: int, n: int, offset: float, seed: int):
    """Points f(z) + offset * e(token): a k-dimensional smooth manifold (random features of the
    document latent z) shifted by a large per-token vector, the structure that makes token-level
    neighbourhoods measure token clusters instead of the manifold."""
    rng = np.random.default_rng(seed)
    z = rng.random((n, k))
    W = rng.standard_normal((32, k))
    b = rng.random(32) * 2 * np.pi
    f = np.cos(z @ W.T + b)
    tokens = rng.integers(0, n_tokens, size=n)
    e = rng.standard_normal((n_tokens, 32))
    return f + offset * e[tokens], tokens


def test_token_centring_recovers_the_manifold_that_token_clusters_hide() -> None:
    # the pipeline's proportions: 20,000 points of 256 tokens (78 each), batches of 3,600
    X, tokens = _clustered_states(k=3, n_tokens=256, n=20000, offset=3.0, seed=0)
    sets = protocol_point_sets(["token", "token_centred"], PointSetInputs(final=X, token_ids=tokens))
    rows = {r["protocol"]: r for r in protocol_ids(sets, ["euclidean"], SETTINGS)}
    # ~14 points per token in a batch: the 20 neighbours straddle clusters and the estimate collapses
    # (measured 0.84) ...
    assert rows["token"]["dimension"] < 0.5 * 3
    # ... while the residuals lie near the 3-dimensional set f(z), shifted per token by the error of
    # a 78-point mean, which inflates the estimate a little (measured 3.54)
    assert rows["token_centred"]["dimension"] == pytest.approx(3.0, rel=0.25)
    assert rows["token_centred"]["n_points"] == int(np.isin(tokens, np.flatnonzero(np.bincount(tokens) >= 2)).sum())


def test_protocol_ids_report_sets_too_small_for_the_estimator() -> None:
    rng = np.random.default_rng(1)
    sets = protocol_point_sets(
        ["sequence_mean", "sequence_last"],
        PointSetInputs(window_mean=rng.standard_normal((500, 5)), window_last=rng.standard_normal((10, 5))),
    )
    rows = protocol_ids(sets, ["cosine", "euclidean"], SETTINGS)
    assert [(r["protocol"], r["metric"]) for r in rows] == [
        ("sequence_mean", "cosine"),
        ("sequence_mean", "euclidean"),
        ("sequence_last", "cosine"),
        ("sequence_last", "euclidean"),
    ]
    assert rows[1]["dimension"] == pytest.approx(5.0, rel=0.15)  # a 5-D Gaussian cloud
    assert np.isnan(rows[2]["dimension"]) and "k=20" in rows[2]["note"]


def test_point_sets_refuse_unknown_or_missing_inputs() -> None:
    with pytest.raises(ValueError, match="unknown ID protocol"):
        protocol_point_sets(["tokens"], PointSetInputs(final=np.zeros((3, 2))))
    with pytest.raises(ValueError, match="'oracle': its input points were not given"):
        protocol_point_sets(["oracle"], PointSetInputs(final=np.zeros((3, 2))))
    with pytest.raises(ValueError, match="token id of every point"):
        protocol_point_sets(["token_centred"], PointSetInputs(final=np.zeros((3, 2))))


def test_table_has_one_row_per_protocol_and_metric_in_protocol_order(tmp_path) -> None:
    paths = []
    for seed in (1, 0):
        rows = [
            {
                "protocol": p,
                "metric": m,
                "n_points": 10,
                "dimension": 1.0 + seed,
                "ci_low": 0.5,
                "ci_high": 2.5,
                "estimator": "mle",
                "k": 5,
                "comb": "mle",
                "n_batches": 1,
                "note": "",
            }
            for p in reversed(PROTOCOLS)
            for m in ("euclidean", "cosine")
        ]
        path = tmp_path / f"s{seed}.json"
        path.write_text(json.dumps({"dataset": "d", "model": "w", "n_tokens": 100, "seed": seed, "protocols": rows}))
        paths.append(path)
    t = id_protocols_table(paths)
    assert len(t) == 2 * len(PROTOCOLS) * 2
    first = t[t["seed"] == 0]
    assert list(first["protocol"].iloc[::2]) == list(PROTOCOLS)
    assert list(first["metric"].iloc[:2]) == ["cosine", "euclidean"]
    assert set(t.loc[t["seed"] == 1, "id"]) == {2.0}


def test_protocol_ids_carry_the_gride_scale_curve_of_the_same_points() -> None:
    X = np.random.default_rng(2).standard_normal((3000, 4))  # a 4-D Gaussian cloud
    rows = protocol_ids({"sequence_mean": (X, "")}, ["euclidean"], SETTINGS, scale_range_max=16)
    curve = rows[0]["scale_curve"]
    assert [c["n1"] for c in curve] == [1, 2, 4, 8] and [c["n2"] for c in curve] == [2, 4, 8, 16]
    assert curve[0]["dimension"] == pytest.approx(4.0, rel=0.15)
    assert all(a["scale"] < b["scale"] for a, b in zip(curve, curve[1:]))  # farther neighbours, larger scale
    assert (
        protocol_ids({"sequence_mean": (X, "")}, ["euclidean"], SETTINGS, scale_range_max=None)[0]["scale_curve"] == []
    )


def test_scale_table_and_figure(tmp_path) -> None:
    from idscaling.report.figures import id_scale as fig_id_scale
    from idscaling.report.tables import id_scale_table

    curve = [
        {"n1": n, "n2": 2 * n, "dimension": 3.0 - 0.5 * i, "error": 0.1, "scale": 0.1 * (i + 1), "n_ratios": 900}
        for i, n in enumerate([1, 2, 4])
    ]
    rows = [
        {
            "protocol": p,
            "metric": "euclidean",
            "n_points": 900,
            "dimension": 2.0,
            "ci_low": 1.9,
            "ci_high": 2.1,
            "note": "",
            "scale_curve": curve,
        }
        for p in ("oracle", "token")
    ]
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"dataset": "d", "model": "w", "n_tokens": 100, "seed": 0, "protocols": rows}))
    t = id_scale_table([path])
    assert list(t["protocol"]) == ["token"] * 3 + ["oracle"] * 3 and list(t["n1"][:3]) == [1, 2, 4]
    assert list(t["id"][:3]) == [3.0, 2.5, 2.0] and (t["id_error"] == 0.1).all()
    fig = fig_id_scale.id_scale_figure(t)
    (line,) = [
        ln for ax in fig.axes for ln in ax.get_lines() if ln.get_gid() == f"{fig_id_scale.ID_SCALE_GID}:token:euclidean"
    ]
    np.testing.assert_array_equal(line.get_xdata(), [1, 2, 4])
    np.testing.assert_array_equal(line.get_ydata(), [3.0, 2.5, 2.0])
    fig_id_scale.plot_id_scale(t, tmp_path / "s.png")
    assert (tmp_path / "s.png").stat().st_size > 10_000


def test_oracle_points_take_whole_documents_in_order_until_max_points() -> None:
    from idscaling.latent.oracle_points import oracle_points
    from idscaling.latent.teachers import teacher_for_source

    teacher = teacher_for_source({"kind": "latent", "k": 1, "vocab": 16, "n_features": 2})
    docs = [np.arange(6) % 16 for _ in range(3)]
    points = np.array([[2, 3], [2, -1], [0, 1], [1, 0], [1, 2], [1, 4]])  # (document, last complete word)
    X, info = oracle_points(teacher, docs, points, max_points=3)
    # documents 2 (two points) and 0 (one) reach 3 points; document 1 is not needed
    assert info["n_documents"] == 2 and info["n_before_first_word"] == 1 and X.shape == (2, 16)
    np.testing.assert_allclose((X**2).sum(axis=1), 1.0)  # sqrt of distributions


def test_window_oracle_conditions_on_the_words_completed_inside_each_window() -> None:
    from idscaling.latent.oracle import oracle_predictives
    from idscaling.latent.oracle_points import window_oracle_points
    from idscaling.latent.teachers import teacher_for_source

    teacher = teacher_for_source({"kind": "latent", "k": 2, "vocab": 16, "n_features": 4})
    documents = [np.array([3, 5, 7, 9, 11, 13]), np.array([2, 4, 6])]
    # document 0: word 1 is two tokens (positions 1-2), every other word one; then end-of-text.
    completed = [np.array([1, 1, 2, 3, 4, 5, 6, 6]), np.array([1, 2, 3, 3])]
    doc_starts = np.array([100, 108])
    windows = np.array(
        [
            [0, 100, 3],  # tokens 0-2: words 0, 1
            [0, 102, 4],  # tokens 2-5: word 1 (completed here), 2, 3, 4
            [1, 108, 1],  # token 0: word 0
            [1, 109, 2],
        ]
    )  # tokens 1-2: words 1, 2
    X, info = window_oracle_points(teacher, documents, windows, doc_starts, completed, max_points=3, seed=4)
    contexts = [documents[0][0:2], documents[0][1:5], documents[1][0:1]]  # the first 3 windows only
    rows = np.array([(i, len(c) - 1) for i, c in enumerate(contexts)])
    expected, _ = oracle_predictives(teacher, contexts, rows, seed=4)
    np.testing.assert_array_equal(X, np.sqrt(expected))
    assert info["n_windows"] == 3 and info["n_without_a_word"] == 0 and info["words_median"] == 2
    # a window whose only token ends no word contributes no point
    X, info = window_oracle_points(
        teacher, documents, np.array([[0, 101, 1], [1, 108, 3]]), doc_starts, completed, max_points=10
    )
    assert X.shape == (1, 16) and info["n_without_a_word"] == 1
