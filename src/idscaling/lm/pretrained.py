"""Pretrained model suites (GPT-2 small to XL, Pythia 70M to 12B, ...): model scaling without
training, as in the paper's Fig. 3.

A suite is a config list of Hugging Face causal-LM ids (or local folders in HF format).
:func:`fetch_pretrained` puts each model into ``results/pretrained/<name>/model/`` (downloaded
there from the Hub, or linked from a local folder) and writes a tokenizer folder the pipeline's
``tokenize`` rule reads, so the validation split is encoded with the model's own tokenizer and
the same ``evaluate``, ``embed`` and ``estimate_id`` rules as for trained checkpoints run on it.
Parameter counts are read from the safetensors headers, without loading the weights.

Offline, a Hub id fails within seconds with a message naming the model (the Hub client would
otherwise retry for minutes).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from idscaling.atomic import write_json
from idscaling.corpus.sources.huggingface import probe_hub as probe
from idscaling.lm.model import max_context

__all__ = ["PretrainedError", "fetch_pretrained", "count_safetensors_params", "max_context", "WEIGHT_PATTERNS"]

# What a causal LM needs for inference: config, weights (safetensors only: no pickles), tokenizer.
WEIGHT_PATTERNS = ["*.json", "*.safetensors", "*.txt", "*.model", "*.tiktoken", "merges.txt", "vocab.*"]
HUB_PROBE_TIMEOUT_S = 3.0


class PretrainedError(RuntimeError):
    """A pretrained model could not be fetched or read; the message is one line naming it."""


def count_safetensors_params(model_dir: str | Path) -> dict[str, int]:
    """Parameters stored in the folder's safetensors files (tied weights are stored once) and the
    same without the input embedding and learned position tables (Kaplan et al.'s non-embedding
    count; an untied output layer is counted as non-embedding, as in Pythia's published sizes)."""
    from safetensors import safe_open

    files = sorted(Path(model_dir).glob("*.safetensors"))
    if not files:
        raise PretrainedError(f"no *.safetensors weights in {model_dir} (pickled .bin weights are not loaded)")
    total = embedding = 0
    for path in files:
        with safe_open(str(path), framework="numpy") as f:
            for name in f.keys():
                shape = f.get_slice(name).get_shape()
                n = 1
                for dim in shape:
                    n *= int(dim)
                total += n
                leaf = name.split(".")[-2] if name.count(".") >= 1 else name
                if leaf in ("wte", "wpe", "embed_in", "embed_tokens", "word_embeddings", "position_embeddings"):
                    embedding += n
    return {"n_params": total, "n_params_nonembedding": total - embedding}


def _probe_hub() -> None:
    probe(os.environ.get("HF_ENDPOINT", "https://huggingface.co"), HUB_PROBE_TIMEOUT_S)


def _link_local(src: Path, dest: Path) -> None:
    """Link every file of a local HF folder into ``dest`` (no copy of the weights)."""
    for path in sorted(src.iterdir()):
        if path.is_file():
            os.symlink(path.resolve(), dest / path.name)


def fetch_pretrained(
    name: str, model_id: str, out_dir: str | Path, *, revision: str | None = None, suite: str | None = None
) -> dict:
    """Materialise one pretrained model in ``out_dir/model`` and its tokenizer description in
    ``out_dir/tokenizer/meta.json``; write and return ``out_dir/source.json`` (last: a folder with
    a ``source.json`` is complete; a failure leaves nothing that looks complete).

    ``model_id`` is a local folder in HF format or a Hub id (downloaded with
    ``huggingface_hub.snapshot_download``, safetensors only, at ``revision``)."""
    from transformers import AutoConfig, AutoTokenizer

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model_dir = out_dir / "model"
    staging = Path(tempfile.mkdtemp(prefix=".model-", dir=out_dir))
    local = Path(model_id).expanduser()
    try:
        if local.is_dir():
            _link_local(local, staging)
            commit = None
        else:
            from huggingface_hub import snapshot_download

            try:
                if os.environ.get("HF_HUB_OFFLINE", "0") in ("0", "", "false", "False"):
                    _probe_hub()
                path = snapshot_download(model_id, revision=revision, local_dir=staging, allow_patterns=WEIGHT_PATTERNS)
            except Exception as exc:  # noqa: BLE001 - offline, unknown or gated id, bad revision, ...
                reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise PretrainedError(
                    f"pretrained model {name!r}: Hugging Face model {model_id!r} could not be downloaded "
                    f"(no network, unknown or gated id?): {reason}"
                ) from exc
            commit = _snapshot_commit(Path(path))
        try:
            config = AutoConfig.from_pretrained(staging)
            tokenizer = AutoTokenizer.from_pretrained(staging)
        except Exception as exc:  # noqa: BLE001
            raise PretrainedError(
                f"pretrained model {name!r} ({model_id}): cannot read its config or tokenizer: {exc}"
            ) from exc
        if tokenizer.eos_token_id is None:
            raise PretrainedError(
                f"pretrained model {name!r} ({model_id}): its tokenizer has no end-of-text (eos) token"
            )
        counts = count_safetensors_params(staging)
        if model_dir.exists():
            shutil.rmtree(model_dir)
        os.replace(staging, model_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    vocab_size = max(len(tokenizer), int(getattr(config, "vocab_size", 0) or 0))
    (out_dir / "tokenizer").mkdir(exist_ok=True)
    write_json(
        out_dir / "tokenizer" / "meta.json",
        {
            "kind": "hf",
            "file": "../model",
            "vocab_size": vocab_size,
            "eot_id": int(tokenizer.eos_token_id),
            "model": model_id,
        },
    )
    source = {
        "name": name,
        "id": model_id,
        "revision": revision,
        "commit": commit,
        "model_type": config.model_type,
        "suite": suite or config.model_type,
        "n_layer": int(config.num_hidden_layers),
        "n_embd": int(config.hidden_size),
        "context": max_context(config),
        "vocab_size": vocab_size,
        **counts,
    }
    write_json(out_dir / "source.json", source)
    return source


def _snapshot_commit(path: Path) -> str | None:
    # snapshot_download(local_dir=...) records the commit of each file in .cache/huggingface.
    for meta in sorted((path / ".cache" / "huggingface" / "download").glob("*.metadata")):
        first = meta.read_text().splitlines()[:1]
        if first:
            return first[0].strip()
    return None


def read_source(path: str | Path) -> dict:
    return json.loads(Path(path).read_text())
