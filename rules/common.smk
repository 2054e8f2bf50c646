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
os.environ.update(PYTHONPATH=os.pathsep.join(p for p in (SRC, os.environ.get("PYTHONPATH")) if p))

from idscaling.config import (
    ConfigError,
    embedding_model,
    embedding_n_tokens,
    layer_names,
    load_schema,
    validate_config,
)

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

DATASETS = list(config["datasets"])
MODELS = list(config["models"])
SEEDS = config["seeds"]
LAYERS = layer_names(config)


wildcard_constraints:
    dataset="|".join(DATASETS),
    model="|".join(MODELS),
    n=r"\d+",
    seed=r"\d+",
    split="train|select|val",
    layer=r"final|\d+",


# ---------------------------------------------------------------- paths
def model_dir(w):
    return f"{RESULTS}/{w.dataset}/models/{w.model}/n{w.n}/seed{w.seed}"


def grid(dataset):
    """Every (model, n, seed) trained for a dataset."""
    return [
        dict(dataset=dataset, model=m, n=n, seed=s)
        for m in MODELS
        for n in config["datasets"][dataset]["n_tokens"]
        for s in SEEDS
    ]


def eval_jsons(wildcards=None):
    return [
        f"{RESULTS}/{p['dataset']}/eval/{p['model']}/n{p['n']}/seed{p['seed']}.json"
        for d in DATASETS
        for p in grid(d)
    ]


def train_summaries(wildcards=None):
    return [
        f"{RESULTS}/{p['dataset']}/models/{p['model']}/n{p['n']}/seed{p['seed']}/train_summary.json"
        for d in DATASETS
        for p in grid(d)
    ]


def id_jsons(wildcards=None):
    """ID estimates used for the predictions: the configured checkpoint of each dataset, per seed and layer."""
    model = embedding_model(config)
    return [
        f"{RESULTS}/{d}/id/{model}/n{embedding_n_tokens(config, d)}/seed{s}/layer_{layer}.json"
        for d in DATASETS
        for s in SEEDS
        for layer in LAYERS
    ]


def summary_tables():
    return [
        f"{RESULTS}/summary/scaling_points.csv",
        f"{RESULTS}/summary/intrinsic_dim.csv",
        f"{RESULTS}/summary/exponents.csv",
    ]


def figures():
    return [
        f"{RESULTS}/figures/{name}.png"
        for name in ("data_scaling", "model_scaling", "intrinsic_dim", "exponents")
    ]


def all_outputs():
    return summary_tables() + figures()


# ---------------------------------------------------------------- resources
def train_mem_mb(wildcards):
    """Model, optimizer state and a copy of the best weights (fp32), plus the subset and a margin."""
    shape = config["models"][wildcards.model]
    params = 12 * shape["n_layer"] * shape["n_embd"] ** 2 + 50257 * shape["n_embd"]
    return 1500 + int(params * 4 * 6 / 2**20) + int(int(wildcards.n) * 8 / 2**20)


def embed_mem_mb(wildcards):
    """The model plus the float32 points of every layer, twice (gathered chunks and the result)."""
    width = config["models"][wildcards.model]["n_embd"]
    points = config["embed"]["max_points"] * width * len(LAYERS) * 4 * 2
    return 2000 + points // 2**20


def train_runtime(wildcards):
    """Minutes: generous, from the configured number of steps."""
    return 10 + config["train"]["max_steps"] // 20
