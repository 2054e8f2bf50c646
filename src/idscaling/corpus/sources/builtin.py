"""Corpus source ``builtin``: corpora every machine of the project has offline:
``wikipedia_news`` (gensim's test data: Wikipedia articles, Lee news articles, Usenet posts),
``python_stdlib`` (the running Python's standard library, tests excluded) and
``synthetic_stories`` (SYNTHETIC children's stories, :mod:`idscaling.corpus.sources.stories`)."""

from __future__ import annotations

import hashlib
import importlib.util
import io
import os
import pickle
import re
import sysconfig
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from idscaling.corpus.sources.common import CorpusError, CorpusStats
from idscaling.corpus.sources.files import read_text_files
from idscaling.corpus.sources.stories import generate_stories

__all__ = [
    "BUILTIN_NAMES",
    "iter_documents",
    "is_synthetic",
    "token_upper_bound",
    "wiki_articles",
    "clean_wiki_text",
    "newsgroup_posts",
    "stdlib_files",
]

BUILTIN_NAMES = ("wikipedia_news", "python_stdlib", "synthetic_stories")

# gensim's test data used by the "wikipedia_news" builtin source.
WIKI_DUMP = "enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"
LEE_NEWS = "lee_background.cor"
NEWSGROUP = "mini_newsgroup"
MIN_ARTICLE_CHARS = 200  # Wikipedia pages shorter than this after cleaning are near-empty stubs

# Directory names of the standard library that hold tests, third-party or build files.
STDLIB_EXCLUDED_DIRS = frozenset(
    {"test", "tests", "idle_test", "testmock", "site-packages", "dist-packages", "__pycache__", "lib-dynload"}
)


def is_synthetic(source: dict) -> bool:
    return source.get("name") == "synthetic_stories"


def iter_documents(source: dict, stats: CorpusStats) -> Iterator[str]:
    name = source.get("name")
    if name == "wikipedia_news":
        return _wikipedia_news(_gensim_test_data())
    if name == "python_stdlib":
        return read_text_files(stdlib_files(), stats)
    if name == "synthetic_stories":
        n_documents = source.get("n_documents", 2000)
        seed = source.get("seed", 0)
        for key, value in (("n_documents", n_documents), ("seed", seed)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise CorpusError(
                    f"builtin source 'synthetic_stories': {key} must be a non-negative int, got {value!r}"
                )
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


def _excluded_stdlib_dir(name: str) -> bool:
    return name in STDLIB_EXCLUDED_DIRS or name.startswith("config-") or name.startswith("test_")


def token_upper_bound(source: dict) -> int | None:
    """Tokens a byte-level BPE can make of the standard-library corpus at most (see
    :func:`idscaling.corpus.sources.token_upper_bound`); None for the other builtin corpora."""
    if source.get("name") != "python_stdlib":
        return None
    return sum(6 * p.stat().st_size + 1 for p in stdlib_files()[: source.get("max_documents")])
