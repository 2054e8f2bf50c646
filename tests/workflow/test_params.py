"""Each rule's params hold exactly the settings that change its outputs (idscaling.workflow.params)."""

from __future__ import annotations

import copy
import re

import pytest
import yaml
from conftest import REPO

from idscaling.config import load_schema, validate_config
from idscaling.workflow.params import (
    EXECUTION_KEYS,
    ID_PROTOCOL_KEYS,
    embed_params,
    evaluate_params,
    execution_settings,
    fit_params,
    id_params,
    id_protocol_params,
    inference_batch_size,
    latent_params,
    result_config,
    result_settings,
    train_params,
)

SCHEMA = load_schema(REPO / "schemas" / "config.schema.yaml")
CONFIG = validate_config(yaml.safe_load((REPO / "config.yaml").read_text()), SCHEMA, base_dir=REPO)
CHANGED = "<changed>"  # the selectors copy values; any value that differs will do


def section_keys(section: str) -> list[str]:
    return list(SCHEMA["properties"][section]["properties"])


def every_selection(config: dict) -> dict:
    """What every rule's params would hold for ``config``."""
    return {
        "train": train_params(config),
        "evaluate": evaluate_params(config),
        "evaluate_pretrained": evaluate_params(config, pretrained=True),
        "embed": embed_params(config),
        "embed_pretrained": embed_params(config, pretrained=True),
        "estimate_id": id_params(config),
        "id_protocols": id_protocol_params(config),
        "exponents": fit_params(config, "exponents"),
        "joint_fit": fit_params(config, "joint_fit"),
        "pretrained_tables": fit_params(config, "pretrained_tables"),
        "latent_diagnostics": latent_params(config, "latent_diagnostics"),
        "known_dimension_table": latent_params(config, "known_dimension_table"),
        "archive": result_config(config),
    }


def changed(section: str, key: str) -> dict:
    config = copy.deepcopy(CONFIG)
    config[section][key] = CHANGED
    return config


def test_every_execution_key_is_a_setting_of_the_schema():
    for section, keys in EXECUTION_KEYS.items():
        assert set(keys) <= set(section_keys(section)), section


@pytest.mark.parametrize("section,key", [(s, k) for s, keys in EXECUTION_KEYS.items() for k in keys])
def test_an_execution_setting_changes_no_rule_params(section, key):
    before = every_selection(CONFIG)
    assert every_selection(changed(section, key)) == before


# Which rules' params each result setting must reach (every rule that reads it).
READERS = {
    "train": lambda key: {"train", "evaluate", "embed"} if key == "block_size" else {"train"},
    "evaluate": lambda key: {"evaluate", "evaluate_pretrained"},
    "embed": lambda key: {"embed", "embed_pretrained"},
    "id": lambda key: {"id_protocols"} if key in ID_PROTOCOL_KEYS else {"estimate_id", "id_protocols"},
    "fit": lambda key: {"data_axis_model": {"exponents"}, "resample": {"exponents", "pretrained_tables"}}.get(
        key, {"exponents", "joint_fit", "pretrained_tables"}
    ),
    "latent": lambda key: {"diagnostic_documents": {"latent_diagnostics"}, "source_points": {"known_dimension_table"}}[
        key
    ],
}


@pytest.mark.parametrize(
    "section,key", [(s, k) for s in READERS for k in section_keys(s) if k not in EXECUTION_KEYS.get(s, ())]
)
def test_a_result_setting_reaches_exactly_its_rules(section, key):
    before, after = every_selection(CONFIG), every_selection(changed(section, key))
    moved = {rule for rule in before if before[rule] != after[rule]}
    if section == "id" and key in ("protocols", "protocol_metrics"):
        # the protocol and metric lists are params of their own in rule id_protocols
        assert moved == {"archive"}
    else:
        assert moved == READERS[section](key) | {"archive"}


def test_pretrained_context_reaches_only_the_pretrained_jobs():
    after = every_selection(changed("pretrained", "context"))
    before = every_selection(CONFIG)
    assert {rule for rule in before if before[rule] != after[rule]} == {
        "evaluate_pretrained",
        "embed_pretrained",
        "archive",
    }


def test_selectors_split_each_section_exactly():
    for section in EXECUTION_KEYS:
        run, result = execution_settings(CONFIG, section), result_settings(CONFIG, section)
        assert run.keys().isdisjoint(result) and run | result == CONFIG[section]
    assert result_config(CONFIG)["train"].keys() == CONFIG["train"].keys() - set(EXECUTION_KEYS["train"])
    assert result_config(CONFIG)["datasets"] == CONFIG["datasets"]


def test_inference_batch_size_of_the_pretrained_suites_is_their_own():
    config = copy.deepcopy(CONFIG)
    config["evaluate"]["batch_size"], config["embed"]["batch_size"], config["pretrained"]["batch_size"] = 3, 5, 7
    assert inference_batch_size(config, "evaluate") == 3 and inference_batch_size(config, "embed") == 5
    assert inference_batch_size(config, "evaluate_pretrained") == inference_batch_size(config, "embed_pretrained") == 7


def test_scripts_read_only_execution_settings_from_the_config():
    """A script that read a result setting from snakemake.config instead of its params would not
    rerun when it changes."""
    for script in sorted((REPO / "scripts").glob("*.py")):
        text = script.read_text()
        for section, key in re.findall(r'snakemake\.config\["(\w+)"\]\["(\w+)"\]', text):
            assert key in EXECUTION_KEYS.get(section, ()), f"{script.name} reads {section}.{key}"
        for call in re.findall(r"(\w+)\(snakemake\.config\b", text):
            assert call in ("execution_settings", "inference_batch_size", "dict"), f"{script.name}: {call}"
        if "dict(snakemake.config)" in text:  # the archive: the full config for its `snakemake --report`
            assert script.name == "archive.py"


def test_a_shape_learning_rate_reaches_only_that_shapes_training():
    from idscaling.workflow.params import model_shape

    config = copy.deepcopy(CONFIG)
    config["models"]["w64"] |= {"lr": 1e-3, "min_lr": 1e-4}
    assert train_params(config, "w64") == train_params(CONFIG, "w64") | {"lr": 1e-3, "min_lr": 1e-4}
    assert train_params(config, "w32") == train_params(CONFIG, "w32") == train_params(CONFIG)
    assert model_shape(config, "w64") == model_shape(CONFIG, "w64")
    assert model_shape(CONFIG, "w64") == {"n_layer": 2, "n_head": 4, "n_embd": 64, "activation": "gelu_pytorch_tanh"}


def test_the_activation_is_part_of_the_shape_and_its_default_is_the_models():
    from idscaling.lm.model import ACTIVATION, ACTIVATIONS
    from idscaling.workflow.params import DEFAULT_ACTIVATION, model_shape

    assert DEFAULT_ACTIVATION == ACTIVATION
    assert tuple(SCHEMA["$defs"]["model_shape"]["properties"]["activation"]["enum"]) == ACTIVATIONS
    config = copy.deepcopy(CONFIG)
    config["models"]["w64"]["activation"] = ACTIVATION  # stating the default is the same job
    assert model_shape(config, "w64") == model_shape(CONFIG, "w64")
    config["models"]["w64"]["activation"] = "gelu_new"  # another activation is another model
    assert model_shape(config, "w64")["activation"] == "gelu_new"
    assert train_params(config, "w64") == train_params(CONFIG, "w64")


def test_a_shape_learning_rate_is_validated():
    from idscaling.config import ConfigError

    raw = yaml.safe_load((REPO / "config.yaml").read_text())
    raw["models"]["w64"]["min_lr"] = 0.5
    with pytest.raises(ConfigError, match=r"models\.w64: min_lr \(0\.5\) is larger than lr \(0\.01\)"):
        validate_config(raw, SCHEMA, base_dir=REPO)
    raw["models"]["w64"] = {"n_layer": 2, "n_head": 4, "n_embd": 64, "lrate": 0.1}
    with pytest.raises(ConfigError, match="unknown key 'lrate'"):
        validate_config(raw, SCHEMA, base_dir=REPO)
