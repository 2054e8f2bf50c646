import os
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError

# The pipeline's logic lives in the idscaling package (src/). It is put on the path here, for
# this process and (through PYTHONPATH) for every job, whether it runs in the project's venv or
# in a conda env built from envs/*.yaml, which hold only the pinned third-party packages.
SRC = str(Path(workflow.basedir) / "src")
sys.path.insert(0, SRC)
# (Set here, not read: the envvars directive is for variables the user must provide.)
os.environ.update(
    PYTHONPATH=os.pathsep.join(p for p in (SRC, os.environ.get("PYTHONPATH")) if p)
)

from idscaling.config import (
    ConfigError,
    dataset_protocols,
    load_schema,
    validate_config,
)
from idscaling.workflow import resources
from idscaling.workflow.params import (
    embed_params,
    evaluate_params,
    fit_params,
    id_params,
    id_protocol_params,
    latent_params,
    model_shape,
    result_config,
    train_params,
)
from idscaling.workflow.targets import Targets

RESULTS = "results"

try:
    _validated = validate_config(
        config,
        load_schema(workflow.source_path("../schemas/config.schema.yaml")),
        base_dir=".",
        tokens_meta=lambda ds: f"{RESULTS}/{ds}/tokens/train.json",
    )
except ConfigError as err:
    raise WorkflowError(str(err)) from None
config.clear()
config.update(_validated)

# Paths and targets (idscaling.workflow.targets), for this config.
targets = Targets(config, RESULTS)
LAYERS = targets.layers
FINAL_LAYER = targets.final_layer
# The pinned environments, archived with the results.
ENV_FILES = sorted(str(p) for p in Path(workflow.basedir).glob("envs/*.yaml")) + [
    str(Path(workflow.basedir) / "requirements.lock")
]


wildcard_constraints:
    dataset="|".join(targets.datasets),
    model="|".join(targets.models),
    n=r"\d+",
    seed=r"\d+",
    split="train|select|val",
    layer=r"final|\d+",
    pretrained="|".join(targets.pretrained) or "(?!)",  # (?!) matches nothing: no suite configured


# ---------------------------------------------------------------- resources (idscaling.workflow.resources)
def train_mem_mb(wildcards):
    return resources.train_mem_mb(config, wildcards.model, int(wildcards.n))


def train_runtime(wildcards, input):
    return resources.train_runtime(config, wildcards.model, _size(input.val))


def _size(path):
    """A file's size in bytes, None before it exists (a job planned before its input is made)."""
    return Path(path).stat().st_size if Path(path).exists() else None


def embed_mem_mb(wildcards):
    return resources.embed_mem_mb(config, wildcards.model)
