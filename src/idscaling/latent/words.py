"""Tokens and the pseudo-words of a latent corpus: which word a token belongs to, how many words
are complete at each token (the Bayes predictive a model state at that token corresponds to is
the one after that many words), the word ids of each document, and the prepared split's whole
documents."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "completed_words",
    "documents_completed_words",
    "oracle_positions",
    "document_word_ids",
    "read_whole_documents",
]


def completed_words(pieces: Sequence[str], text: str) -> np.ndarray:
    """For each token of a document (its decoded ``pieces``, which must join to ``text``, words
    separated by single spaces), the number of words completed once that token is read: a word is
    complete when the text after the token starts with a space or ends. The Bayes predictive a model
    state at that token corresponds to is the one after that many words."""
    if "".join(pieces) != text:
        raise ValueError("the decoded tokens do not spell the document's text")
    chars = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    spaces = np.concatenate([[0], np.cumsum(chars == ord(" "))])  # spaces in text[:i]
    ends = np.cumsum([len(piece) for piece in pieces])
    nxt = np.append(chars, ord(" "))[ends]  # the character after each token (a space at the end)
    prev = chars[np.maximum(ends - 1, 0)]
    done = (nxt == ord(" ")) & (prev != ord(" ")) & (ends > 0)
    return spaces[ends] + done


def documents_completed_words(val: Any, texts: Sequence[str], tokenizer: Any) -> list[np.ndarray]:
    """:func:`completed_words` of every document of a token file (``val``, end-of-text excluded),
    its tokens decoded one by one with ``tokenizer``."""
    if len(texts) != val.n_documents:
        raise ValueError(f"{len(texts)} texts but {val.n_documents} documents in the token file")
    pieces: dict[int, str] = {}
    out = []
    for i, text in enumerate(texts):
        ids = np.asarray(val.document(i)[:-1]).tolist()
        for t in set(ids) - pieces.keys():
            pieces[t] = tokenizer.decode([t])
        out.append(completed_words([pieces[t] for t in ids], text))
    return out


def oracle_positions(positions: np.ndarray, doc_starts: np.ndarray, completed: Sequence[np.ndarray]) -> np.ndarray:
    """(document, t) for each embedded point: the oracle predictive after words ``0..t`` matches
    the model state at that token (``t = completed words - 1``; -1 where no word is complete yet)."""
    positions = np.asarray(positions, dtype=np.int64)
    token_in_doc = positions[:, 1] - np.asarray(doc_starts)[positions[:, 0]] + positions[:, 2]
    t = np.array([completed[d][j] for d, j in zip(positions[:, 0], token_in_doc)], dtype=np.int64) - 1
    return np.stack([positions[:, 0], t], 1)


def document_word_ids(texts: Iterable[str], vocabulary: Sequence[str]) -> list[np.ndarray]:
    """The word ids of each latent document (its text split on single spaces)."""
    index = {w: i for i, w in enumerate(vocabulary)}
    out = []
    for d, text in enumerate(texts):
        words = text.split(" ")
        try:
            out.append(np.fromiter((index[w] for w in words), dtype=np.int64, count=len(words)))
        except KeyError as err:
            raise ValueError(
                f"validation document {d}: {err.args[0]!r} is not a word of the teacher's vocabulary"
            ) from None
    return out


def read_whole_documents(path: str | Path) -> tuple[list[str], list[int]]:
    """The texts of a prepared split and their documents' indices in the source's order, refusing
    chunked documents (a chunk's prefix is not its document's prefix, so the oracle's posterior
    would be wrong)."""
    texts, indices = [], []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            record = json.loads(line)
            if record.get("part", 0) > 0:
                raise ValueError(
                    f"{path}: documents were chunked (split.chunk_chars); the oracle protocol needs whole documents"
                )
            texts.append(record["text"])
            indices.append(int(record["doc"]))
    return texts, indices
