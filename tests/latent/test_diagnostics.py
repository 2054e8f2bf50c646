"""Tests of idscaling.latent_diagnostics: latents of the documents, word losses, the probe, the Bayes loss."""

from __future__ import annotations

import numpy as np
import pytest

from idscaling.latent.diagnostics import (
    bayes_word_losses,
    document_latents,
    loss_gap_by_position,
    probe_r2,
    token_words,
    word_losses,
)
from idscaling.latent.documents import generate_documents, pseudo_words, teacher_entropy
from idscaling.latent.teachers import teacher_for_source

SOURCE = {"kind": "latent", "k": 3, "n_documents": 60, "document_tokens": 200, "vocab": 64, "n_features": 8, "seed": 4}


HOLDER = {
    "kind": "latent",
    "teacher": "holder",
    "k": 3,
    "n_documents": 60,
    "document_tokens": 200,
    "vocab": 64,
    "channels": 8,
    "octaves": 4,
    "features_per_octave": 16,
    "seed": 4,
}


@pytest.mark.parametrize("source", [SOURCE, HOLDER], ids=["features", "holder"])
def test_document_latents_are_the_latents_the_documents_were_drawn_from(source) -> None:
    from idscaling.corpus.sources import iter_documents

    teacher = teacher_for_source(source)
    index = {w: i for i, w in enumerate(pseudo_words(64))}
    docs = [np.array([index[w] for w in text.split(" ")]) for text in iter_documents(source)]
    z = document_latents(source, np.arange(60))
    log_p = np.log(teacher.probs(z))  # (latents, vocab)
    loglik = np.stack([log_p[:, d].sum(axis=1) for d in docs])  # (documents, latents)
    # 200 words identify their own latent: it explains each document far better than the others'
    assert (np.argmax(loglik, axis=1) == np.arange(60)).mean() > 0.9
    np.testing.assert_array_equal(document_latents(source, [7, 2]), z[[7, 2]])


def test_word_losses_sum_the_tokens_of_each_word() -> None:
    # "kilo mesa ba": tokens "ki", "lo", " me", "sa", " ba" -> completed words 0, 1, 1, 2, 3
    owner = token_words(np.array([0, 1, 1, 2, 3]))
    np.testing.assert_array_equal(owner, [0, 0, 1, 1, 2])
    nll = np.array([np.nan, 0.5, 1.0, 0.25, 2.0])
    np.testing.assert_allclose(word_losses(nll, owner, 3), [np.nan, 1.25, 2.0])


def test_loss_gap_by_position_averages_where_both_exist() -> None:
    model = [np.array([np.nan, 3.0, 2.0]), np.array([np.nan, 5.0])]
    bayes = [np.array([np.nan, 2.0, 1.5]), np.array([np.nan, 2.0])]
    rows = loss_gap_by_position(model, bayes)
    assert [r["position"] for r in rows] == [1, 2]
    assert rows[0] == {"position": 1, "model_loss": 4.0, "bayes_loss": 2.0, "gap": 2.0, "n_documents": 2}
    assert rows[1]["gap"] == 0.5 and rows[1]["n_documents"] == 1


def test_probe_r2_sees_linear_information_and_nothing_else() -> None:
    rng = np.random.default_rng(0)
    z = rng.random((600, 3))
    groups = np.repeat(np.arange(100), 6)
    z = z[groups * 6]  # six states per document share its z
    A = rng.standard_normal((3, 20))
    states = z @ A + 0.05 * rng.standard_normal((600, 20))
    assert probe_r2(states, z, groups) > 0.95
    assert probe_r2(rng.standard_normal((600, 20)), z, groups) < 0.05
    with pytest.raises(ValueError, match="at least 2 documents"):
        probe_r2(states[:6], z[:6], groups[:6])


def test_bayes_loss_lies_between_the_oracle_and_the_prior_predictive() -> None:
    teacher = teacher_for_source(SOURCE)
    settings = {k: v for k, v in SOURCE.items() if k != "kind"} | {"n_documents": 12, "document_tokens": 64}
    index = {w: i for i, w in enumerate(pseudo_words(64))}
    losses = np.array(
        [
            bayes_word_losses(teacher, np.array([index[w] for w in t.split(" ")]), seed=i)
            for i, t in enumerate(generate_documents(**settings))
        ]
    )
    assert np.isnan(losses[:, 0]).all()
    late = losses[:, 32:].mean()
    early = losses[:, 1:4].mean()
    p_prior = teacher.probs(np.random.default_rng(0).random((20000, 3))).mean(axis=0)
    prior_entropy = -(p_prior * np.log(p_prior)).sum()
    # knowing more words helps: late words cost less than the first ones, and no less than an
    # oracle that knows z (up to the sampling noise of 12 documents x 32 words)
    assert late < early
    assert teacher_entropy(teacher) - 0.15 < late < prior_entropy
