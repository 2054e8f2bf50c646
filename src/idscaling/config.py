"""Validate a workflow config against the JSON schema, fill defaults, check what a schema cannot.

Used by ``rules/common.smk`` at parse time, so every problem is reported in one line
before any job runs.
"""

from __future__ import annotations

import copy
import glob
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from idscaling.corpus.sources import token_upper_bound
from idscaling.id.registry import ORACLE_PROTOCOLS, PROTOCOLS
from idscaling.lm.param_count import gpt2_param_counts


class ConfigError(ValueError):
    """A config problem, with a one-line message naming the offending key."""


def load_schema(path: str | Path) -> dict:
    with open(path, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def _where(path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _one_line(error: jsonschema.ValidationError) -> str:
    # oneOf failures (source kinds) are reported through the branch that matches the kind.
    if error.validator == "oneOf" and isinstance(error.instance, dict):
        kind = error.instance.get("kind")
        for sub in error.context or []:
            branch = error.validator_value[sub.schema_path[0]] if sub.schema_path else {}
            if branch.get("properties", {}).get("kind", {}).get("const") == kind:
                return _one_line(sub)
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed))
        hint = f" (allowed: {', '.join(allowed)})" if allowed else ""
        where = _where(error.absolute_path)
        return f"config: unknown key {', '.join(map(repr, extra))} in {where}{hint}"
    return f"config: {_where(error.absolute_path)}: {error.message}"


def _fill_defaults(instance: Any, schema: dict, root: dict) -> None:
    """Set ``default`` values of the schema's object properties (recursively) in place."""
    schema = _deref(schema, root)
    if not isinstance(instance, dict):
        return
    for key, sub in schema.get("properties", {}).items():
        sub_resolved = _deref(sub, root)
        if key not in instance and "default" in sub_resolved:
            instance[key] = copy.deepcopy(sub_resolved["default"])
        if key in instance:
            _fill_defaults(instance[key], sub_resolved, root)
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        for key, value in instance.items():
            if key not in schema.get("properties", {}):
                _fill_defaults(value, extra, root)


def _coerce_strings(instance: Any, schema: dict, root: dict) -> None:
    """Turn strings into numbers/booleans where the schema wants those, in place.

    ``snakemake --config 'id={"k": 10}'`` passes nested values as strings ("10"); parsing them as
    YAML scalars lets one knob be changed from the command line."""
    schema = _deref(schema, root)
    if isinstance(instance, dict):
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for key, value in instance.items():
            sub = props.get(key, extra if isinstance(extra, dict) else None)
            if sub is None:
                continue
            resolved = _deref(sub, root)
            wanted = resolved.get("type")
            wanted = set(wanted) if isinstance(wanted, list) else {wanted}
            if isinstance(value, str) and "string" not in wanted and wanted & {"integer", "number", "boolean", "null"}:
                parsed = _scalar(value)
                if not isinstance(parsed, (dict, list, str)):
                    instance[key] = parsed
            else:
                _coerce_strings(value, resolved, root)
    elif isinstance(instance, list) and isinstance(schema.get("items"), dict):
        items = schema["items"]
        for i, value in enumerate(instance):
            if isinstance(value, str) and items.get("type") in ("integer", "number"):
                parsed = _scalar(value)
                if isinstance(parsed, (int, float)):
                    instance[i] = parsed
            else:
                _coerce_strings(value, items, root)


def _scalar(text: str) -> Any:
    """A YAML scalar, also reading '3e-3' (a string in YAML 1.1) as a float."""
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def _deref(schema: dict, root: dict) -> dict:
    """A schema node with its local ``$ref`` resolved; its own keys (defaults) win."""
    if "$ref" not in schema:
        return schema
    return _resolve(schema["$ref"], root) | {k: v for k, v in schema.items() if k != "$ref"}


def _resolve(ref: str, root: dict) -> dict:
    node: Any = root
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def validate_config(
    config: dict,
    schema: dict,
    *,
    base_dir: str | Path = ".",
    tokens_meta: Callable[[str], Path] | None = None,
) -> dict:
    """Return a validated copy of ``config`` with defaults filled in.

    ``tokens_meta(dataset)`` gives the path of a dataset's training-token sidecar; when that
    file exists already, the data sizes are checked against the tokens it holds.
    Raises ConfigError with a one-line message on the first problem.
    """
    config = copy.deepcopy(config)
    _coerce_strings(config, schema, schema)
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: (len(e.absolute_path), e.path))
    if errors:
        raise ConfigError(_one_line(jsonschema.exceptions.best_match(errors)))
    _fill_defaults(config, schema, schema)
    _check_semantics(config, Path(base_dir), tokens_meta)
    return config


def _check_semantics(config: dict, base_dir: Path, tokens_meta) -> None:
    models = config["models"]
    for name, shape in models.items():
        if shape["n_embd"] % shape["n_head"]:
            raise ConfigError(
                f"config: models.{name}: n_embd ({shape['n_embd']}) must be divisible by n_head ({shape['n_head']})"
            )
    train = config["train"]
    if train["min_lr"] > train["lr"]:
        raise ConfigError(f"config: train.min_lr ({train['min_lr']}) is larger than train.lr ({train['lr']})")
    for name, shape in models.items():
        lr, min_lr = shape.get("lr", train["lr"]), shape.get("min_lr", train["min_lr"])
        if ("lr" in shape or "min_lr" in shape) and min_lr > lr:
            raise ConfigError(f"config: models.{name}: min_lr ({min_lr}) is larger than lr ({lr}) for this shape")
    if train.get("schedule") == "wsd" and train["patience"] is None:
        raise ConfigError(
            "config: train.schedule: wsd needs train.patience (the evaluations without improvement "
            "that start the cooldown)"
        )
    if "cooldown_fraction" in train and train.get("schedule") != "wsd":
        raise ConfigError("config: train.cooldown_fraction is a setting of train.schedule: wsd only")
    for key in ("model", "data_axis_model"):
        section = "embed" if key == "model" else "fit"
        chosen = config[section][key]
        if chosen is not None and chosen not in models:
            raise ConfigError(f"config: {section}.{key}: unknown model {chosen!r} (models: {', '.join(models)})")
    embed_model = models[embedding_model(config)]
    for layer in config["embed"]["layers"]:
        if layer != "final" and layer > embed_model["n_layer"]:
            raise ConfigError(
                f"config: embed.layers: layer {layer} does not exist in a {embed_model['n_layer']}-layer model "
                "(0 = token embeddings, n_layer = final)"
            )
    if config["id"]["k"] >= config["id"]["batch_size"]:
        raise ConfigError(f"config: id.k ({config['id']['k']}) must be smaller than id.batch_size")
    if config["id"]["estimator"] == "tle" and config["id"]["metric"] == "cosine":
        # the same refusal as idscaling.id.tle (not imported: this runs at parse time)
        raise ConfigError(
            "config: id.metric: TLE does not support metric 'cosine' (its measurements assume Euclidean geometry, "
            "which 1 - cos does not satisfy): set id.metric: euclidean (on L2-normalised rows for directions)"
        )
    tok = config["tokenizer"]
    if tok["kind"] == "gpt2" and tok["gpt2_ranks_file"]:
        if not (base_dir / tok["gpt2_ranks_file"]).is_file():
            raise ConfigError(f"config: tokenizer.gpt2_ranks_file: no such file {tok['gpt2_ranks_file']!r}")

    for name, ds in config["datasets"].items():
        sizes = ds["n_tokens"]
        too_small = [n for n in sizes if n <= train["block_size"]]
        if too_small:
            raise ConfigError(
                f"config: datasets.{name}.n_tokens: {too_small[0]} tokens is not more than train.block_size "
                f"({train['block_size']}): no training window fits"
            )
        if config["embed"]["n_tokens"] is not None and config["embed"]["n_tokens"] not in sizes:
            raise ConfigError(
                f"config: embed.n_tokens ({config['embed']['n_tokens']}) is not in datasets.{name}.n_tokens"
            )
        src = ds["source"]
        if src["kind"] == "files":
            for pattern in src["paths"]:
                if not glob.glob(str(base_dir / pattern), recursive=True):
                    raise ConfigError(f"config: datasets.{name}.source.paths: no file matches {pattern!r}")
        meta_path = Path(tokens_meta(name)) if tokens_meta is not None else None
        if meta_path is not None and meta_path.is_file():
            available = json.loads(meta_path.read_text())["n_tokens"]
            check_sizes_available(name, sizes, available)
        else:  # not tokenized yet: a bound from the files' sizes still catches gross mistakes
            _check_sizes_against_bound(name, src, sizes, base_dir)


def _check_sizes_against_bound(dataset: str, source: dict, sizes: list[int], base_dir: Path) -> None:
    if source["kind"] == "files":
        source = dict(source, paths=[str(base_dir / p) for p in source["paths"]])
    bound = token_upper_bound(source)
    if bound is not None and max(sizes) > bound:
        raise ConfigError(
            f"config: datasets.{dataset}.n_tokens: {max(sizes)} is larger than the at most {bound} tokens "
            "that corpus can give"
        )


def check_sizes_available(dataset: str, sizes: list[int], available: int) -> None:
    """Raise ConfigError if a requested data size exceeds the tokens of the training split."""
    over = [n for n in sizes if n > available]
    if over:
        raise ConfigError(
            f"config: datasets.{dataset}.n_tokens: {max(over)} is larger than the {available} "
            "training tokens available in that corpus"
        )


def embedding_model(config: dict) -> str:
    """The model shape whose checkpoint is embedded: ``embed.model`` or the one with most parameters."""
    if config["embed"].get("model"):
        return config["embed"]["model"]

    # ordered by Kaplan's N (non-embedding parameters), which no vocabulary or context changes
    return max(config["models"], key=lambda m: gpt2_param_counts(config["models"][m], 0, 0)["n_params_nonembedding"])


def embedding_n_tokens(config: dict, dataset: str) -> int:
    return config["embed"]["n_tokens"] or max(config["datasets"][dataset]["n_tokens"])


def latent_datasets(datasets: dict) -> list[str]:
    """Names of the datasets whose source is a latent teacher of known dimension, in config order."""
    return [name for name, ds in datasets.items() if ds["source"]["kind"] == "latent"]


def layer_names(config: dict) -> list[str]:
    return [str(layer) for layer in config["embed"]["layers"]]


def protocol_datasets(config: dict) -> list[str]:
    """Datasets whose embedding checkpoint gets the ID-protocol comparison: all of them when
    id.protocols asks for more than the paper's token protocol, else only the latent ones (whose
    known-dimension table compares the protocols)."""
    if list(config["id"]["protocols"]) != ["token"]:
        return list(config["datasets"])
    return latent_datasets(config["datasets"])


def dataset_protocols(config: dict, dataset: str) -> list[str]:
    """The protocols run on one dataset: the configured ones, the oracles only where a latent
    teacher exists; a latent dataset gets every protocol when only the default was configured (its
    known-dimension table is the comparison of the protocols)."""
    protocols = list(config["id"]["protocols"])
    latent = config["datasets"][dataset]["source"]["kind"] == "latent"
    if latent and protocols == ["token"]:
        protocols = list(PROTOCOLS)
    return [p for p in protocols if p not in ORACLE_PROTOCOLS or latent]
