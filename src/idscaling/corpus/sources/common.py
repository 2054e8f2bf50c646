"""What every corpus source shares: its error, its counters and UTF-8 decoding with counted
replacements."""

from __future__ import annotations

import logging
from dataclasses import dataclass

__all__ = ["CorpusError", "CorpusStats", "decode_utf8", "first_line", "logger"]

logger = logging.getLogger("idscaling.corpus.sources")
_REPLACEMENT = "\ufffd"


class CorpusError(ValueError):
    """A corpus source is misconfigured or cannot be read; the message is one line naming the problem."""


@dataclass
class CorpusStats:
    """Counters filled while iterating a source (pass one to :func:`idscaling.corpus.sources.iter_documents`)."""

    replacement_chars: int = 0  # U+FFFD inserted when decoding invalid UTF-8 (local text files, stdlib)
    files_with_replacements: int = 0


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


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
