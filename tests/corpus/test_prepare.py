"""Tests of document-level splitting and corpus preparation."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from idscaling.corpus import prepare
from idscaling.corpus.prepare import SPLITS, iter_split, prepare_corpus, split_documents
from idscaling.corpus.sources import CorpusError, iter_documents

# --------------------------------------------------------------------------- split_documents


def test_split_sizes_disjoint_cover_sorted() -> None:
    parts = split_documents(1000, 0.1, 0.05, seed=0)
    assert set(parts) == {"train", "select", "val"}
    assert [len(parts[k]) for k in ("val", "select", "train")] == [100, 50, 850]
    joined = np.concatenate([parts[k] for k in SPLITS])
    assert sorted(joined.tolist()) == list(range(1000))  # disjoint and covering
    for k in SPLITS:
        assert np.all(np.diff(parts[k]) > 0)


def test_split_is_deterministic_and_seed_dependent() -> None:
    a, b, c = (split_documents(200, 0.2, 0.1, seed=s) for s in (5, 5, 6))
    for k in SPLITS:
        np.testing.assert_array_equal(a[k], b[k])
    assert not np.array_equal(a["val"], c["val"])


def test_split_is_a_seeded_permutation() -> None:
    order = np.random.default_rng(3).permutation(20)
    parts = split_documents(20, 0.25, 0.1, seed=3)
    np.testing.assert_array_equal(parts["val"], np.sort(order[:5]))
    np.testing.assert_array_equal(parts["select"], np.sort(order[5:7]))


def test_split_minimum_sizes() -> None:
    parts = split_documents(3, 0.01, 0.0, seed=1)
    assert [len(parts[k]) for k in ("train", "select", "val")] == [1, 1, 1]


@pytest.mark.parametrize(("n", "vf", "sf"), [(2, 0.1, 0.1), (0, 0.1, 0.1), (10, 0.5, 0.5)])
def test_split_needs_a_training_document(n: int, vf: float, sf: float) -> None:
    with pytest.raises(CorpusError, match="too few to split"):
        split_documents(n, vf, sf, seed=0)


@pytest.mark.parametrize(("vf", "sf"), [(-0.1, 0.1), (1.0, 0.1), (0.1, 1.5)])
def test_split_rejects_bad_fractions(vf: float, sf: float) -> None:
    with pytest.raises(CorpusError, match="fraction"):
        split_documents(100, vf, sf, seed=0)


# --------------------------------------------------------------------------- prepare_corpus


def _text_source(tmp_path: Path, texts: list[str | bytes]) -> dict:
    folder = tmp_path / "src"
    folder.mkdir()
    for i, text in enumerate(texts):
        data = text if isinstance(text, bytes) else text.encode("utf-8")
        (folder / f"doc{i:03d}.txt").write_bytes(data)
    return {"kind": "files", "paths": [str(folder / "*.txt")], "format": "text"}


def test_prepare_writes_splits_and_meta(tmp_path: Path) -> None:
    texts: list[str | bytes] = [f"document number {i} ünïcode" for i in range(40)]
    texts[7] = b"broken \xff byte"
    texts[8] = "   "  # dropped: empty after stripping
    source = _text_source(tmp_path, texts)
    out = tmp_path / "out"
    meta = prepare_corpus(source, out, validation_fraction=0.1, selection_fraction=0.05, seed=2, dataset="toy")

    assert sorted(p.name for p in out.iterdir()) == ["meta.json", "select.jsonl", "train.jsonl", "val.jsonl"]
    assert json.loads((out / "meta.json").read_text()) == meta
    assert meta["dataset"] == "toy" and meta["source"] == source and meta["seed"] == 2
    assert meta["validation_fraction"] == 0.1 and meta["selection_fraction"] == 0.05
    assert meta["is_synthetic"] is False
    assert meta["n_documents"] == 39
    assert meta["replacement_chars"] == 1 and meta["files_with_replacements"] == 1

    expected = list(iter_documents(source))
    parts = split_documents(39, 0.1, 0.05, seed=2)
    seen: list[int] = []
    for name in SPLITS:
        path = out / f"{name}.jsonl"
        info = meta["splits"][name]
        records = list(iter_split(out, name))
        assert [r["doc"] for r in records] == parts[name].tolist()
        assert [r["text"] for r in records] == [expected[i] for i in parts[name]]
        assert info["n_documents"] == len(records)
        assert info["n_chars"] == sum(len(r["text"]) for r in records)
        assert info["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        seen += [r["doc"] for r in records]
    assert sorted(seen) == list(range(39))
    assert meta["splits"]["val"]["n_documents"] == 4 and meta["splits"]["select"]["n_documents"] == 2
    assert "broken \ufffd byte" in {r["text"] for name in SPLITS for r in iter_split(out, name)}


def test_prepare_is_deterministic_by_seed(tmp_path: Path) -> None:
    source = {"kind": "builtin", "name": "synthetic_stories", "n_documents": 60, "seed": 1}
    kw = {"validation_fraction": 0.2, "selection_fraction": 0.1, "dataset": "stories"}
    a = prepare_corpus(source, tmp_path / "a", seed=0, **kw)
    b = prepare_corpus(source, tmp_path / "b", seed=0, **kw)
    c = prepare_corpus(source, tmp_path / "c", seed=1, **kw)
    assert a["is_synthetic"] is True
    assert [a["splits"][k]["sha256"] for k in SPLITS] == [b["splits"][k]["sha256"] for k in SPLITS]
    assert a["splits"]["val"]["sha256"] != c["splits"]["val"]["sha256"]
    assert (tmp_path / "a" / "train.jsonl").read_bytes() == (tmp_path / "b" / "train.jsonl").read_bytes()


def test_empty_corpus_leaves_nothing(tmp_path: Path) -> None:
    source = _text_source(tmp_path, ["", "  \n\t", "\n"])
    out = tmp_path / "out"
    with pytest.raises(CorpusError, match=r"^dataset 'empty': the source produced no non-empty documents$"):
        prepare_corpus(source, out, validation_fraction=0.1, selection_fraction=0.1, seed=0, dataset="empty")
    assert list(out.iterdir()) == []  # no jsonl, no meta, no temp files


def test_failure_mid_stream_leaves_nothing_complete(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    kw = {"validation_fraction": 0.1, "selection_fraction": 0.1, "seed": 0, "dataset": "d"}
    prepare_corpus({"kind": "builtin", "name": "synthetic_stories", "n_documents": 30}, out, **kw)
    assert (out / "meta.json").exists()

    def exploding(source: dict, stats: object = None) -> Iterator[str]:
        yield "one document"
        yield "another"
        raise OSError("disk vanished")

    monkeypatch.setattr(prepare, "iter_documents", exploding)
    with pytest.raises(OSError, match="disk vanished"):
        prepare_corpus({"kind": "builtin", "name": "synthetic_stories"}, out, **kw)
    assert list(out.iterdir()) == []  # the earlier run's outputs are gone too: nothing looks complete


def test_too_few_documents_to_split(tmp_path: Path) -> None:
    source = _text_source(tmp_path, ["only one", "and two"])
    out = tmp_path / "out"
    with pytest.raises(CorpusError, match="too few to split"):
        prepare_corpus(source, out, validation_fraction=0.1, selection_fraction=0.1, seed=0, dataset="tiny")
    assert list(out.iterdir()) == []


def test_bad_source_removes_stale_outputs(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    for name in ("meta.json", "train.jsonl", "select.jsonl", "val.jsonl"):
        (out / name).write_text("{}")
    (out / "unrelated.txt").write_text("kept")
    with pytest.raises(CorpusError, match="matched no files"):
        prepare_corpus(
            {"kind": "files", "paths": [str(tmp_path / "none*.txt")]},
            out,
            validation_fraction=0.1,
            selection_fraction=0.1,
            seed=0,
            dataset="x",
        )
    assert [p.name for p in out.iterdir()] == ["unrelated.txt"]


# --------------------------------------------------------------------------- chunking


def test_chunk_text_respects_limit_and_boundaries() -> None:
    from idscaling.corpus.prepare import chunk_text

    text = "a" * 10 + "\n\n" + "b" * 5 + "\n" + "c" * 30 + "\n\nd"
    pieces = chunk_text(text, 12)
    assert pieces == ["a" * 10, "b" * 5, "c" * 12, "c" * 12, "c" * 6 + "\n\nd"]
    assert all(len(p) <= 12 for p in pieces)
    assert chunk_text(text, None) == [text] and chunk_text("short", 100) == ["short"]
    # Nothing but whitespace is lost.
    assert "".join(chunk_text(text, 12)).replace("\n", "") == text.replace("\n", "")


def test_chunks_never_straddle_splits(tmp_path: Path) -> None:
    docs = [f"doc{i} " + ("word " * 60 + "\n\n") * 5 for i in range(40)]
    for i, d in enumerate(docs):
        (tmp_path / f"{i:02d}.txt").write_text(d)
    meta = prepare_corpus(
        {"kind": "files", "paths": [str(tmp_path / "*.txt")]},
        tmp_path / "out",
        validation_fraction=0.2,
        selection_fraction=0.1,
        seed=0,
        dataset="c",
        chunk_chars=400,
    )
    owners = {}
    for split in SPLITS:
        records = list(iter_split(tmp_path / "out", split))
        assert all(len(r["text"]) <= 400 for r in records)
        assert meta["splits"][split]["n_documents"] == len(records) > meta["splits"][split]["n_source_documents"]
        for r in records:
            assert owners.setdefault(r["doc"], split) == split  # every piece of a document in one split
    assert len(owners) == 40 and meta["chunk_chars"] == 400
