"""A broken line of a JSON-lines corpus (issue 10): one error line naming the file, the 1-based
line number and what is wrong -- from iter_documents and, through the workflow, in the job's log."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
import yaml
from conftest import REPO, smk

from idscaling.corpus.sources import CorpusError, iter_documents

GOOD = [json.dumps({"id": i, "text": f"document number {i} " + "word " * 20}) for i in range(40)]


def _corpus(tmp_path: Path, line_17: bytes, name: str = "x.jsonl") -> Path:
    """40 valid lines, line 17 replaced by ``line_17``."""
    lines = [g.encode() for g in GOOD]
    lines[16] = line_17
    path = tmp_path / name
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def _error(path: Path, **source) -> str:
    with pytest.raises(CorpusError) as info:
        list(iter_documents({"kind": "files", "paths": [str(path)], "format": "jsonl"} | source))
    message = str(info.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize(
    "line, problem",
    [
        (b'{"id": 16, "text": "a" "b"}', "not valid JSON (Expecting ',' delimiter: column 24)"),
        (b'{"id": 16, "text": "cut off', "not valid JSON (Unterminated string starting at: column 20)"),
        (b'["text", "a list"]', "an array, not a JSON object"),
        (b'"just a string"', "a string, not a JSON object"),
        (b'{"id": 16, "body": "no text field"}', "text_field 'text' not found; available columns: ['id', 'body']"),
        (b'{"id": 16, "text": 3.5}', "field 'text' holds a number, not text"),
        (b'{"id": 16, "text": ["a"]}', "field 'text' holds an array, not text"),
        ('{"id": 16, "text": "caf\xe9"}'.encode("latin-1"), "not valid UTF-8 (byte 0xe9 at byte 24 of the line"),
    ],
)
def test_broken_line_is_named_by_file_and_line(tmp_path, line, problem):
    path = _corpus(tmp_path, line)
    message = _error(path)
    assert message.startswith(f"corpus file {path}, line 17: ")
    assert problem in message


def test_lines_before_the_broken_one_are_read(tmp_path):
    """The error comes when the reader reaches line 17, after the 16 documents before it."""
    docs = iter_documents({"kind": "files", "paths": [str(_corpus(tmp_path, b"{oops"))], "format": "jsonl"})
    assert [next(docs) for _ in range(16)] == [json.loads(g)["text"].strip() for g in GOOD[:16]]
    with pytest.raises(CorpusError, match="line 17: not valid JSON"):
        next(docs)


def test_line_numbers_count_per_file_and_skip_nothing(tmp_path):
    """Blank lines and null texts are skipped but still counted: the number is the file's line."""
    (tmp_path / "a.jsonl").write_text('{"text": "one"}\n')
    (tmp_path / "b.jsonl").write_text('{"text": "two"}\n\n{"text": null}\n{"text": 5}\n')
    message = _error(tmp_path / "*.jsonl")
    assert message.startswith(f"corpus file {tmp_path / 'b.jsonl'}, line 4: field 'text' holds a number")


def test_custom_text_field_and_compressed_files(tmp_path):
    with gzip.open(tmp_path / "c.jsonl.gz", "wt") as fh:
        fh.write('{"body": "zipped one"}\n{"body": "zipped two"}\n{"text": "x"}\n')
    source = {"kind": "files", "paths": [str(tmp_path / "c.jsonl.gz")], "format": "jsonl", "text_field": "body"}
    docs = iter_documents(source)
    assert [next(docs), next(docs)] == ["zipped one", "zipped two"]
    with pytest.raises(CorpusError, match=r"c\.jsonl\.gz, line 3: text_field 'body' not found"):
        next(docs)


def test_utf8_byte_order_mark_is_allowed(tmp_path):
    (tmp_path / "bom.jsonl").write_bytes(b'\xef\xbb\xbf{"text": "caf\xc3\xa9"}\n')
    assert list(iter_documents({"kind": "files", "paths": [str(tmp_path / "bom.jsonl")], "format": "jsonl"})) == [
        "café"
    ]


def test_broken_line_reaches_the_job_log_through_the_workflow(tmp_path):
    """As a user sees it: `snakemake` fails, and the prepare_corpus log ends with the one-line
    error naming data/x.jsonl and line 17 (not a generic dataset-generation error)."""
    (tmp_path / "data").mkdir()
    _corpus(tmp_path / "data", b'{"id": 16, "text": "a" "b"}')
    cfg = yaml.safe_load((REPO / "tests" / "data" / "tiny_config.yaml").read_text())
    cfg["datasets"] = {
        "broken": {"source": {"kind": "files", "paths": ["data/x.jsonl"], "format": "jsonl"}, "n_tokens": [1000]}
    }
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg))
    proc = smk("--configfile", "config.yaml", targets=["results/broken/corpus/meta.json"], cwd=tmp_path, check=False)
    assert proc.returncode != 0
    log = (tmp_path / "logs/prepare_corpus/broken.log").read_text()
    expected = "corpus file data/x.jsonl, line 17: not valid JSON (Expecting ',' delimiter: column 24)"
    assert expected in log.splitlines()[-1], log[-2000:]
    assert "An error occurred while generating the dataset" not in log
    assert not list(tmp_path.glob("results/broken/corpus/*"))  # nothing half-written left behind
