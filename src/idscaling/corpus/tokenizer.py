"""Tokenizers: the exact GPT-2 BPE through tiktoken, or a byte-level BPE trained with ``tokenizers``.

A tokenizer is saved in a folder (``meta.json`` plus ``tokenizer.json`` or ``gpt2.tiktoken``)
so that every later stage loads exactly the same one, offline.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from idscaling.atomic import file_sha256, write_json

EOT = "<|endoftext|>"


class TokenizerError(RuntimeError):
    """A tokenizer could not be built or loaded; the message says why in one line."""


@dataclass
class Tokenizer:
    """The little the pipeline needs from a tokenizer: batch encoding and the end-of-text id."""

    kind: str
    vocab_size: int
    eot_id: int
    _impl: Any

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        if self.kind == "gpt2":
            # Special-token text inside documents is encoded as ordinary text, never as EOT.
            return self._impl.encode_ordinary_batch(texts)
        if self.kind == "hf":  # a pretrained model's own tokenizer (transformers)
            return self._impl(texts, add_special_tokens=False, split_special_tokens=True)["input_ids"]
        return [enc.ids for enc in self._impl.encode_batch(texts, add_special_tokens=False)]

    def decode(self, ids: list[int]) -> str:
        return self._impl.decode(ids)


def gpt2_encoding(ranks_file: str | Path | None = None):
    """The GPT-2 encoding (50,257 ids, <|endoftext|> = 50256).

    With ``ranks_file`` (a ``gpt2.tiktoken`` file, e.g. from the openai-whisper sdist) it is
    built offline and the file's hash is checked against the one tiktoken expects for
    r50k_base, which has the same ranks, pattern and special token as gpt2.
    """
    import tiktoken
    import tiktoken.load
    from tiktoken_ext import openai_public

    if ranks_file is None:
        try:
            return tiktoken.get_encoding("gpt2")
        except Exception as exc:  # network errors come in many types
            raise TokenizerError(
                "the GPT-2 tokenizer files could not be downloaded (offline?): set tokenizer.gpt2_ranks_file "
                f"to a local gpt2.tiktoken file (see README) [{type(exc).__name__}]"
            ) from None
    expected = _R50K_SHA256
    actual = file_sha256(ranks_file)
    if actual != expected:
        raise TokenizerError(f"{ranks_file}: sha256 {actual[:12]}... is not the GPT-2 ranks file ({expected[:12]}...)")
    ranks = tiktoken.load.load_tiktoken_bpe(str(ranks_file))
    return tiktoken.Encoding(
        name="gpt2",
        pat_str=openai_public.r50k_pat_str,
        mergeable_ranks=ranks,
        special_tokens={EOT: 50256},
        explicit_n_vocab=50257,
    )


# The hash tiktoken itself checks for r50k_base.tiktoken (tiktoken_ext/openai_public.py).
_R50K_SHA256 = "306cd27f03c1a714eca7108e03d66b7dc042abe8c258b44c199a7ed9838dd930"


WHISPER_SDIST = "openai-whisper==20250625"


def fetch_gpt2_ranks(dest: str | Path) -> Path:
    """Get the exact GPT-2 ranks file without the tiktoken download host: it ships as
    ``whisper/assets/gpt2.tiktoken`` in the openai-whisper sdist (MIT) on PyPI. Downloads the
    sdist with pip (PyPI only), extracts that one file to ``dest`` and checks its sha256."""
    import subprocess
    import sys
    import tarfile
    import tempfile

    dest = Path(dest)
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--no-binary",
            ":all:",
            WHISPER_SDIST,
            "-d",
            tmp,
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            raise TokenizerError(f"pip could not download {WHISPER_SDIST} from PyPI: {last}")
        sdist = next(Path(tmp).glob("*.tar.gz"))
        with tarfile.open(sdist) as tar:
            member = next((m for m in tar.getmembers() if m.name.endswith("whisper/assets/gpt2.tiktoken")), None)
            if member is None:
                raise TokenizerError(f"{sdist.name} holds no whisper/assets/gpt2.tiktoken")
            data = tar.extractfile(member).read()
    if hashlib.sha256(data).hexdigest() != _R50K_SHA256:
        raise TokenizerError(f"the gpt2.tiktoken in {WHISPER_SDIST} does not have the expected sha256")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp_dest = dest.with_name(dest.name + ".tmp")
    tmp_dest.write_bytes(data)
    os.replace(tmp_dest, dest)
    return dest


def train_bpe(texts: Iterable[str], vocab_size: int):
    """Train a byte-level BPE (GPT-2 style pre-tokenisation) with <|endoftext|> as its only special token."""
    from tokenizers import Tokenizer as HFTokenizer
    from tokenizers import decoders, models, pre_tokenizers, trainers

    tok = HFTokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[EOT],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    return tok


def iter_jsonl_texts(path: str | Path) -> Iterator[str]:
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            yield json.loads(line)["text"]


def build_tokenizer(
    kind: str,
    train_jsonl: str | Path,
    out_dir: str | Path,
    *,
    vocab_size: int = 2048,
    gpt2_ranks_file: str | Path | None = None,
) -> dict:
    """Build the configured tokenizer into ``out_dir`` and return its ``meta.json`` content.

    ``bpe`` is trained on the training split only (never on selection or validation text).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if kind == "bpe":
        tok = train_bpe(iter_jsonl_texts(train_jsonl), vocab_size)
        path = out_dir / "tokenizer.json"
        tok.save(str(path) + ".tmp")
        os.replace(str(path) + ".tmp", path)
        meta = {"kind": "bpe", "vocab_size": tok.get_vocab_size(), "eot_id": tok.token_to_id(EOT)}
    elif kind == "gpt2":
        enc = gpt2_encoding(gpt2_ranks_file)
        path = out_dir / "gpt2.tiktoken"
        if gpt2_ranks_file is not None:
            shutil.copyfile(gpt2_ranks_file, str(path) + ".tmp")
        else:  # downloaded: write the same ranks in the .tiktoken format
            import base64

            with open(str(path) + ".tmp", "w", encoding="ascii") as fh:
                for token, rank in sorted(enc._mergeable_ranks.items(), key=lambda kv: kv[1]):
                    fh.write(f"{base64.b64encode(token).decode()} {rank}\n")
        os.replace(str(path) + ".tmp", path)
        meta = {"kind": "gpt2", "vocab_size": enc.n_vocab, "eot_id": enc.eot_token}
    else:
        raise TokenizerError(f"unknown tokenizer kind {kind!r} (bpe or gpt2)")
    meta["file"] = path.name
    meta["sha256"] = file_sha256(path)
    write_json(out_dir / "meta.json", meta)
    return meta


def load_tokenizer(tokenizer_dir: str | Path) -> Tokenizer:
    """Load a tokenizer folder written by :func:`build_tokenizer` (offline)."""
    tokenizer_dir = Path(tokenizer_dir)
    meta = json.loads((tokenizer_dir / "meta.json").read_text())
    path = tokenizer_dir / meta["file"]
    if meta["kind"] == "bpe":
        from tokenizers import Tokenizer as HFTokenizer

        impl = HFTokenizer.from_file(str(path))
        # Text that spells "<|endoftext|>" inside a document is ordinary text, as with tiktoken's
        # encode_ordinary; only the pipeline inserts the end-of-text id, between documents.
        impl.encode_special_tokens = True
    elif meta["kind"] == "hf":
        # A pretrained model's tokenizer (written by idscaling.pretrained.fetch_pretrained).
        from transformers import AutoTokenizer

        impl = AutoTokenizer.from_pretrained(str(path))
        impl.model_max_length = 10**12  # documents are long; the pipeline cuts its own windows
    else:
        impl = gpt2_encoding(path)
    return Tokenizer(kind=meta["kind"], vocab_size=meta["vocab_size"], eot_id=meta["eot_id"], _impl=impl)
