"""Pretrained suites: tiny randomly initialised HF models (GPT-2 and GPT-NeoX/Pythia
architectures) saved locally stand in for the Hub; fetched, tokenized with their own tokenizer,
evaluated, embedded and ID-estimated by the pipeline's rules."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from conftest import REPO, planned_jobs, smk

from idscaling.corpus.sources.builtin import stdlib_files
from idscaling.corpus.tokenizer import load_tokenizer
from idscaling.lm.pretrained import (
    PretrainedError,
    count_safetensors_params,
    fetch_pretrained,
)

TINY = REPO / "tests" / "data" / "tiny_config.yaml"


def _save_tiny(kind: str, dest: Path, tokenizer_json: Path) -> Path:
    """A random tiny causal LM of the given architecture with a byte-level BPE tokenizer, saved
    as a Hugging Face folder (safetensors + tokenizer files) -- what a Hub snapshot holds."""
    from transformers import (
        GPT2Config,
        GPT2LMHeadModel,
        GPTNeoXConfig,
        GPTNeoXForCausalLM,
        PreTrainedTokenizerFast,
    )

    tok = PreTrainedTokenizerFast(tokenizer_file=str(tokenizer_json), eos_token="<|endoftext|>")
    torch.manual_seed(0)
    if kind == "gpt2":
        model = GPT2LMHeadModel(
            GPT2Config(
                vocab_size=len(tok),
                n_positions=64,
                n_embd=32,
                n_layer=2,
                n_head=2,
                eos_token_id=tok.eos_token_id,
                bos_token_id=tok.eos_token_id,
            )
        )
    else:  # Pythia's architecture: rotary positions, untied output layer
        model = GPTNeoXForCausalLM(
            GPTNeoXConfig(
                vocab_size=len(tok),
                max_position_embeddings=48,
                hidden_size=48,
                num_hidden_layers=2,
                num_attention_heads=4,
                intermediate_size=96,
                eos_token_id=tok.eos_token_id,
                bos_token_id=tok.eos_token_id,
                tie_word_embeddings=False,
            )
        )
    model.save_pretrained(dest)
    tok.save_pretrained(dest)
    return dest


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory, small_corpus) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("hf")
    tokenizer_json = small_corpus["root"] / "tokenizer" / "tokenizer.json"
    return {kind: _save_tiny(kind, root / kind, tokenizer_json) for kind in ("gpt2", "neox")}


def test_safetensors_count_equals_the_models_own(tiny_models):
    from transformers import AutoModelForCausalLM

    for kind, path in tiny_models.items():
        model = AutoModelForCausalLM.from_pretrained(path)
        total = sum(p.numel() for p in model.parameters())  # tied weights once
        counts = count_safetensors_params(path)
        assert counts["n_params"] == total, kind
        emb = model.get_input_embeddings().weight.numel()
        pos = model.transformer.wpe.weight.numel() if kind == "gpt2" else 0
        assert counts["n_params_nonembedding"] == total - emb - pos, kind


def test_fetch_links_a_local_folder_and_reads_the_tokenizer(tiny_models, tmp_path):
    source = fetch_pretrained("tiny", str(tiny_models["neox"]), tmp_path / "tiny")
    assert source["model_type"] == source["suite"] == "gpt_neox"  # the suite defaults to the model type
    assert source["context"] == 48 and source["n_layer"] == 2
    assert (tmp_path / "tiny" / "model" / "model.safetensors").is_symlink()
    tok = load_tokenizer(tmp_path / "tiny" / "tokenizer")
    from transformers import AutoTokenizer

    assert tok.kind == "hf" and tok.eot_id == AutoTokenizer.from_pretrained(tiny_models["neox"]).eos_token_id
    # text that spells the end-of-text token inside a document stays ordinary text
    ids = tok.encode_batch(["a <|endoftext|> b"])[0]
    assert tok.eot_id not in ids and len(ids) > 3


def test_offline_hub_id_fails_fast_naming_the_model(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    t0 = time.perf_counter()
    with pytest.raises(
        PretrainedError,
        match="pretrained model 'gpt2_xl': Hugging Face model 'openai-community/gpt2-xl' could not be downloaded",
    ):
        fetch_pretrained("gpt2_xl", "openai-community/gpt2-xl", tmp_path / "x")
    assert time.perf_counter() - t0 < 30
    assert not (tmp_path / "x" / "source.json").exists() and not (tmp_path / "x" / "model").exists()


def test_pretrained_suite_through_the_pipeline(tiny_models, tmp_path):
    work = tmp_path
    (work / "corpus").mkdir()
    for path in stdlib_files()[:40]:
        shutil.copy(path, work / "corpus" / f"{path.stem}_{abs(hash(path)) % 10**6}.py")
    cfg = yaml.safe_load(TINY.read_text())
    cfg["datasets"].pop("latent")
    # one suite: both tiny models share a tokenizer, so their losses are comparable
    cfg["pretrained"] = {
        "models": {
            "tiny_gpt2": {"id": str(tiny_models["gpt2"]), "suite": "tiny"},
            "tiny_neox": {"id": str(tiny_models["neox"]), "suite": "tiny"},
        },
        "batch_size": 4,
    }
    cfg["id"]["protocols"] = ["token", "sequence_mean"]  # the protocol comparison on pretrained models too
    (work / "config.yaml").write_text(yaml.safe_dump(cfg))
    jobs = planned_jobs("--configfile", "config.yaml", targets=["pretrained"], cwd=work)
    # no training: the corpus, then per model one fetch and per (dataset, model) the same rules
    assert "train" not in jobs and jobs["fetch_pretrained"] == 2 and jobs["tokenize_pretrained"] == 2
    assert jobs["evaluate_pretrained"] == jobs["embed_pretrained"] == 2 and jobs["estimate_id_pretrained"] == 2
    assert jobs["id_protocols_pretrained"] == 2 and jobs["pretrained_protocols_table"] == 1
    smk("--configfile", "config.yaml", targets=["pretrained"], cwd=work, timeout=900)

    points = pd.read_csv(work / "results/summary/pretrained.csv").set_index("model")
    assert list(points.index) == ["tiny_gpt2", "tiny_neox"] or set(points.index) == {"tiny_gpt2", "tiny_neox"}
    from transformers import AutoModelForCausalLM, AutoTokenizer

    docs = [json.loads(line)["text"] for line in (work / "results/local/corpus/val.jsonl").read_text().splitlines()]
    for name, kind in (("tiny_gpt2", "gpt2"), ("tiny_neox", "neox")):
        row = points.loc[name]
        model = AutoModelForCausalLM.from_pretrained(tiny_models[kind])
        assert row["n_params"] == sum(p.numel() for p in model.parameters())
        # every validation token, in the model's own tokenizer (one end-of-text per document)
        tok = AutoTokenizer.from_pretrained(tiny_models[kind])
        n_tokens = sum(len(tok(d, add_special_tokens=False)["input_ids"]) + 1 for d in docs)
        assert row["n_val_tokens"] == n_tokens - 1
        # a random init predicts almost uniformly: loss ~ ln V (HF init std 0.02)
        assert row["val_loss"] == pytest.approx(np.log(len(tok)), abs=0.05)
        assert row["id"] > 0 and row["id_ci_low"] <= row["id"] <= row["id_ci_high"]
    exps = pd.read_csv(work / "results/summary/pretrained_exponents.csv")
    assert list(exps["suite"]) == ["tiny"] and exps.loc[0, "held_fixed"] == "suite=tiny (2 models)"
    # two points: the pure law goes through both (slope of log loss vs log params)
    lo, hi = points.sort_values("n_params").iloc[0], points.sort_values("n_params").iloc[1]
    slope = -np.log(hi["val_loss"] / lo["val_loss"]) / np.log(hi["n_params"] / lo["n_params"])
    assert exps.loc[0, "alpha_observed"] == pytest.approx(slope, rel=1e-9)
    assert "at least 4 points" in exps.loc[0, "saturating_note"]
    assert exps.loc[0, "id"] == pytest.approx(points["id"].mean())
    assert (work / "results/figures/pretrained_scaling.png").stat().st_size > 10_000
    protocols = pd.read_csv(work / "results/summary/pretrained_id_protocols.csv")
    assert len(protocols) == 2 * 2 * 2  # (dataset local) x 2 models x 2 protocols x 2 metrics
    token = protocols[(protocols["protocol"] == "token") & (protocols["metric"] == "cosine")].set_index("model")
    assert token["id"].to_dict() == pytest.approx(points["id"].to_dict())  # the same estimate as estimate_id's
    assert set(pd.read_csv(work / "results/summary/pretrained_id_scale.csv")["model"]) == {"tiny_gpt2", "tiny_neox"}
    assert (work / "results/figures/pretrained_id_scale.png").stat().st_size > 10_000
    ident = json.loads((work / "results/local/pretrained/tiny_neox/id/layer_final.json").read_text())
    assert ident["model"] == "tiny_neox" and ident["n_tokens"] is None
