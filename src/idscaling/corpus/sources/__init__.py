"""Text sources: iterate the documents of a configured corpus source.

A *source* is a plain dict (from the pipeline config) with a ``kind`` key:

* ``{"kind": "builtin", "name": ...}`` -- corpora available offline on every
  machine of the project: ``"wikipedia_news"`` (gensim's test data: Wikipedia
  articles, Lee news articles, Usenet posts), ``"python_stdlib"`` (the running
  Python's standard library, tests excluded) and ``"synthetic_stories"``
  (SYNTHETIC children's stories from :mod:`.stories`).
* ``{"kind": "files", "paths": [glob, ...], "format": "text"|"jsonl"|"parquet",
  "text_field": "text"}`` -- local files.
* ``{"kind": "huggingface", "id": ..., "name": None, "split": "train",
  "text_field": "text", "revision": None, "streaming": False}`` -- a Hugging Face
  dataset (needs network or a local cache).
* ``{"kind": "latent", "k": 4, ...}`` -- SYNTHETIC documents from a random teacher with
  exactly k latent degrees of freedom (:mod:`idscaling.latent`; with ``"teacher": "holder"`` a teacher of known Hölder
  smoothness).

Every source accepts ``max_documents`` (first N documents in the source's order).
Documents are whitespace-stripped and empty ones dropped. Invalid UTF-8 in local
text files is replaced by U+FFFD, counted in a :class:`CorpusStats` and logged
(one warning per file) on the ``idscaling.corpus.sources`` logger. JSON-lines files (``.gz``,
``.bz2`` and ``.xz`` ones decompressed) are read line by line: a broken line -- not UTF-8,
not JSON, not an object, without the text field or with a non-text one -- is a
:class:`CorpusError` naming the file and the line; blank lines and null texts are skipped.

Each kind is one module of this package with ``iter_documents(source, stats)`` (validating the
source when called, producing documents lazily), ``SYNTHETIC`` (or ``is_synthetic(source)``) and,
where it is cheap to know, ``token_upper_bound(source)``; :data:`SOURCES` names them (the
README's recipe for a new kind: one module, one entry, its keys in the schema).
"""

from __future__ import annotations

import importlib
import itertools
from collections.abc import Iterator
from types import ModuleType

from idscaling.corpus.sources.common import CorpusError, CorpusStats

__all__ = ["SOURCES", "CorpusError", "CorpusStats", "is_synthetic", "iter_documents", "token_upper_bound"]

# Corpus source kinds -> their modules (imported when used: the files and Hub readers pull in
# ``datasets``, which only the data env has).
SOURCES = {
    "builtin": "idscaling.corpus.sources.builtin",
    "files": "idscaling.corpus.sources.files",
    "huggingface": "idscaling.corpus.sources.huggingface",
    "latent": "idscaling.corpus.sources.latent",
}


def source_module(source: dict) -> ModuleType:
    """The module of ``source``'s kind (:data:`SOURCES`)."""
    kind = source.get("kind")
    if kind not in SOURCES:
        raise CorpusError(f"unknown corpus source kind {kind!r} (expected {', '.join(map(repr, SOURCES))})")
    return importlib.import_module(SOURCES[kind])


def is_synthetic(source: dict) -> bool:
    """True when ``source`` yields SYNTHETIC text (the story generator or the latent teacher)."""
    module = source_module(source)
    return module.is_synthetic(source) if hasattr(module, "is_synthetic") else bool(module.SYNTHETIC)


def iter_documents(source: dict, stats: CorpusStats | None = None) -> Iterator[str]:
    """Yield the texts of ``source`` in a deterministic order, stripped, empty ones dropped.

    The source is validated (and files located, datasets loaded) when this is
    called, so configuration errors raise :class:`CorpusError` immediately; the
    documents themselves are produced lazily. ``source["max_documents"]`` caps
    the count. ``stats``, if given, accumulates the U+FFFD replacement count.
    """
    if not isinstance(source, dict):
        raise CorpusError(f"a corpus source must be a dict, got {type(source).__name__}")
    max_documents = source.get("max_documents")
    if max_documents is not None and (
        isinstance(max_documents, bool) or not isinstance(max_documents, int) or max_documents < 1
    ):
        raise CorpusError(f"max_documents must be a positive integer or null, got {max_documents!r}")
    raw = source_module(source).iter_documents(source, stats if stats is not None else CorpusStats())
    docs = (text.strip() for text in raw)
    return itertools.islice((text for text in docs if text), max_documents)


def token_upper_bound(source: dict) -> int | None:
    """An upper bound on the tokens any byte-level BPE (ours or GPT-2's) can make of a source,
    known without reading it, or None where it cannot be known that cheaply (Hub datasets,
    compressed or generated text).

    A byte-level BPE makes at most one token per UTF-8 byte; an invalid byte becomes U+FFFD
    (3 bytes); every document or piece gets one end-of-text id, and pieces are never empty, so
    they add at most one id per byte: 3 + 3 = 6 tokens per input byte, plus one per file."""
    bound = getattr(source_module(source), "token_upper_bound", None)
    return bound(source) if bound is not None else None
