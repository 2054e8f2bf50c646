"""Config validation: every bad input gets one line naming the key."""

from __future__ import annotations

import copy
import json

import pytest
import yaml
from conftest import REPO

from idscaling.config import ConfigError, embedding_model, load_schema, validate_config

SCHEMA = load_schema(REPO / "schemas" / "config.schema.yaml")
DEFAULT = yaml.safe_load((REPO / "config.yaml").read_text())


def check(cfg, **kw):
    return validate_config(cfg, SCHEMA, base_dir=REPO, **kw)


def bad(mutate, match, **kw):
    cfg = copy.deepcopy(DEFAULT)
    mutate(cfg)
    with pytest.raises(ConfigError, match=match) as err:
        check(cfg, **kw)
    assert "\n" not in str(err.value)
    return str(err.value)


def test_default_config_is_valid_and_defaults_are_filled():
    cfg = check(DEFAULT)
    assert cfg["seeds"] == [0]
    assert cfg["evaluate"]["ci_level"] == 0.95
    assert cfg["datasets"]["prose"]["synthetic"] is False
    assert cfg["train"]["lr"] == DEFAULT["train"]["lr"]  # given values are kept
    assert embedding_model(cfg) == "w64"  # the largest shape
    assert DEFAULT.get("evaluate", {}).get("ci_level") is None  # the input is not modified


def test_minimal_config_gets_paper_defaults():
    cfg = check(
        {
            "datasets": {"d": {"source": {"kind": "builtin", "name": "python_stdlib"}, "n_tokens": [1000]}},
            "models": {"m": {"n_layer": 1, "n_head": 1, "n_embd": 8}},
        }
    )
    t = cfg["train"]
    assert (t["lr"], t["min_lr"], t["beta2"], t["weight_decay"], t["grad_clip"], t["warmup_steps"]) == (
        6e-4,
        6e-5,
        0.95,
        0.1,
        1.0,
        2000,
    )
    assert cfg["id"] == {
        "estimator": "mle",
        "k": 20,
        "metric": "cosine",
        "comb": None,
        "batch_size": 3600,
        "n_bootstrap": 1000,
        "ci_level": 0.95,
        "seed": 0,
        "discard_fraction": 0.1,
        "protocols": ["token"],
        "protocol_metrics": ["cosine", "euclidean"],
        "min_token_count": 2,
        "oracle_points": 3600,
        "scale_range_max": 64,
    }
    assert (cfg["fit"]["n_bootstrap"], cfg["fit"]["resample"]) == (1000, "points")
    assert cfg["latent"] == {"diagnostic_documents": 200, "source_points": 3600}
    assert cfg["datasets"]["d"]["split"]["seed"] == 2357


def test_unknown_keys_are_errors():
    msg = bad(lambda c: c.update(trian={}), "unknown key 'trian'")
    assert "allowed: datasets" in msg
    bad(lambda c: c["train"].update(learning_rate=1), r"unknown key 'learning_rate' in train")
    bad(lambda c: c["datasets"]["prose"]["source"].update(paths=["x"]), r"unknown key 'paths' in datasets.prose.source")


def test_negative_zero_and_small_sizes():
    bad(
        lambda c: c["datasets"]["code"].update(n_tokens=[1000, -5]),
        r"datasets.code.n_tokens\[1\]: -5 is less than the minimum of 1",
    )
    bad(lambda c: c["datasets"]["code"].update(n_tokens=[]), r"datasets.code.n_tokens: \[\] should be non-empty")
    bad(lambda c: c["datasets"]["code"].update(n_tokens=[50]), "50 tokens is not more than train.block_size")


def test_oversized_n_against_tokenized_corpus(tmp_path):
    meta = tmp_path / "train.json"
    biggest = max(DEFAULT["datasets"]["prose"]["n_tokens"])
    meta.write_text(json.dumps({"n_tokens": biggest - 1}))
    bad(
        lambda c: None,
        rf"datasets.prose.n_tokens: {biggest} is larger than the {biggest - 1} training tokens",
        tokens_meta=lambda ds: meta,
    )
    check(DEFAULT, tokens_meta=lambda ds: tmp_path / "absent.json")  # not tokenized yet: nothing to check


def test_missing_files_and_other_semantics():
    bad(
        lambda c: c["datasets"]["code"].update(source={"kind": "files", "paths": ["no/such/*.txt"]}),
        r"datasets.code.source.paths: no file matches 'no/such/\*.txt'",
    )
    bad(
        lambda c: c["datasets"]["code"].update(source={"kind": "builtin", "name": "wikipedia"}),
        r"datasets.code.source.name: 'wikipedia' is not one of",
    )
    bad(lambda c: c["models"]["w64"].update(n_head=3), "n_embd \\(64\\) must be divisible by n_head \\(3\\)")
    bad(lambda c: c["embed"].update(model="huge"), "embed.model: unknown model 'huge'")
    bad(lambda c: c["embed"].update(layers=[7]), "layer 7 does not exist in a 2-layer model")
    bad(lambda c: c["tokenizer"].update(kind="gpt2", gpt2_ranks_file="nope.tiktoken"), "no such file 'nope.tiktoken'")
    bad(lambda c: c["train"].update(min_lr=1.0), "train.min_lr")
    bad(lambda c: c["datasets"].update({"bad name": c["datasets"]["code"]}), "does not match")


def test_command_line_strings_are_coerced():
    cfg = copy.deepcopy(DEFAULT)
    cfg["id"] = {"k": "10", "metric": "euclidean"}
    cfg["train"]["lr"] = "3e-3"
    out = check(cfg)
    assert out["id"]["k"] == 10 and out["train"]["lr"] == 3e-3 and out["id"]["metric"] == "euclidean"
    cfg["id"]["k"] = "ten"
    with pytest.raises(ConfigError, match="id.k: 'ten' is not of type 'integer'"):
        check(cfg)


def test_oversized_n_caught_before_tokenization_by_a_size_bound(tmp_path):
    (tmp_path / "a.txt").write_text("x" * 1000)
    cfg = copy.deepcopy(DEFAULT)
    cfg["datasets"] = {
        "tiny": {"source": {"kind": "files", "paths": [str(tmp_path / "*.txt")]}, "n_tokens": [5000, 7000]}
    }
    with pytest.raises(ConfigError, match=r"datasets.tiny.n_tokens: 7000 is larger than the at most 6001 tokens"):
        check(cfg)
    cfg["datasets"]["tiny"]["n_tokens"] = [5000]
    check(cfg)  # within the bound: left to the check against the tokenized corpus
    bad(lambda c: c["datasets"]["code"].update(n_tokens=[10**9]), r"datasets.code.n_tokens: 1000000000 is larger")


def test_latent_source_and_the_sweep_config():
    sweep = check(yaml.safe_load((REPO / "config" / "latent_sweep.yaml").read_text()))
    ks = [d["source"]["k"] for d in sweep["datasets"].values()]
    assert ks == [2, 4, 8, 16] and all(d["source"]["kind"] == "latent" for d in sweep["datasets"].values())

    def latent(**source):
        return lambda c: c["datasets"]["code"].update(source={"kind": "latent", **source})

    bad(latent(k=2, max_frequency=2), r"unknown key 'max_frequency' in datasets.code.source")
    bad(latent(k=0), r"datasets.code.source.k: 0 is less than the minimum of 1")
    bad(latent(), r"datasets.code.source: 'k' is a required property")


def test_latent_source_teacher_keys():
    def latent(**source):
        return lambda c: c["datasets"]["code"].update(source={"kind": "latent", **source})

    holder = {
        "kind": "latent",
        "k": 2,
        "teacher": "holder",
        "smoothness": 0.8,
        "channels": 8,
        "octaves": 6,
        "features_per_octave": 64,
        "frequency_scale": 1.0,
        "logit_scale": 2.0,
        "vocab": 64,
    }
    cfg = copy.deepcopy(DEFAULT)
    cfg["datasets"]["code"]["source"] = holder
    assert check(cfg)["datasets"]["code"]["source"] == holder  # no defaults filled: latent_settings does
    cfg["datasets"]["code"]["source"] = {"kind": "latent", "k": 2, "teacher": "features", "n_features": 4}
    check(cfg)
    bad(latent(k=2, teacher="gp"), r"datasets.code.source.teacher: 'gp' is not one of \['features', 'holder'\]")
    bad(latent(k=2, teacher="holder", n_features=4), r"datasets.code.source.n_features: .*features teacher only")
    bad(latent(k=2, smoothness=1.0), r"datasets.code.source.smoothness: .*holder teacher only")
    bad(latent(k=2, teacher="features", octaves=3), r"datasets.code.source.octaves: .*holder teacher only")
    bad(latent(k=2, teacher="holder", smoothness=2), r"datasets.code.source.smoothness: 2 is greater than or equal")
    bad(latent(k=2, teacher="holder", smoothness=0), r"datasets.code.source.smoothness: 0 is less than or equal")
    bad(
        latent(k=2, teacher="holder", frequency_scale=0),
        r"datasets.code.source.frequency_scale: 0 is less than or equal",
    )
    bad(latent(k=2, teacher="holder", channels=0), r"datasets.code.source.channels: 0 is less than the minimum of 1")


def test_wsd_schedule_needs_patience_and_cooldown_fraction_needs_wsd():
    import yaml
    from conftest import REPO

    from idscaling.config import ConfigError, load_schema, validate_config

    schema = load_schema(REPO / "schemas" / "config.schema.yaml")
    raw = yaml.safe_load((REPO / "config.yaml").read_text())
    raw["train"] |= {"schedule": "wsd", "patience": None}
    with pytest.raises(ConfigError, match="train.schedule: wsd needs train.patience"):
        validate_config(raw, schema, base_dir=REPO)
    raw["train"] |= {"schedule": "cosine", "patience": 4, "cooldown_fraction": 0.3}
    with pytest.raises(ConfigError, match="cooldown_fraction is a setting of train.schedule: wsd only"):
        validate_config(raw, schema, base_dir=REPO)
    raw["train"]["schedule"] = "wsd"
    assert validate_config(raw, schema, base_dir=REPO)["train"]["cooldown_fraction"] == 0.3
