"""Tests of the latent-teacher corpus generator (idscaling.latent): its documents, and that the
family of document distributions really has the dimension k it is built to have."""

from __future__ import annotations

import numpy as np
import pytest

from idscaling.corpus.sources import CorpusError, is_synthetic, iter_documents
from idscaling.id.mle import MLE
from idscaling.latent import documents as latent_documents
from idscaling.latent import teachers as latent
from idscaling.latent.documents import (
    generate_documents,
    pseudo_words,
    source_points,
    teacher_entropy,
)
from idscaling.latent.features import FEATURES_DEFAULTS, FeaturesTeacher


def test_module_is_labelled_synthetic() -> None:
    assert "SYNTHETIC" in (latent_documents.__doc__ or "")
    assert is_synthetic({"kind": "latent", "k": 3})


def test_pseudo_words_are_distinct_and_fixed() -> None:
    words = pseudo_words(256)
    assert len(set(words)) == 256 and all(len(w) == 4 and w.isalpha() for w in words)
    assert pseudo_words(10) == words[:10]  # the same vocabulary whatever its size
    with pytest.raises(ValueError, match="vocab"):
        pseudo_words(5000)


def test_documents_are_deterministic_and_prefix_stable() -> None:
    a = list(generate_documents(3, n_documents=20, document_tokens=50, seed=7))
    assert a == list(generate_documents(3, n_documents=20, document_tokens=50, seed=7))
    assert a[:5] == list(generate_documents(3, n_documents=5, document_tokens=50, seed=7))
    assert a != list(generate_documents(3, n_documents=20, document_tokens=50, seed=8))
    vocab = set(pseudo_words(256))
    for doc in a:
        words = doc.split(" ")
        assert len(words) == 50 and set(words) <= vocab


def test_teacher_structure_and_checks() -> None:
    t = FeaturesTeacher.from_seed(4, vocab=100, n_features=12, seed=1)
    assert t.frequencies.shape == (12, 4) and t.weights.shape == (100, 16)
    z = np.random.default_rng(0).random((2000, 4))
    psi = t.features(z)
    np.testing.assert_allclose(psi[:, :4], np.sqrt(12) * (z - 0.5))  # the affine copy of z
    assert psi[:, :4].var(axis=0) == pytest.approx(np.ones(4), abs=0.16)  # 5 SE of a variance, n = 2,000
    assert np.all(np.abs(psi[:, 4:]) <= np.sqrt(2))
    p = t.probs(z)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(t.logits(z), t.logit_scale * psi @ t.weights.T / 4.0)  # sqrt(k + m) = 4
    with pytest.raises(ValueError, match="k \\+ n_features \\+ 1 = 23"):
        FeaturesTeacher.from_seed(2, vocab=20, n_features=20)
    with pytest.raises(ValueError, match="logit_scale"):
        FeaturesTeacher.from_seed(2, logit_scale=0.0)


@pytest.mark.parametrize("k", [1, 2, 4, 8])
def test_distribution_family_has_dimension_k(k: int) -> None:
    """The map z -> p(.|z) has Jacobian rank k wherever we look, and the Levina-Bickel MLE of the
    set of distributions recovers k. Tolerance 10%: on 3,600 points with 20 neighbours the MLE is
    within ~5% of d <= 8 here (measured 1.97, 3.86, 7.62 for k = 2, 4, 8) and on skdim's benchmark
    manifolds of that dimension (test_intrinsic_dim); curvature and the cube's boundary bias it down."""
    t = FeaturesTeacher.from_seed(k, seed=3)
    rng = np.random.default_rng(0)
    eps = 1e-6
    for z in rng.random((20, k)):
        base = np.sqrt(t.probs(z[None]))[0]
        jac = np.stack([(np.sqrt(t.probs((z + eps * e)[None]))[0] - base) / eps for e in np.eye(k)], axis=1)
        s = np.linalg.svd(jac, compute_uv=False)
        assert s.min() > 1e-2 * s.max()  # rank k: an immersion at every sampled point
    d = MLE(k=20, metric="euclidean").fit(source_points(t, 3600, seed=1)).dimension_
    assert d == pytest.approx(k, rel=0.1)


def test_a_16_dimensional_source_is_not_2_dimensional() -> None:
    # Monotone in k even where the MLE underestimates (16 dimensions from 3,600 points).
    ids = [
        MLE(k=20, metric="euclidean").fit(source_points(FeaturesTeacher.from_seed(k), 3600)).dimension_
        for k in (2, 4, 8, 16)
    ]
    assert np.all(np.diff(ids) > 1.0) and ids[-1] > 10


def test_distinct_latents_give_distinct_distributions() -> None:
    """Injectivity, checked on samples: the Hellinger distance between two documents'
    distributions is bounded below by a multiple of their latent distance (a bi-Lipschitz lower
    bound, which folding would break: two far latents mapped close together)."""
    t = FeaturesTeacher.from_seed(3, seed=0)
    z = np.random.default_rng(2).random((500, 3))
    h = source_points_at(t, z)
    dh = np.linalg.norm(h[:, None] - h[None], axis=-1)
    dz = np.linalg.norm(z[:, None] - z[None], axis=-1)
    far = dz > 0.2
    ratio = dh[far] / dz[far]
    assert ratio.min() > 0.1 * np.median(ratio)


def source_points_at(t: FeaturesTeacher, z: np.ndarray) -> np.ndarray:
    return np.sqrt(t.probs(z))


def test_word_frequencies_follow_the_teacher() -> None:
    p = np.array([0.5, 0.3, 0.15, 0.05])
    draws = latent_documents.sample_categorical(p, 200_000, np.random.default_rng(0))
    freq = np.bincount(draws, minlength=4) / draws.size
    # 5 binomial standard errors
    assert np.all(np.abs(freq - p) < 5 * np.sqrt(p * (1 - p) / draws.size))


def test_teacher_entropy_between_zero_and_log_vocab() -> None:
    cold = teacher_entropy(FeaturesTeacher.from_seed(2, logit_scale=8.0))
    warm = teacher_entropy(FeaturesTeacher.from_seed(2, logit_scale=1.0))
    assert 0 < cold < warm < np.log(256)


def test_latent_corpus_source() -> None:
    docs = list(iter_documents({"kind": "latent", "k": 2, "n_documents": 7, "document_tokens": 9}))
    assert len(docs) == 7 and all(len(d.split()) == 9 for d in docs)
    assert docs == list(generate_documents(2, n_documents=7, document_tokens=9))
    assert len(list(iter_documents({"kind": "latent", "k": 2, "max_documents": 3}))) == 3
    with pytest.raises(CorpusError, match="latent source: vocab must be >= k \\+ n_features \\+ 1 = 35"):
        iter_documents({"kind": "latent", "k": 2, "vocab": 30})
    with pytest.raises(CorpusError, match="'k'"):
        iter_documents({"kind": "latent"})


# --------------------------------------------------------------------------- teacher choice

# sha256 of "\n".join(documents) from the features teacher as it was before the `teacher` key
# existed (commit 6691b04): existing latent corpora must come out byte-identical.
_FROZEN = {
    "default k=2": ({"k": 2}, "c9e3b359d83eb6f00c9dbe9652e734af2774affa1e243946f51d3f4320e8f484"),
    "custom k=5": (
        {
            "k": 5,
            "n_documents": 300,
            "document_tokens": 64,
            "vocab": 100,
            "n_features": 12,
            "frequency_scale": 1.0,
            "logit_scale": 2.0,
            "seed": 3,
        },
        "9cfc098ac429e7f57adc141df91b179bb35423d9d2ead8e470fab3cbee2f0f61",
    ),
}


@pytest.mark.parametrize("name", sorted(_FROZEN))
def test_features_teacher_documents_are_byte_identical_to_before(name: str) -> None:
    import hashlib

    settings, digest = _FROZEN[name]

    def sha(docs) -> str:
        return hashlib.sha256("\n".join(docs).encode()).hexdigest()

    assert sha(generate_documents(**settings)) == digest
    assert sha(iter_documents({"kind": "latent", **settings})) == digest
    assert sha(iter_documents({"kind": "latent", "teacher": "features", **settings})) == digest


def test_latent_settings_fill_the_named_teachers_keys() -> None:
    from idscaling.latent.holder import HOLDER_DEFAULTS
    from idscaling.latent.teachers import LatentSourceError, latent_settings

    features = latent_settings({"kind": "latent", "k": 3})
    assert features == {"k": 3, "teacher": "features"} | latent.DOCUMENT_DEFAULTS | FEATURES_DEFAULTS
    holder = latent_settings({"kind": "latent", "k": 3, "teacher": "holder", "smoothness": 0.8})
    assert holder["teacher"] == "holder" and holder["smoothness"] == 0.8 and "n_features" not in holder
    assert {k: holder[k] for k in HOLDER_DEFAULTS if k != "smoothness"} == {
        k: v for k, v in HOLDER_DEFAULTS.items() if k != "smoothness"
    }
    assert holder["document_tokens"] == latent.DOCUMENT_DEFAULTS["document_tokens"]
    with pytest.raises(LatentSourceError, match="'n_features' is not a key of the 'holder' teacher"):
        latent_settings({"kind": "latent", "k": 3, "teacher": "holder", "n_features": 4})
    with pytest.raises(LatentSourceError, match="'octaves', 'smoothness' is not a key of the 'features' teacher"):
        latent_settings({"kind": "latent", "k": 3, "smoothness": 1.0, "octaves": 3})
    with pytest.raises(LatentSourceError, match="teacher must be one of features, holder, got 'gp'"):
        latent_settings({"kind": "latent", "k": 3, "teacher": "gp"})


def test_teacher_from_settings_builds_the_named_teacher() -> None:
    from idscaling.latent.holder import HolderTeacher
    from idscaling.latent.teachers import latent_settings

    t = latent.teacher_from_settings(latent_settings({"kind": "latent", "k": 2, "seed": 4}))
    ref = FeaturesTeacher.from_seed(2, seed=4)
    assert isinstance(t, FeaturesTeacher) and np.array_equal(t.weights, ref.weights)
    h = latent.teacher_from_settings(latent_settings({"kind": "latent", "k": 2, "teacher": "holder", "channels": 5}))
    assert isinstance(h, HolderTeacher) and h.coefficients.shape[1] == 5
    with pytest.raises(ValueError, match="teacher must be one of"):
        latent.make_teacher(2, teacher="gp")
    with pytest.raises(TypeError):
        latent.make_teacher(2, teacher="holder", n_features=3)  # not a key of that teacher
