from __future__ import annotations

import numpy as np
import pytest

from idscaling.config import ConfigError
from idscaling.corpus.subsample import nested_subset, write_subset
from idscaling.corpus.tokens import load_token_file


def test_subsets_are_nested_and_exact(small_corpus):
    train = load_token_file(small_corpus["root"] / "train.bin")
    sizes = [1000, 5000, 20000, len(train.tokens)]
    subsets = [nested_subset(train, n, seed=3)[0] for n in sizes]
    for n, sub in zip(sizes, subsets):
        assert len(sub) == n
    for small, large in zip(subsets, subsets[1:]):
        np.testing.assert_array_equal(small, large[: len(small)])  # contained, as a prefix
    # The full-size subset is a permutation of whole documents: same multiset of tokens.
    np.testing.assert_array_equal(np.sort(subsets[-1]), np.sort(np.asarray(train.tokens)))


def test_subsets_depend_on_seed_and_start_at_document_boundaries(small_corpus):
    train = load_token_file(small_corpus["root"] / "train.bin")
    a, starts = nested_subset(train, 20000, seed=0)
    b, _ = nested_subset(train, 20000, seed=1)
    assert not np.array_equal(a, b)
    eot = train.meta["eot_id"]
    assert starts[0] == 0 and np.all(a[starts[1:] - 1] == eot)  # each document follows an EOT


def test_write_subset_and_oversize(small_corpus, tmp_path):
    root = small_corpus["root"]
    meta = write_subset(root / "train.bin", tmp_path / "n3000.bin", dataset="d", n_tokens=3000, seed=0)
    assert meta["n_tokens"] == 3000 and meta["seed"] == 0
    assert len(load_token_file(tmp_path / "n3000.bin").tokens) == 3000
    total = load_token_file(root / "train.bin").meta["n_tokens"]
    with pytest.raises(ConfigError, match=rf"datasets.d.n_tokens: {total + 1} is larger than the {total}"):
        write_subset(root / "train.bin", tmp_path / "big.bin", dataset="d", n_tokens=total + 1, seed=0)
    assert not (tmp_path / "big.bin").exists()
