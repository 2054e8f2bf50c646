"""Token embeddings (hidden states) of a trained model on held-out documents, sampled as in the
paper's code: documents in a seeded random order, each document's first context window(s),
end-of-text positions dropped, at most ``positions_per_window`` shuffled positions kept per
window, then all points shuffled and capped at ``max_points``.

Beside the token-level points, one *sequence-level* point per embedded window (see
:mod:`idscaling.id_protocols`): the ``pool_layer`` states averaged over the window's
non-end-of-text positions (``window_mean``) and the state at its last such position
(``window_last``), with ``windows`` = (document, window start, positions averaged) per row."""

from __future__ import annotations

import logging

import numpy as np
import torch

from idscaling.atomic import save_npy, write_json
from idscaling.corpus.tokens import TokenFile
from idscaling.lm.model import autocast, load_for_inference, max_context
from idscaling.runlog import Progress

log = logging.getLogger(__name__)


def sample_positions(
    val: TokenFile,
    *,
    context: int,
    max_documents: int,
    windows_per_document: int,
    positions_per_window: int,
    seed: int,
) -> list[tuple[int, int, np.ndarray]]:
    """(document, window start in the stream, positions within the window) to embed."""
    rng = np.random.default_rng(seed)
    eot = val.meta["eot_id"]
    plan = []
    for d in rng.permutation(val.n_documents)[:max_documents]:
        doc_start = int(val.doc_starts[d])
        doc = val.document(int(d))
        for w in range(windows_per_document):
            window = np.asarray(doc[w * context : (w + 1) * context])
            candidates = np.flatnonzero(window != eot)
            if len(candidates) == 0:
                break
            keep = rng.permutation(candidates)[:positions_per_window]
            plan.append((int(d), doc_start + w * context, np.sort(keep)))
    return plan


@torch.inference_mode()
def embed(
    model_path: str,
    val: TokenFile,
    *,
    layers: list[str],
    context: int | None = None,
    max_documents: int = 4000,
    windows_per_document: int = 1,
    positions_per_window: int = 32,
    max_points: int = 1_000_000,
    batch_size: int = 16,
    seed: int = 0,
    device: str = "auto",
    threads: int = 1,
    pool_layer: str | None = None,
) -> tuple[dict[str, np.ndarray], np.ndarray, dict]:
    """Hidden states at the sampled positions for each layer name ("final" or an index into
    HF ``hidden_states``: 0 = token embeddings, n_layer = final block output after the last
    LayerNorm). Returns ({layer: float32 array (points, width)}, positions (points, 3): document,
    window start, position in window), meta). With ``pool_layer`` (one of ``layers``) the dict
    also holds that layer's sequence-level points, one row per embedded window in plan order:
    ``window_mean`` and ``window_last`` (float32, (windows, width)) and ``windows`` (int64,
    (windows, 3): document, window start, number of positions averaged)."""
    model, dev = load_for_inference(model_path, device, threads)
    context = context or max_context(model.config)
    n_hidden = model.config.num_hidden_layers
    index = {name: (n_hidden if name == "final" else int(name)) for name in layers}
    plan = sample_positions(
        val,
        context=context,
        max_documents=max_documents,
        windows_per_document=windows_per_document,
        positions_per_window=positions_per_window,
        seed=seed,
    )
    if not plan:
        raise ValueError("no position to embed: the validation documents hold only end-of-text tokens")
    if pool_layer is not None and pool_layer not in index:
        raise ValueError(f"pool_layer {pool_layer!r} is not one of the embedded layers {list(index)}")
    hidden = hidden_states_at(
        model,
        dev,
        val.tokens,
        plan,
        index,
        context=context,
        batch_size=batch_size,
        pool=None if pool_layer is None else (index[pool_layer], int(val.meta["eot_id"])),
    )
    where = [(d, s, int(c)) for d, s, p in plan for c in p]
    order = np.random.default_rng(seed + 1).permutation(len(where))[:max_points]
    arrays = {name: hidden[name][order] for name in layers}
    if pool_layer is not None:
        arrays |= {
            "window_mean": hidden["window_mean"],
            "window_last": hidden["window_last"],
            "windows": np.asarray([(d, s, n) for (d, s, _), n in zip(plan, hidden["window_lengths"])], dtype=np.int64),
        }
    positions = np.asarray(where, dtype=np.int64)[order]
    meta = {
        "model": str(model_path),
        "layers": {name: index[name] for name in layers},
        "n_points": int(len(order)),
        "n_documents": int(len({d for d, _, _ in plan})),
        "n_windows": len(plan),
        "context": int(context),
        "width": int(model.config.hidden_size),
        "max_documents": max_documents,
        "windows_per_document": windows_per_document,
        "positions_per_window": positions_per_window,
        "max_points": max_points,
        "seed": seed,
        "pool_layer": pool_layer,
        "device": str(dev),
    }
    return arrays, positions, meta


@torch.inference_mode()
def hidden_states_at(
    model,
    device: torch.device,
    tokens: np.ndarray,
    plan: list[tuple[int, int, np.ndarray]],
    index: dict[str, int],
    *,
    context: int,
    batch_size: int,
    dtype: str | torch.dtype | None = None,
    pool: tuple[int, int] | None = None,
) -> dict[str, np.ndarray]:
    """float32 hidden states at the positions of ``plan`` (from :func:`sample_positions`), in its
    order: {name: (points, width)} for each ``index`` entry (name -> index into HF
    ``hidden_states``). Runs the model without its LM head, ``batch_size`` windows at a time; the
    states stay on the device and are copied to the host once per layer at the end. ``dtype``
    overrides the autocast dtype (see :func:`idscaling.model.autocast`).

    ``pool=(layer, eot_id)`` adds, per window of ``plan``, the mean of that hidden layer over the
    window's positions that are not ``eot_id`` (``"window_mean"``), the state at the last such
    position (``"window_last"``) and their count (``"window_lengths"``, int64)."""
    base = model.base_model  # the transformer without the output layer: hidden states only
    model.eval()
    names = list(index) + (["window_mean", "window_last", "window_lengths"] if pool else [])
    chunks: dict[str, list[torch.Tensor]] = {name: [] for name in names}
    # (on a GPU the loop only queues work: the rate is that of the queue, close to the GPU's once it is full)
    progress = Progress(log, f"embed {len(plan):,} windows", total=len(plan))
    for i in range(0, len(plan), batch_size):
        part = plan[i : i + batch_size]
        # Right padding is harmless under causal attention: earlier positions never see it.
        x = np.zeros((len(part), context), dtype=np.int64)
        lengths = np.zeros(len(part), dtype=np.int64)
        for row, (_, start, _) in enumerate(part):
            window = np.asarray(tokens[start : start + context], dtype=np.int64)
            x[row, : len(window)] = window
            lengths[row] = len(window)
        with autocast(device, dtype):
            hidden = base(
                input_ids=torch.from_numpy(x).to(device), output_hidden_states=True, use_cache=False
            ).hidden_states
        rows = torch.from_numpy(np.concatenate([np.full(len(p), r) for r, (_, _, p) in enumerate(part)])).to(device)
        cols = torch.from_numpy(np.concatenate([p for _, _, p in part])).to(device)
        for name, layer in index.items():
            chunks[name].append(hidden[layer][rows, cols].float())
        if pool is not None:
            states = hidden[pool[0]].float()
            # a window starts inside its document: everything from the first end-of-text on (the
            # padding, or the next document when the window runs past its own) is not part of it
            is_eot = x == pool[1]
            inside = (np.cumsum(is_eot, axis=1) == 0) & (np.arange(context)[None, :] < lengths[:, None])
            valid = torch.from_numpy(inside).to(device)
            count = valid.sum(dim=1)
            chunks["window_mean"].append((states * valid[..., None]).sum(dim=1) / count[:, None])
            last = context - 1 - torch.flip(valid, dims=[1]).int().argmax(dim=1)
            chunks["window_last"].append(states[torch.arange(len(part), device=device), last])
            chunks["window_lengths"].append(count)
        progress.update(i + len(part), windows=i + len(part))
    return {name: torch.cat(chunks[name]).cpu().numpy() for name in names}


def save_embeddings(
    arrays: dict[str, np.ndarray],
    positions: np.ndarray,
    meta: dict,
    paths: dict[str, str],
    positions_path: str,
    meta_path: str,
) -> None:
    """Write each array of ``arrays`` to ``paths[name]``, the positions and the meta (last), each
    through a rename."""
    for name, array in arrays.items():
        save_npy(paths[name], array)
    save_npy(positions_path, positions)
    write_json(meta_path, meta)
