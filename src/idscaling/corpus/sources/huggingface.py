"""Corpus source ``huggingface``: any Hugging Face dataset through ``datasets`` (the only source
that needs a network; offline it fails at once with a message naming the dataset)."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from urllib.parse import urlparse

from idscaling.corpus.sources.common import CorpusError, CorpusStats, first_line
from idscaling.corpus.sources.files import dataset_texts

__all__ = ["iter_documents", "hf_offline_mode", "probe_hub", "HF_PROBE_TIMEOUT_S"]

SYNTHETIC = False
HF_PROBE_TIMEOUT_S = 3.0


def iter_documents(source: dict, stats: CorpusStats) -> Iterator[str]:
    dataset_id = source.get("id")
    if not isinstance(dataset_id, str) or not dataset_id:
        raise CorpusError(f"huggingface source: 'id' must be a non-empty string, got {dataset_id!r}")
    text_field = source.get("text_field", "text")
    try:
        from datasets import load_dataset

        if not os.path.exists(dataset_id) and not hf_offline_mode():
            # Without network the hub client retries for a long while; fail fast instead. Cached datasets
            # stay usable with HF_HUB_OFFLINE=1 (set before `datasets` is imported; then no probe).
            probe_hub(os.environ.get("HF_ENDPOINT", "https://huggingface.co"), HF_PROBE_TIMEOUT_S)
        dataset = load_dataset(
            dataset_id,
            source.get("name"),
            split=source.get("split", "train"),
            revision=source.get("revision"),
            data_dir=source.get("data_dir"),
            streaming=bool(source.get("streaming", False)),
        )
        return dataset_texts(dataset, text_field, f"Hugging Face dataset {dataset_id!r}")
    except CorpusError:
        raise
    except Exception as exc:  # noqa: BLE001 - offline, unknown id, bad config, ...
        raise CorpusError(
            f"Hugging Face dataset {dataset_id!r} could not be loaded (no network or unknown id?): {first_line(exc)}"
        ) from exc


def hf_offline_mode() -> bool:
    """Whether `datasets` itself runs offline (it reads HF_HUB_OFFLINE once, when first imported)."""
    import datasets

    return bool(getattr(datasets.config, "HF_HUB_OFFLINE", False))


def probe_hub(endpoint: str, timeout: float) -> None:
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
        raise ConnectionError(
            f"cannot reach {host}:{port} within {timeout:g} s (for a cached copy set HF_HUB_OFFLINE=1)"
        )
    if outcome[0] is not None:
        raise ConnectionError(f"cannot reach {host}:{port}: {outcome[0]} (for a cached copy set HF_HUB_OFFLINE=1)")
