"""Text sources: iterate the documents of a configured corpus source.

A *source* is a plain dict (from the pipeline config) with a ``kind`` key:

* ``{"kind": "builtin", "name": ...}`` -- corpora available offline on every
  machine of the project: ``"wikipedia_news"`` (gensim's test data: Wikipedia
  articles, Lee news articles, Usenet posts), ``"python_stdlib"`` (the running
  Python's standard library, tests excluded) and ``"synthetic_stories"``
  (SYNTHETIC children's stories from :mod:`idscaling.synthetic`).
* ``{"kind": "files", "paths": [glob, ...], "format": "text"|"jsonl"|"parquet",
  "text_field": "text"}`` -- local files.
* ``{"kind": "huggingface", "id": ..., "name": None, "split": "train",
  "text_field": "text", "revision": None, "streaming": False}`` -- a Hugging Face
  dataset (needs network or a local cache).
* ``{"kind": "latent", "k": 4, ...}`` -- SYNTHETIC documents from a random teacher with
  exactly k latent degrees of freedom (:mod:`idscaling.latent`; keys as in ``latent.DEFAULTS``, or
  with ``"teacher": "holder"`` a teacher of known Hölder smoothness, :mod:`idscaling.holder_teacher`).

Every source accepts ``max_documents`` (first N documents in the source's order).
Documents are whitespace-stripped and empty ones dropped. Invalid UTF-8 in local
text files is replaced by U+FFFD, counted in a :class:`CorpusStats` and logged
(one warning per file) on the ``idscaling.corpus`` logger. JSON-lines files (``.gz``,
``.bz2`` and ``.xz`` ones decompressed) are read line by line: a broken line -- not UTF-8,
not JSON, not an object, without the text field or with a non-text one -- is a
:class:`CorpusError` naming the file and the line; blank lines and null texts are skipped.
"""

from __future__ import annotations

import bz2
import glob
import gzip
import hashlib
import importlib.util
import io
import itertools
import json
import logging
import lzma
import os
import pickle
import re
import socket
import sysconfig
import threading
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator
from urllib.parse import urlparse

__all__ = [
    "BUILTIN_NAMES",
    "CorpusError",
    "CorpusStats",
    "FILE_FORMATS",
    "is_synthetic",
    "latent_settings",
    "iter_documents",
]

logger = logging.getLogger("idscaling.corpus.sources")

BUILTIN_NAMES = ("wikipedia_news", "python_stdlib", "synthetic_stories")
FILE_FORMATS = ("text", "jsonl", "parquet")

# gensim's test data used by the "wikipedia_news" builtin source.
WIKI_DUMP = "enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"
LEE_NEWS = "lee_background.cor"
NEWSGROUP = "mini_newsgroup"
MIN_ARTICLE_CHARS = 200  # Wikipedia pages shorter than this after cleaning are near-empty stubs

# Directory names of the standard library that hold tests, third-party or build files.
STDLIB_EXCLUDED_DIRS = frozenset(
    {"test", "tests", "idle_test", "testmock", "site-packages", "dist-packages", "__pycache__", "lib-dynload"}
)

HF_PROBE_TIMEOUT_S = 3.0
COMPRESSED_OPENERS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}  # of JSON-lines files
_REPLACEMENT = "\ufffd"


class CorpusError(ValueError):
    """A corpus source is misconfigured or cannot be read; the message is one line naming the problem."""


@dataclass
class CorpusStats:
    """Counters filled while iterating a source (pass one to :func:`iter_documents`)."""

    replacement_chars: int = 0  # U+FFFD inserted when decoding invalid UTF-8 (local text files, stdlib)
    files_with_replacements: int = 0


def is_synthetic(source: dict) -> bool:
    """True when ``source`` yields SYNTHETIC text (the story generator or the latent teacher)."""
    return source.get("kind") == "latent" or (source.get("kind") == "builtin" and source.get("name") == "synthetic_stories")


def latent_settings(source: dict) -> dict:
    """The generator settings of a ``latent`` source, defaults filled in (see :mod:`idscaling.latent`):
    ``k``, ``teacher`` (default ``"features"``) and the keys of that teacher; a key that only the
    other teacher uses is an error, not silently ignored."""
    from idscaling.latent.teachers import TEACHERS, source_defaults

    if "k" not in source:
        raise CorpusError("latent source: 'k' (the number of latent dimensions) is required")
    teacher = source.get("teacher", "features")
    if teacher not in TEACHERS:
        raise CorpusError(f"latent source: teacher must be one of {', '.join(TEACHERS)}, got {teacher!r}")
    defaults = source_defaults(teacher)
    others = set().union(*(source_defaults(t) for t in TEACHERS if t != teacher)) - set(defaults)
    if foreign := sorted(set(source) & others):
        raise CorpusError(f"latent source: {', '.join(map(repr, foreign))} is not a key of the {teacher!r} teacher")
    return {"k": source["k"], "teacher": teacher} | {key: source.get(key, default) for key, default in defaults.items()}


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
    stats = stats if stats is not None else CorpusStats()
    kind = source.get("kind")
    if kind == "builtin":
        raw = _builtin(source, stats)
    elif kind == "files":
        raw = _files(source, stats)
    elif kind == "huggingface":
        raw = _huggingface(source)
    elif kind == "latent":
        from idscaling.latent.teachers import generate_documents

        try:
            raw = generate_documents(**latent_settings(source))
            raw = itertools.chain([next(raw)], raw)  # the teacher is built (and checked) now
        except ValueError as err:
            raise CorpusError(f"latent source: {err}") from None
    else:
        raise CorpusError(
            f"unknown corpus source kind {kind!r} (expected 'builtin', 'files', 'huggingface' or 'latent')"
        )
    docs = (text.strip() for text in raw)
    return itertools.islice((text for text in docs if text), max_documents)


# --------------------------------------------------------------------------- decoding


def decode_utf8(data: bytes, name: str, stats: CorpusStats) -> str:
    """Decode ``data`` as UTF-8 (BOM dropped), replacing invalid bytes; count and log the replacements."""
    text = data.decode("utf-8-sig", errors="replace")
    # U+FFFD already present in valid UTF-8 (bytes EF BF BD) is not a replacement.
    n_replaced = text.count(_REPLACEMENT) - data.count(b"\xef\xbf\xbd")
    if n_replaced > 0:
        stats.replacement_chars += n_replaced
        stats.files_with_replacements += 1
        logger.warning("%s: %d invalid UTF-8 sequence(s) replaced with U+FFFD", name, n_replaced)
    return text


def _read_text_files(paths: Iterable[Path | str], stats: CorpusStats) -> Iterator[str]:
    for path in paths:
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise CorpusError(f"cannot read {path}: {exc.strerror or exc}") from exc
        yield decode_utf8(data, str(path), stats)


# --------------------------------------------------------------------------- builtin sources


def _builtin(source: dict, stats: CorpusStats) -> Iterator[str]:
    name = source.get("name")
    if name == "wikipedia_news":
        return _wikipedia_news(_gensim_test_data())
    if name == "python_stdlib":
        return _read_text_files(stdlib_files(), stats)
    if name == "synthetic_stories":
        from idscaling.corpus.sources.stories import generate_stories

        n_documents = source.get("n_documents", 2000)
        seed = source.get("seed", 0)
        for key, value in (("n_documents", n_documents), ("seed", seed)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise CorpusError(f"builtin source 'synthetic_stories': {key} must be a non-negative int, got {value!r}")
        return iter(generate_stories(n_documents, seed))
    raise CorpusError(f"unknown builtin corpus {name!r} (expected one of {', '.join(BUILTIN_NAMES)})")


def _gensim_test_data() -> Path:
    """The gensim wheel's ``test/test_data`` folder, checked to hold the three files used here."""
    spec = importlib.util.find_spec("gensim")
    if spec is None or not spec.submodule_search_locations:
        raise CorpusError("builtin source 'wikipedia_news' needs the gensim package (pip install gensim)")
    root = Path(next(iter(spec.submodule_search_locations))) / "test" / "test_data"
    for filename in (WIKI_DUMP, LEE_NEWS, NEWSGROUP):
        if not (root / filename).is_file():
            raise CorpusError(f"builtin source 'wikipedia_news': gensim test data file missing: {root / filename}")
    return root


def _wikipedia_news(root: Path) -> Iterator[str]:
    """Wikipedia articles, then Lee news articles, then Usenet post bodies (in file order)."""
    yield from wiki_articles(root / WIKI_DUMP)
    with open(root / LEE_NEWS, encoding="utf-8", errors="replace") as f:
        yield from f  # one news article per line
    yield from newsgroup_posts(root / NEWSGROUP)


def wiki_articles(dump: Path) -> Iterator[str]:
    """Plain text of the articles of a bz2 MediaWiki XML dump (main namespace, no redirects or stubs)."""
    import bz2

    from gensim.corpora.wikicorpus import extract_pages, filter_wiki

    with bz2.open(dump, "rb") as f:
        for _title, text, _pageid in extract_pages(f, filter_namespaces=("0",)):
            if not text or text.lstrip()[:9].lower() == "#redirect":
                continue
            article = clean_wiki_text(filter_wiki(text))
            if len(article) >= MIN_ARTICLE_CHARS:
                yield article


_WIKI_HEADING = re.compile(r"^[ \t]*(={2,6})[ \t]*(.*?)[ \t]*\1[ \t]*$", re.MULTILINE)
_WIKI_QUOTES = re.compile(r"'{2,}")
_WIKI_LIST = re.compile(r"^[ \t]*[*#:;]+[ \t]*", re.MULTILINE)
_WIKI_GALLERY = re.compile(r"^[ \t]*(?:File|Image):[^|\n]*(?:\||$)", re.MULTILINE | re.IGNORECASE)
_WIKI_IMAGE_OPTS = re.compile(r"\|(?:alt|upright|thumb|left|right|center)\b[^\n]*")
_BLANK_LINES = re.compile(r"\n[ \t]*(?:\n[ \t]*)+")


def clean_wiki_text(text: str) -> str:
    """Remove markup ``gensim.corpora.wikicorpus.filter_wiki`` leaves: ''quotes'', ==headings==, lists, galleries."""
    text = _WIKI_HEADING.sub(r"\2", text)
    text = _WIKI_QUOTES.sub("", text)
    text = _WIKI_LIST.sub("", text)
    text = _WIKI_GALLERY.sub("", text)  # gallery lines "File:x.jpg|caption" keep the caption
    text = _WIKI_IMAGE_OPTS.sub("", text)
    return _BLANK_LINES.sub("\n\n", text).strip()


class _NewsgroupUnpickler(pickle.Unpickler):
    """Unpickles gensim's Python-2 pickle of a scikit-learn Bunch without scikit-learn (allow-list only)."""

    def find_class(self, module: str, name: str) -> Any:
        import builtins
        import copyreg

        import numpy as np

        if name == "Bunch":
            return dict
        if module in ("copy_reg", "copyreg") and name == "_reconstructor":
            return copyreg._reconstructor
        if module in ("__builtin__", "builtins") and name in ("dict", "list", "object"):
            return getattr(builtins, name)
        if module in ("numpy.core.multiarray", "numpy._core.multiarray") and name == "_reconstruct":
            try:
                from numpy._core.multiarray import _reconstruct
            except ImportError:  # numpy < 2
                from numpy.core.multiarray import _reconstruct
            return _reconstruct
        if module == "numpy" and name in ("ndarray", "dtype"):
            return getattr(np, name)
        raise pickle.UnpicklingError(f"{module}.{name} is not allowed in {NEWSGROUP}")


def newsgroup_posts(path: Path) -> Iterator[str]:
    """Bodies (headers dropped) of the Usenet posts in gensim's ``mini_newsgroup`` file."""
    try:
        raw = zlib.decompress(path.read_bytes())
        bunch = _NewsgroupUnpickler(io.BytesIO(raw), encoding="latin1").load()
        posts = bunch["data"]
    except (OSError, zlib.error, pickle.UnpicklingError, KeyError, TypeError) as exc:
        raise CorpusError(f"cannot read newsgroup posts from {path}: {exc}") from exc
    for post in posts:
        if isinstance(post, bytes):
            post = post.decode("latin-1")
        _headers, sep, body = post.partition("\n\n")
        yield body if sep else post


def stdlib_files(root: str | Path | None = None) -> list[Path]:
    """The standard library's .py files outside test/third-party dirs, deduplicated by realpath.

    The list is ORDERED BY THE SHA-1 OF EACH PATH RELATIVE TO THE STDLIB ROOT,
    not alphabetically: the order is stable across machines, and taking the
    first ``max_documents`` files gives a spread across all modules instead of
    the alphabetically first packages (asyncio, ctypes, ...).
    """
    root = Path(root if root is not None else sysconfig.get_paths()["stdlib"])
    if not root.is_dir():
        raise CorpusError(f"builtin source 'python_stdlib': standard library folder not found: {root}")
    candidates: list[tuple[str, Path]] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not _excluded_stdlib_dir(d))
        for filename in filenames:
            if filename.endswith(".py"):
                path = Path(dirpath) / filename
                candidates.append((path.relative_to(root).as_posix(), path))
    seen: set[str] = set()
    unique: list[tuple[str, Path]] = []
    for rel, path in sorted(candidates):
        real = os.path.realpath(path)
        if real not in seen:
            seen.add(real)
            unique.append((rel, path))
    unique.sort(key=lambda item: hashlib.sha1(item[0].encode("utf-8")).hexdigest())
    return [path for _rel, path in unique]


def token_upper_bound(source: dict) -> int | None:
    """An upper bound on the tokens any byte-level BPE (ours or GPT-2's) can make of a source,
    known without reading it, or None where it cannot be known that cheaply (Hub datasets,
    compressed or generated text).

    A byte-level BPE makes at most one token per UTF-8 byte; an invalid byte becomes U+FFFD
    (3 bytes); every document or piece gets one end-of-text id, and pieces are never empty, so
    they add at most one id per byte: 3 + 3 = 6 tokens per input byte, plus one per file."""
    if source.get("kind") == "files" and source.get("format", "text") in ("text", "jsonl"):
        paths = resolve_globs(source.get("paths"))
        if any(p.suffix in COMPRESSED_OPENERS for p in paths):
            return None
    elif source.get("kind") == "builtin" and source.get("name") == "python_stdlib":
        paths = stdlib_files()[: source.get("max_documents")]
    else:
        return None
    return sum(6 * p.stat().st_size + 1 for p in paths)


def _excluded_stdlib_dir(name: str) -> bool:
    return name in STDLIB_EXCLUDED_DIRS or name.startswith("config-") or name.startswith("test_")


# --------------------------------------------------------------------------- local files


def resolve_globs(patterns: Any) -> list[Path]:
    """Sorted, de-duplicated files matched by ``patterns`` (relative to the current directory)."""
    if isinstance(patterns, (str, os.PathLike)):
        patterns = [patterns]
    if not isinstance(patterns, (list, tuple)) or not patterns:
        raise CorpusError("files source: 'paths' must be a non-empty list of glob patterns")
    found: set[str] = set()
    for pattern in patterns:
        matches = [m for m in glob.glob(os.fspath(pattern), recursive=True) if os.path.isfile(m)]
        if not matches:
            raise CorpusError(f"files source: pattern {os.fspath(pattern)!r} matched no files (cwd: {os.getcwd()})")
        found.update(matches)
    return [Path(p) for p in sorted(found)]


def _files(source: dict, stats: CorpusStats) -> Iterator[str]:
    fmt = source.get("format", "text")
    if fmt not in FILE_FORMATS:
        raise CorpusError(f"files source: unknown format {fmt!r} (expected one of {', '.join(FILE_FORMATS)})")
    paths = resolve_globs(source.get("paths"))
    if fmt == "text":
        return _read_text_files(paths, stats)
    text_field = source.get("text_field", "text")
    if fmt == "jsonl":
        texts = _jsonl_texts(paths, text_field)
        first = next(texts, None)  # the first line is checked now (a wrong text_field fails at once)
        return itertools.chain([] if first is None else [first], texts)
    what = f"{fmt} files {', '.join(map(str, paths[:3]))}{' ...' if len(paths) > 3 else ''}"
    try:
        from datasets import load_dataset

        dataset = load_dataset("parquet", data_files=[str(p) for p in paths], split="train")
    except Exception as exc:  # noqa: BLE001 - any loader failure becomes one clear CorpusError
        raise CorpusError(f"could not load {what}: {_first_line(exc)}") from exc
    return _dataset_texts(dataset, text_field, what)


def _jsonl_texts(paths: list[Path], text_field: str) -> Iterator[str]:
    """The texts of JSON-lines files, one object per line.

    Read here rather than with ``datasets.load_dataset("json")``: that parses blocks of lines with
    pyarrow and reports a broken line only as "An error occurred while generating the dataset"
    (no file, no line), reads a line without the text field as a null text (silently skipped),
    and first copies the whole corpus into its Arrow cache. The documents go through a Python
    loop afterwards anyway (stripped, split, chunked, written one per line), so parsing each line
    with ``json.loads`` here costs little next to it and names the line that is wrong."""
    for path in paths:
        opener = COMPRESSED_OPENERS.get(path.suffix, open)
        try:
            with opener(path, "rb") as fh:
                for number, line in enumerate(fh, start=1):
                    text = _jsonl_line_text(line, f"corpus file {path}, line {number}", text_field)
                    if text is not None:
                        yield text
        except (OSError, EOFError, lzma.LZMAError) as exc:  # unreadable, or a broken compressed stream
            raise CorpusError(f"cannot read corpus file {path}: {getattr(exc, 'strerror', None) or exc}") from exc


_JSON_TYPES = {list: "an array", str: "a string", int: "a number", float: "a number", bool: "a boolean",
               type(None): "null"}


def _jsonl_line_text(line: bytes, where: str, text_field: str) -> str | None:
    """The text of one JSON line (None: blank line or null text); ``where`` names the line in errors."""
    try:
        decoded = line.decode("utf-8-sig")  # (a byte-order mark at the start of a file is dropped)
    except UnicodeDecodeError as exc:
        raise CorpusError(f"{where}: not valid UTF-8 (byte 0x{line[exc.start]:02x} at byte {exc.start + 1} "
                          "of the line; JSON lines must be UTF-8)") from None
    if not decoded.strip():
        return None
    try:
        record = json.loads(decoded.rstrip("\r\n"))  # (a string cut off at the line's end is "unterminated")
    except json.JSONDecodeError as exc:
        raise CorpusError(f"{where}: not valid JSON ({exc.msg}: column {exc.colno})") from None
    if not isinstance(record, dict):
        raise CorpusError(f"{where}: {_JSON_TYPES.get(type(record), type(record).__name__)}, not a JSON object")
    if text_field not in record:
        raise CorpusError(f"{where}: text_field {text_field!r} not found; available columns: {list(record)}")
    value = record[text_field]
    if value is not None and not isinstance(value, str):
        raise CorpusError(f"{where}: field {text_field!r} holds {_JSON_TYPES.get(type(value), 'an object')}, not text")
    return value


def _dataset_texts(dataset: Any, text_field: str, what: str) -> Iterator[str]:
    """Texts of column ``text_field`` of a (possibly iterable) Hugging Face dataset; None values skipped."""
    columns = dataset.column_names
    if columns is None:  # streaming dataset with unknown features: peek at the first row
        first = next(iter(dataset), None)
        columns = sorted(first) if first is not None else []
    if text_field not in columns:
        raise CorpusError(f"{what}: text_field {text_field!r} not found; available columns: {list(columns)}")
    return _column_values(dataset, text_field, what)


def _column_values(dataset: Any, text_field: str, what: str) -> Iterator[str]:
    selected = dataset.select_columns([text_field])
    for batch in selected.iter(batch_size=1000):
        for value in batch[text_field]:
            if value is None:
                continue
            if not isinstance(value, str):
                raise CorpusError(f"{what}: field {text_field!r} holds {type(value).__name__}, not text")
            yield value


# --------------------------------------------------------------------------- Hugging Face


def _huggingface(source: dict) -> Iterator[str]:
    dataset_id = source.get("id")
    if not isinstance(dataset_id, str) or not dataset_id:
        raise CorpusError(f"huggingface source: 'id' must be a non-empty string, got {dataset_id!r}")
    text_field = source.get("text_field", "text")
    try:
        from datasets import load_dataset

        if not os.path.exists(dataset_id) and not _hf_offline_mode():
            # Without network the hub client retries for ~25 s; fail fast instead. Cached datasets
            # stay usable with HF_HUB_OFFLINE=1 (set before `datasets` is imported; then no probe).
            _probe_hub(os.environ.get("HF_ENDPOINT", "https://huggingface.co"), HF_PROBE_TIMEOUT_S)
        dataset = load_dataset(
            dataset_id,
            source.get("name"),
            split=source.get("split", "train"),
            revision=source.get("revision"),
            data_dir=source.get("data_dir"),
            streaming=bool(source.get("streaming", False)),
        )
        return _dataset_texts(dataset, text_field, f"Hugging Face dataset {dataset_id!r}")
    except CorpusError:
        raise
    except Exception as exc:  # noqa: BLE001 - offline, unknown id, bad config, ...
        raise CorpusError(
            f"Hugging Face dataset {dataset_id!r} could not be loaded (no network or unknown id?): {_first_line(exc)}"
        ) from exc


def _hf_offline_mode() -> bool:
    """Whether `datasets` itself runs offline (it reads HF_HUB_OFFLINE once, when first imported)."""
    import datasets

    return bool(getattr(datasets.config, "HF_HUB_OFFLINE", False))


def _probe_hub(endpoint: str, timeout: float) -> None:
    """Raise ConnectionError unless a TCP connection to ``endpoint`` (or the HTTPS proxy) opens within ``timeout``."""
    proxy = os.environ.get("HTTPS_PROXY") or os.environ.get("https_proxy")
    url = urlparse(proxy if proxy else endpoint)
    host, port = url.hostname or "", url.port or (443 if url.scheme == "https" else 80)
    outcome: list[BaseException | None] = []

    def connect() -> None:
        try:
            socket.create_connection((host, port), timeout=timeout).close()
            outcome.append(None)
        except OSError as exc:
            outcome.append(exc)

    # DNS resolution has no timeout of its own: run the whole attempt in a daemon thread.
    thread = threading.Thread(target=connect, daemon=True)
    thread.start()
    thread.join(timeout)
    if not outcome:
        raise ConnectionError(f"cannot reach {host}:{port} within {timeout:g} s (for a cached copy set HF_HUB_OFFLINE=1)")
    if outcome[0] is not None:
        raise ConnectionError(f"cannot reach {host}:{port}: {outcome[0]} (for a cached copy set HF_HUB_OFFLINE=1)")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
