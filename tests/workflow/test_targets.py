"""The workflow's file layout (idscaling.workflow.targets) for the default, a latent and a
pretrained config."""

from __future__ import annotations

import copy
from types import SimpleNamespace

import yaml
from conftest import REPO

from idscaling.config import load_schema, validate_config
from idscaling.workflow.targets import Targets, final_layer

SCHEMA = load_schema(REPO / "schemas" / "config.schema.yaml")
RAW = yaml.safe_load((REPO / "config.yaml").read_text())
CONFIG = validate_config(RAW, SCHEMA, base_dir=REPO)


def with_latent() -> dict:
    raw = copy.deepcopy(RAW)
    raw["datasets"]["toy"] = {"source": {"kind": "latent", "k": 2, "n_documents": 400}, "n_tokens": [1000, 2000]}
    return validate_config(raw, SCHEMA, base_dir=REPO)


def test_the_default_grid():
    t = Targets(CONFIG, "res")
    runs = sum(len(d["n_tokens"]) for d in RAW["datasets"].values()) * len(RAW["models"]) * len(RAW["seeds"])
    assert len(t.eval_jsons()) == len(set(t.eval_jsons())) == len(t.train_summaries()) == runs
    assert "res/code/eval/w16/n12500/seed0.json" in t.eval_jsons()
    assert "res/prose/models/w64/n100000/seed0/train_summary.json" in t.train_summaries()
    # the largest shape at the largest size, every layer; the final layer is "final"
    assert t.embedding_model == "w64" and t.final_layer == "final"
    assert sorted(t.id_jsons()) == sorted(
        f"res/{d}/id/w64/n100000/seed0/layer_{layer}.json" for d in ("prose", "code") for layer in ("0", "1", "final")
    )
    # Fig. 4: the other shapes' final layer at the same size
    assert "res/code/id/w16/n100000/seed0/layer_final.json" in t.analysis_id_jsons()
    assert "res/code/id/w16/n100000/seed0/layer_0.json" not in t.analysis_id_jsons()
    assert len(t.by_position_jsons()) == 2
    # no latent corpus, only the token protocol, no pretrained suite: none of their outputs
    assert t.protocol_jsons() == t.latent_diagnostic_jsons() == t.pretrained_outputs() == []
    assert t.known_dimension_outputs() == t.protocol_outputs() == []
    assert set(t.all_outputs()) == set(t.summary_tables() + t.figures())
    assert "protocols" not in t.exponents_inputs()


def test_a_latent_corpus_adds_the_protocols_and_the_oracle_inputs():
    t = Targets(with_latent())
    assert t.latent_datasets == ["toy"]
    assert t.protocol_jsons() == ["results/toy/id/w64/n2000/seed0/protocols.json"]
    assert t.latent_diagnostic_jsons() == ["results/toy/diagnostics/w64/n2000/seed0.json"]
    assert "results/summary/known_dimension.csv" in t.all_outputs()
    assert t.exponents_inputs()["protocols"] == "results/summary/id_protocols.csv"
    w = SimpleNamespace(dataset="toy", model="w64", n="2000", seed="0")
    inputs = t.id_protocol_inputs(w)
    assert inputs["points"] == "results/toy/embeddings/w64/n2000/seed0/layer_final.npy"
    assert inputs["val_texts"] == "results/toy/corpus/val.jsonl"  # the oracle needs the texts
    assert t.latent_diagnostic_inputs(w)["weights"] == "results/toy/models/w64/n2000/seed0/model.safetensors"
    # a corpus without a teacher gets no oracle, so no texts
    assert "val_texts" not in t.id_protocol_inputs(SimpleNamespace(dataset="code", model="w64", n="100000", seed="0"))


def test_pretrained_suites_and_a_last_layer_other_than_final():
    raw = copy.deepcopy(RAW)
    raw["pretrained"] = {"models": {"tiny": {"id": "sshleifer/tiny-gpt2", "suite": "gpt2"}}}
    raw["embed"]["layers"] = [0, 1]
    config = validate_config(raw, SCHEMA, base_dir=REPO)
    t = Targets(config)
    assert final_layer(config) == t.final_layer == "1"
    assert t.pretrained_files("source") == ["results/pretrained/tiny/source.json"]
    assert t.pretrained_files("id") == [f"results/{d}/pretrained/tiny/id/layer_1.json" for d in ("prose", "code")]
    assert "results/summary/pretrained.csv" in t.all_outputs()
    assert "results/summary/pretrained_id_protocols.csv" not in t.all_outputs()  # token protocol only


def test_id_against_quality_adds_every_shape_and_size_of_the_first_seed_with_model_protocols_only():
    config = with_latent()
    assert Targets(config).quality_checkpoints() == []
    config["id_analyses"]["quality"] = True
    config["seeds"] = [3, 4]
    t = Targets(config)
    assert t.quality_checkpoints() == [("toy", m, n, 3) for m in ("w16", "w32", "w64") for n in (1000, 2000)]
    inputs = t.quality_inputs()
    assert len(inputs["protocols"]) == len(inputs["diagnostics"]) == len(inputs["evals"]) == 6
    assert inputs["oracle"] == [f"results/toy/id/w64/n2000/seed{s}/protocols.json" for s in (3, 4)]
    assert {"results/summary/id_quality.csv", "results/figures/id_quality.png"} <= set(t.all_outputs())
    # the oracles run on the embedding checkpoint only; the others get the model protocols
    everything = t.checkpoint_protocols(SimpleNamespace(dataset="toy", model="w64", n="2000", seed="4"))
    assert {"oracle", "oracle_window"} <= set(everything)
    assert t.checkpoint_protocols(SimpleNamespace(dataset="toy", model="w16", n="2000", seed="3")) == [
        p for p in everything if not p.startswith("oracle")
    ]
