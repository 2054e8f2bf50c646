"""Each rule's ``params``: exactly the settings that change its outputs.

Snakemake reruns a job when its params change, so a rule that passed a whole config section would
throw away finished work (GPU-days of training) when a user only changed how jobs run: threads,
device, the number of data-parallel processes, an inference batch size. Those settings are listed
once here, in :data:`EXECUTION_KEYS`; the selectors below leave them out, and a job reads them from
the config at run time (:func:`execution_settings` on ``snakemake.config``). Every other setting
is in the params of each rule whose outputs it changes, and of no other.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "EXECUTION_KEYS",
    "ID_PROTOCOL_KEYS",
    "execution_settings",
    "result_settings",
    "result_config",
    "train_params",
    "model_shape",
    "SHAPE_KEYS",
    "evaluate_params",
    "embed_params",
    "inference_batch_size",
    "id_params",
    "id_protocol_params",
    "fit_params",
    "latent_params",
]

# Per config section, the settings that change only how a job runs, never what it writes (up to
# floating-point summation order: a 2-process run or a GPU differs from one CPU process in the
# last bits, as any rerun on other hardware would).
EXECUTION_KEYS: dict[str, tuple[str, ...]] = {
    # checkpoint_interval: resumable snapshots; processes: DDP draws the same micro-batches in
    # every layout (idscaling.train); compile: the same model, fused; tensorboard: event files
    # beside the log; compile_cache: where compiled kernels are kept for the next job.
    "train": ("device", "threads", "checkpoint_interval", "processes", "compile", "tensorboard", "compile_cache"),
    "evaluate": ("batch_size",),  # sequences per forward pass; the loss is summed over tokens
    "embed": ("batch_size",),
    "id": ("knn",),  # the exact neighbours, whichever library finds them
    # merged shards are byte-identical to one serial job (tests/corpus/test_tokens.py)
    "tokenize": ("shards",),
    # per-forward-pass batch, and the SLURM memory and time of a job
    "pretrained": ("batch_size", "mem_mb", "runtime"),
}

# Settings of the id section that only the protocol comparison (rule id_protocols) reads.
ID_PROTOCOL_KEYS = ("protocols", "protocol_metrics", "min_token_count", "oracle_points", "scale_range_max")

# The fit settings each fitting rule reads.
_FIT_KEYS: dict[str, tuple[str, ...]] = {
    "exponents": ("beta", "ci_level", "params", "data_axis_model", "n_bootstrap", "resample"),
    "joint_fit": ("beta", "ci_level", "params", "n_bootstrap"),
    "pretrained_tables": ("beta", "ci_level", "params", "n_bootstrap", "resample"),
}


def execution_settings(config: Mapping[str, Any], section: str) -> dict:
    """The settings of ``section`` that change only how a job runs, as configured (a job merges
    them into its params' settings at run time)."""
    keys = EXECUTION_KEYS.get(section, ())
    return {k: v for k, v in config.get(section, {}).items() if k in keys}


def result_settings(config: Mapping[str, Any], section: str) -> dict:
    """The settings of ``section`` that change results: all but its execution keys."""
    keys = EXECUTION_KEYS.get(section, ())
    return {k: v for k, v in config[section].items() if k not in keys}


def result_config(config: Mapping[str, Any]) -> dict:
    """The whole config without any execution setting (the archive's params)."""
    return {
        name: result_settings(config, name) if isinstance(value, Mapping) and name in EXECUTION_KEYS else value
        for name, value in config.items()
    }


# The keys of a models entry that make the architecture; the others (lr, min_lr) override the
# train section's settings for that shape.
SHAPE_KEYS = ("n_layer", "n_head", "n_embd", "activation")
# idscaling.lm.model.ACTIVATION, written out so that the workflow does not import torch (tested equal)
DEFAULT_ACTIVATION = "gelu_pytorch_tanh"


def model_shape(config: Mapping[str, Any], model: str) -> dict:
    """The architecture of models entry ``model``: its ``SHAPE_KEYS`` (``activation`` defaults to
    ``DEFAULT_ACTIVATION``, so a config that states the default is the same job)."""
    entry = config["models"][model]
    return {k: entry[k] for k in SHAPE_KEYS if k in entry} | {"activation": entry.get("activation", DEFAULT_ACTIVATION)}


def train_params(config: Mapping[str, Any], model: str | None = None) -> dict:
    """What a training run's weights depend on, besides its shape, subset and seed: the train
    section's result settings, with ``model``'s own lr / min_lr where its models entry sets them."""
    overrides = {k: v for k, v in config["models"][model].items() if k not in SHAPE_KEYS} if model else {}
    return result_settings(config, "train") | overrides


def _context(config: Mapping[str, Any], pretrained: bool) -> int | None:
    """The context of an evaluation or embedding: the training context, or for the pretrained
    suites ``pretrained.context`` (None: each model's maximum)."""
    return config["pretrained"]["context"] if pretrained else config["train"]["block_size"]


def evaluate_params(config: Mapping[str, Any], pretrained: bool = False) -> dict:
    """An evaluation's settings: the bootstrap and the context."""
    return result_settings(config, "evaluate") | {"block_size": _context(config, pretrained)}


def embed_params(config: Mapping[str, Any], pretrained: bool = False) -> dict:
    """Which positions of which layers are embedded: every embed setting but the batch size, and
    the context."""
    return result_settings(config, "embed") | {"block_size": _context(config, pretrained)}


def inference_batch_size(config: Mapping[str, Any], rule: str) -> int:
    """Sequences per forward pass of an evaluate or embed job (an execution setting): the
    pretrained suites' ``pretrained.batch_size`` for their jobs, else that section's."""
    if rule.endswith("_pretrained"):
        return config["pretrained"]["batch_size"]
    return config[rule]["batch_size"]


def id_params(config: Mapping[str, Any]) -> dict:
    """The id settings that change an ID estimate: without the neighbour-search method and the
    protocol comparison's keys (rule id_protocols adds those it reads)."""
    return {k: v for k, v in result_settings(config, "id").items() if k not in ID_PROTOCOL_KEYS}


def id_protocol_params(config: Mapping[str, Any]) -> dict:
    """A protocol comparison job's settings besides its protocol and metric lists (which its rule
    passes on their own): the estimator's, ``min_token_count``, ``oracle_points`` and ``scale_range_max``."""
    return id_params(config) | {k: config["id"][k] for k in ("min_token_count", "oracle_points", "scale_range_max")}


def fit_params(config: Mapping[str, Any], rule: str) -> dict:
    """The fit settings the fitting rule ``rule`` reads (exponents, joint_fit, pretrained_tables)."""
    return {k: config["fit"][k] for k in _FIT_KEYS[rule]}


# The latent-section settings each rule of the controlled test reads.
_LATENT_KEYS: dict[str, tuple[str, ...]] = {
    "latent_diagnostics": ("diagnostic_documents",),
    "known_dimension_table": ("source_points",),
}


def latent_params(config: Mapping[str, Any], rule: str) -> dict:
    """The settings of the ``latent`` section that rule ``rule`` reads."""
    return {k: config["latent"][k] for k in _LATENT_KEYS[rule]}
