"""Tests of corpus sources (builtin, local files, Hugging Face offline behaviour)."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from idscaling.corpus import sources as corpus
from idscaling.corpus.sources import CorpusError, CorpusStats, builtin, iter_documents
from idscaling.corpus.sources.builtin import stdlib_files
from idscaling.corpus.sources.huggingface import probe_hub
from idscaling.corpus.sources.stories import generate_stories

HAS_GENSIM = importlib.util.find_spec("gensim") is not None
needs_gensim = pytest.mark.skipif(not HAS_GENSIM, reason="gensim not installed")


# --------------------------------------------------------------------------- builtin: wikipedia_news


@pytest.fixture(scope="module")
def wikipedia_news() -> list[str]:
    return list(iter_documents({"kind": "builtin", "name": "wikipedia_news"}))


@needs_gensim
def test_wikipedia_news_is_sizeable_clean_prose(wikipedia_news: list[str]) -> None:
    docs = wikipedia_news
    assert len(docs) > 500
    assert sum(len(d.encode("utf-8")) for d in docs) > 3_000_000
    text = "\n".join(docs)
    for markup in ("[[", "]]", "{{", "}}", "'''", "<ref", "==References=="):
        assert markup not in text, markup
    assert all(d == d.strip() and d for d in docs)
    # the three parts are all there: a Wikipedia article, a Lee news article, a Usenet post body
    assert any(d.startswith("Anarchism is a political philosophy") for d in docs)
    assert any("bushfire" in d for d in docs)
    assert not any(d.startswith(("Newsgroups:", "Path:", "Xref:")) for d in docs)  # headers dropped
    assert sum("writes:" in d for d in docs) > 20  # newsgroup quoting survives in the bodies


@needs_gensim
def test_wikipedia_news_max_documents_is_a_prefix(wikipedia_news: list[str]) -> None:
    docs = list(iter_documents({"kind": "builtin", "name": "wikipedia_news", "max_documents": 5}))
    assert docs == wikipedia_news[:5]


def test_wikipedia_news_without_gensim(monkeypatch: pytest.MonkeyPatch) -> None:
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        builtin.importlib.util, "find_spec", lambda name, *a: None if name == "gensim" else real_find_spec(name, *a)
    )
    with pytest.raises(CorpusError, match=r"needs the gensim package \(pip install gensim\)"):
        iter_documents({"kind": "builtin", "name": "wikipedia_news"})


def test_clean_wiki_text() -> None:
    raw = "'''Foo''' is a ''bar''.\n\n\n==History==\n* first\n# second\nFile:x.jpg|A caption\nEnd|alt=picture"
    assert builtin.clean_wiki_text(raw) == "Foo is a bar.\n\nHistory\nfirst\nsecond\nA caption\nEnd"


# --------------------------------------------------------------------------- builtin: python_stdlib


def test_python_stdlib_is_code_without_tests() -> None:
    files = stdlib_files()
    assert len(files) > 500
    root = Path(builtin.sysconfig.get_paths()["stdlib"])
    rels = [f.relative_to(root).as_posix() for f in files]
    excluded = {"test", "tests", "idle_test", "site-packages", "__pycache__"}
    assert not [r for r in rels if excluded & set(r.split("/")[:-1])]
    assert "os.py" in rels and "json/decoder.py" in rels
    assert len({os.path.realpath(f) for f in files}) == len(files)
    docs = list(iter_documents({"kind": "builtin", "name": "python_stdlib", "max_documents": 40}))
    assert len(docs) == 40
    assert sum("def " in d for d in docs) > 30
    assert sum("import " in d for d in docs) > 30


def test_python_stdlib_order_is_a_hash_spread() -> None:
    files = stdlib_files()
    root = Path(builtin.sysconfig.get_paths()["stdlib"])
    rels = [f.relative_to(root).as_posix() for f in files]
    keys = [hashlib.sha1(r.encode()).hexdigest() for r in rels]
    assert keys == sorted(keys)
    assert rels != sorted(rels)
    first = rels[:50]
    top_level = {r.split("/")[0] for r in first}
    assert len(top_level) >= 20  # a spread across modules, not one package
    assert stdlib_files() == files  # deterministic


def test_python_stdlib_max_documents_follows_that_order() -> None:
    files = stdlib_files()
    docs = list(iter_documents({"kind": "builtin", "name": "python_stdlib", "max_documents": 3}))
    expected = [f.read_text(encoding="utf-8", errors="replace").strip() for f in files[:10]]
    assert docs == [d for d in expected if d][:3]


def test_stdlib_files_excludes_test_dirs_and_dedupes(tmp_path: Path) -> None:
    for rel in (
        "a.py",
        "pkg/b.py",
        "pkg/notes.txt",
        "test/c.py",
        "pkg/tests/d.py",
        "idlelib/idle_test/e.py",
        "site-packages/f.py",
        "pkg/__pycache__/g.py",
    ):
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("def f():\n    pass\n")
    (tmp_path / "link.py").symlink_to(tmp_path / "a.py")
    rels = sorted(f.relative_to(tmp_path).as_posix() for f in stdlib_files(tmp_path))
    assert rels == ["a.py", "pkg/b.py"]


# --------------------------------------------------------------------------- builtin: synthetic, errors


def test_synthetic_stories_source() -> None:
    docs = list(iter_documents({"kind": "builtin", "name": "synthetic_stories", "n_documents": 20, "seed": 4}))
    assert docs == generate_stories(20, 4)
    capped = list(iter_documents({"kind": "builtin", "name": "synthetic_stories", "max_documents": 7}))
    assert capped == generate_stories(2000, 0)[:7]
    assert corpus.is_synthetic({"kind": "builtin", "name": "synthetic_stories"})
    assert not corpus.is_synthetic({"kind": "builtin", "name": "python_stdlib"})


@pytest.mark.parametrize(
    ("source", "pattern"),
    [
        ({"kind": "nope"}, "unknown corpus source kind 'nope'"),
        ({"name": "python_stdlib"}, "unknown corpus source kind None"),
        ({"kind": "builtin", "name": "openwebtext"}, "unknown builtin corpus 'openwebtext'"),
        ({"kind": "builtin", "name": "python_stdlib", "max_documents": 0}, "max_documents"),
        ({"kind": "builtin", "name": "synthetic_stories", "n_documents": -3}, "n_documents"),
        ({"kind": "files", "paths": ["x"], "format": "csv"}, "unknown format 'csv'"),
        ({"kind": "files", "paths": []}, "non-empty list"),
        ({"kind": "huggingface"}, "'id'"),
    ],
)
def test_bad_sources(source: dict, pattern: str) -> None:
    with pytest.raises(CorpusError, match=pattern) as info:
        iter_documents(source)
    assert "\n" not in str(info.value)


def test_source_must_be_a_dict() -> None:
    with pytest.raises(CorpusError):
        iter_documents(["not", "a", "dict"])  # type: ignore[arg-type]


# --------------------------------------------------------------------------- files


def test_text_files_one_document_per_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "b.txt").write_text("  second file\n\nwith two paragraphs  \n")
    (tmp_path / "docs" / "a.txt").write_text("first file")
    (tmp_path / "docs" / "c.txt").write_text(" \n\t\n")  # empty after stripping: dropped
    (tmp_path / "docs" / "d.md").write_bytes("\ufeffmarkdown".encode("utf-8"))  # BOM dropped
    source = {"kind": "files", "paths": ["docs/*.txt", "docs/*.md", "docs/a.txt"], "format": "text"}
    assert list(iter_documents(source)) == ["first file", "second file\n\nwith two paragraphs", "markdown"]
    assert list(iter_documents({**source, "max_documents": 1})) == ["first file"]


def test_missing_glob_names_the_pattern(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.txt").write_text("x")
    with pytest.raises(CorpusError, match=r"'nothing/\*\.txt' matched no files"):
        iter_documents({"kind": "files", "paths": ["a.txt", "nothing/*.txt"], "format": "text"})


def test_invalid_utf8_is_replaced_counted_and_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "bad.txt").write_bytes(b"caf\xe9 and \xff\xfe bytes")  # latin-1 e-acute + 2 invalid bytes
    (tmp_path / "good.txt").write_bytes("legit \ufffd kept".encode("utf-8"))
    stats = CorpusStats()
    with caplog.at_level(logging.WARNING, logger="idscaling.corpus.sources"):
        docs = list(iter_documents({"kind": "files", "paths": [str(tmp_path / "*.txt")]}, stats))
    assert docs == ["caf\ufffd and \ufffd\ufffd bytes", "legit \ufffd kept"]
    assert stats.replacement_chars == 3
    assert stats.files_with_replacements == 1
    records = [r for r in caplog.records if r.name == "idscaling.corpus.sources"]
    assert len(records) == 1
    message = records[0].getMessage()
    assert "bad.txt" in message and "3" in message and "\n" not in message


def _write_rows(tmp_path: Path, fmt: str, rows: list[dict], name: str = "part") -> Path:
    if fmt == "jsonl":
        path = tmp_path / f"{name}.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    else:
        import pandas as pd

        path = tmp_path / f"{name}.parquet"
        pd.DataFrame(rows).to_parquet(path)
    return path


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_jsonl_and_parquet(tmp_path: Path, fmt: str) -> None:
    _write_rows(tmp_path, fmt, [{"body": " one ", "id": 1}, {"body": "", "id": 2}, {"body": "two", "id": 3}], "p0")
    _write_rows(tmp_path, fmt, [{"body": "three", "id": 4}], "p1")
    source = {"kind": "files", "paths": [str(tmp_path / f"*.{fmt}")], "format": fmt, "text_field": "body"}
    assert list(iter_documents(source)) == ["one", "two", "three"]
    assert list(iter_documents({**source, "max_documents": 2})) == ["one", "two"]


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_missing_text_field(tmp_path: Path, fmt: str) -> None:
    _write_rows(tmp_path, fmt, [{"content": "a", "id": 1}])
    source = {"kind": "files", "paths": [str(tmp_path / f"*.{fmt}")], "format": fmt}  # text_field defaults to "text"
    with pytest.raises(CorpusError, match=r"text_field 'text' not found; available columns: \['content', 'id'\]"):
        iter_documents(source)


def test_jsonl_null_text_is_skipped_and_non_text_rejected(tmp_path: Path) -> None:
    _write_rows(tmp_path, "jsonl", [{"text": "a"}, {"text": None}, {"text": "b"}])
    assert list(iter_documents({"kind": "files", "paths": [str(tmp_path / "*.jsonl")], "format": "jsonl"})) == [
        "a",
        "b",
    ]
    _write_rows(tmp_path, "jsonl", [{"text": 1}, {"text": 2}], "numbers")
    source = {"kind": "files", "paths": [str(tmp_path / "numbers.jsonl")], "format": "jsonl"}
    with pytest.raises(CorpusError, match="not text"):
        list(iter_documents(source))


def test_committed_fixture_files() -> None:
    here = Path(__file__).resolve().parents[1] / "data" / "corpus"
    docs = list(iter_documents({"kind": "files", "paths": [str(here / "*.txt")], "format": "text"}))
    assert len(docs) == 2 and docs[0].startswith("The first")


# --------------------------------------------------------------------------- Hugging Face


def test_huggingface_unreachable_fails_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "https://127.0.0.1:9")  # nothing listens on the discard port
    start = time.monotonic()
    with pytest.raises(
        CorpusError,
        match=r"^Hugging Face dataset 'nobody/made-up-corpus-1234' could not be loaded "
        r"\(no network or unknown id\?\): \S",
    ) as info:
        iter_documents({"kind": "huggingface", "id": "nobody/made-up-corpus-1234", "split": "train"})
    assert time.monotonic() - start < 10
    assert "\n" not in str(info.value)


def test_huggingface_offline_mode_fails_fast() -> None:
    """With HF_HUB_OFFLINE=1 set before `datasets` is imported (a fresh interpreter)."""
    code = (
        "import time, idscaling.corpus.sources as c\n"
        "t = time.monotonic()\n"
        "try:\n"
        "    c.iter_documents({'kind': 'huggingface', 'id': 'nobody/made-up-corpus-1234'})\n"
        "except c.CorpusError as e:\n"
        "    print(round(time.monotonic() - t, 2), e)\n"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    seconds, _, message = out.stdout.strip().partition(" ")
    assert message.startswith("Hugging Face dataset 'nobody/made-up-corpus-1234' could not be loaded"), out
    assert float(seconds) < 10


def test_probe_refused_port_is_quick() -> None:
    start = time.monotonic()
    with pytest.raises(ConnectionError, match="127.0.0.1:9"):
        probe_hub("https://127.0.0.1:9", 2.0)
    assert time.monotonic() - start < 3
