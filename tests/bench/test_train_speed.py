"""bench/train_speed.py: its nanoGPT-architecture reference is the same function as our model
(weights copied across, same logits), and the measurement runs every model through train_step."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch

BENCH = Path(__file__).resolve().parents[2] / "bench" / "train_speed.py"
SHAPE = {"n_layer": 2, "n_head": 2, "n_embd": 32, "vocab": 97, "context": 16}


@pytest.fixture(scope="module")
def train_speed():
    spec = importlib.util.spec_from_file_location("train_speed", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_reference_has_our_architecture(train_speed):
    ours = train_speed.build("ours", SHAPE, seed=0).eval()
    ref = train_speed.NanoGPT(2, 2, 32, vocab=97, context=16, approximate="tanh").eval()
    assert sum(p.numel() for p in ref.parameters()) == sum(p.numel() for p in ours.parameters())
    hf = ours.state_dict()
    mapped = {}
    for name in ref.state_dict():
        src = "transformer." + name.replace("mlp.0.", "mlp.c_fc.").replace("mlp.2.", "mlp.c_proj.")
        src = "lm_head.weight" if name == "lm_head.weight" else src
        w = hf[src]
        # HF GPT-2's Conv1D stores (in, out); nn.Linear stores (out, in)
        mapped[name] = w.t() if w.dim() == 2 and name.startswith("h.") else w
    ref.load_state_dict(mapped)
    x = torch.randint(0, 97, (2, 16))
    with torch.no_grad():
        torch.testing.assert_close(ref(input_ids=x).logits, ours(input_ids=x).logits, atol=1e-5, rtol=0)


def test_measure_trains_every_model(train_speed):
    rates = train_speed.measure(SHAPE, ["ours", "gelu_new", "nanogpt"], batch=2, steps=2, warmup=1, rounds=2,
                                device=torch.device("cpu"), compile_=False)  # fmt: skip
    assert set(rates) == {"ours", "gelu_new", "nanogpt"}
    assert all(len(v) == 2 and all(r > 0 for r in v) for v in rates.values())
    with pytest.raises(SystemExit, match="bad shape"):
        train_speed.parse_shape("4x128")
    assert train_speed.parse_shape("6x384:8192:256") == {
        "n_layer": 6,
        "n_embd": 384,
        "n_head": 12,
        "vocab": 8192,
        "context": 256,
    }
