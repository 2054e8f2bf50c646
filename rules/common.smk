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
    dataset_protocols,
    embedding_model,
    embedding_n_tokens,
    id_execution_settings,
    id_protocol_settings,
    id_result_settings,
    latent_datasets,
    layer_names,
    load_schema,
    protocol_datasets,
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
LATENT_DATASETS = latent_datasets(config["datasets"])
PRETRAINED = list(config["pretrained"]["models"])
TOKENIZE_SHARDS = config["tokenize"]["shards"]
# The pinned environments, archived with the results.
ENV_FILES = sorted(str(p) for p in Path(workflow.basedir).glob("envs/*.yaml")) + [
    str(Path(workflow.basedir) / "requirements.lock")
]


wildcard_constraints:
    dataset="|".join(DATASETS),
    model="|".join(MODELS),
    n=r"\d+",
    seed=r"\d+",
    split="train|select|val",
    layer=r"final|\d+",
    pretrained="|".join(PRETRAINED) or "(?!)",  # (?!) matches nothing: no suite configured


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


FINAL_LAYER = "final" if "final" in LAYERS else LAYERS[-1]


def analysis_checkpoints():
    """(dataset, model, n, seed) whose IDs the Fig. 4 analyses use: the embedding model and, with
    id_analyses.across_models, every other shape at the same data size."""
    emb = embedding_model(config)
    models = MODELS if config["id_analyses"]["across_models"] else [emb]
    return [(d, m, embedding_n_tokens(config, d), s) for d in DATASETS for m in models for s in SEEDS]


def analysis_id_jsons(wildcards=None):
    emb = embedding_model(config)
    return [
        f"{RESULTS}/{d}/id/{m}/n{n}/seed{s}/layer_{layer}.json"
        for d, m, n, s in analysis_checkpoints()
        for layer in (LAYERS if m == emb else [FINAL_LAYER])
    ]


def analysis_train_summaries(wildcards=None):
    return [f"{RESULTS}/{d}/models/{m}/n{n}/seed{s}/train_summary.json" for d, m, n, s in analysis_checkpoints()]


def by_position_jsons(wildcards=None):
    if not config["id_analyses"]["position_bins"]:
        return []
    emb = embedding_model(config)
    return [
        f"{RESULTS}/{d}/id/{emb}/n{embedding_n_tokens(config, d)}/seed{s}/by_position.json"
        for d in DATASETS
        for s in SEEDS
    ]


def protocol_jsons(wildcards=None):
    """ID-protocol comparisons: the embedding checkpoint of every dataset that gets one, per seed."""
    model = embedding_model(config)
    return [
        f"{RESULTS}/{d}/id/{model}/n{embedding_n_tokens(config, d)}/seed{s}/protocols.json"
        for d in protocol_datasets(config)
        for s in SEEDS
    ]


def exponents_inputs(wildcards):
    inputs = dict(points=f"{RESULTS}/summary/scaling_points.csv", ids=f"{RESULTS}/summary/intrinsic_dim.csv")
    if protocol_datasets(config):
        inputs["protocols"] = f"{RESULTS}/summary/id_protocols.csv"
    return inputs


def id_protocol_inputs(w):
    emb = f"{RESULTS}/{w.dataset}/embeddings/{w.model}/n{w.n}/seed{w.seed}"
    inputs = dict(
        points=f"{emb}/layer_{FINAL_LAYER}.npy",
        positions=f"{emb}/positions.npy",
        window_mean=f"{emb}/window_mean.npy",
        window_last=f"{emb}/window_last.npy",
        val=f"{RESULTS}/{w.dataset}/tokens/val.bin",
        val_docs=f"{RESULTS}/{w.dataset}/tokens/val.docs.npy",
        val_meta=f"{RESULTS}/{w.dataset}/tokens/val.json",
    )
    if "oracle" in dataset_protocols(config, w.dataset):
        inputs["val_texts"] = f"{RESULTS}/{w.dataset}/corpus/val.jsonl"
        inputs["tokenizer"] = f"{RESULTS}/{w.dataset}/tokenizer/meta.json"
    return inputs


def summary_tables():
    return [
        f"{RESULTS}/summary/scaling_points.csv",
        f"{RESULTS}/summary/intrinsic_dim.csv",
        f"{RESULTS}/summary/exponents.csv",
        f"{RESULTS}/summary/joint_fit.csv",
        f"{RESULTS}/summary/id_analyses.csv",
    ]


def figures():
    return [
        f"{RESULTS}/figures/{name}.png"
        for name in ("data_scaling", "model_scaling", "intrinsic_dim", "id_analyses", "exponents")
    ]


def latent_diagnostic_jsons(wildcards=None):
    """Probe and loss-gap diagnostics of the embedding checkpoint of every latent dataset, per seed."""
    model = embedding_model(config)
    return [
        f"{RESULTS}/{d}/diagnostics/{model}/n{embedding_n_tokens(config, d)}/seed{s}.json"
        for d in LATENT_DATASETS
        for s in SEEDS
    ]


def latent_diagnostic_inputs(w):
    ckpt = f"{RESULTS}/{w.dataset}/models/{w.model}/n{w.n}/seed{w.seed}"
    emb = f"{RESULTS}/{w.dataset}/embeddings/{w.model}/n{w.n}/seed{w.seed}"
    return dict(
        config=f"{ckpt}/config.json",
        weights=f"{ckpt}/model.safetensors",
        points=f"{emb}/layer_{FINAL_LAYER}.npy",
        positions=f"{emb}/positions.npy",
        val=f"{RESULTS}/{w.dataset}/tokens/val.bin",
        val_docs=f"{RESULTS}/{w.dataset}/tokens/val.docs.npy",
        val_meta=f"{RESULTS}/{w.dataset}/tokens/val.json",
        val_texts=f"{RESULTS}/{w.dataset}/corpus/val.jsonl",
        tokenizer=f"{RESULTS}/{w.dataset}/tokenizer/meta.json",
    )


def known_dimension_outputs():
    if not LATENT_DATASETS:
        return []
    return [f"{RESULTS}/summary/known_dimension.csv", f"{RESULTS}/figures/known_dimension.png"]


def pretrained_outputs():
    if not PRETRAINED:
        return []
    protocols = [
        f"{RESULTS}/summary/pretrained_id_protocols.csv",
        f"{RESULTS}/summary/pretrained_id_scale.csv",
        f"{RESULTS}/figures/pretrained_id_scale.png",
    ]
    return [
        f"{RESULTS}/summary/pretrained.csv",
        f"{RESULTS}/summary/pretrained_exponents.csv",
        f"{RESULTS}/figures/pretrained_scaling.png",
    ] + (protocols if pretrained_protocol_jsons() else [])


def pretrained_protocol_jsons(wildcards=None):
    """ID-protocol comparisons of every pretrained model on every dataset that gets one."""
    return [f"{RESULTS}/{d}/pretrained/{p}/id/protocols.json" for d in protocol_datasets(config) for p in PRETRAINED]


def pretrained_protocol_inputs(w):
    base = f"{RESULTS}/{w.dataset}/pretrained/{w.pretrained}"
    inputs = dict(
        points=f"{base}/embeddings/layer_{FINAL_LAYER}.npy",
        positions=f"{base}/embeddings/positions.npy",
        window_mean=f"{base}/embeddings/window_mean.npy",
        window_last=f"{base}/embeddings/window_last.npy",
        val=f"{base}/tokens/val.bin",
        val_docs=f"{base}/tokens/val.docs.npy",
        val_meta=f"{base}/tokens/val.json",
    )
    if "oracle" in dataset_protocols(config, w.dataset):
        inputs["val_texts"] = f"{RESULTS}/{w.dataset}/corpus/val.jsonl"
        inputs["tokenizer"] = f"{RESULTS}/pretrained/{w.pretrained}/tokenizer/meta.json"
    return inputs


def pretrained_files(kind):
    """Per (dataset, pretrained model): its evaluation, final-layer ID, or (kind="source") the
    model's source.json (once per model)."""
    if kind == "source":
        return [f"{RESULTS}/pretrained/{p}/source.json" for p in PRETRAINED]
    name = {"eval": "eval.json", "id": f"id/layer_{FINAL_LAYER}.json"}[kind]
    return [f"{RESULTS}/{d}/pretrained/{p}/{name}" for d in DATASETS for p in PRETRAINED]


def pretrained_mem_mb(wildcards):
    return config["pretrained"]["mem_mb"]


def protocol_outputs():
    if not protocol_datasets(config):
        return []
    return [f"{RESULTS}/summary/id_protocols.csv", f"{RESULTS}/summary/id_scale.csv", f"{RESULTS}/figures/id_scale.png"]


def all_outputs():
    return summary_tables() + protocol_outputs() + figures() + known_dimension_outputs() + pretrained_outputs()


# ---------------------------------------------------------------- resources
# Memory and runtime scale with the model and the data of each job. Runtimes assume a
# conservative 20 TFLOP/s of sustained training throughput (a fraction of one modern GPU) and
# double that estimate; override any of them with --set-resources <rule>:runtime=<minutes>.
ASSUMED_FLOPS_PER_S = 20e12
VOCAB_BOUND = 50257  # the largest vocabulary the pipeline builds (GPT-2's)


def _params(model):
    shape = config["models"][model]
    return 12 * shape["n_layer"] * shape["n_embd"] ** 2 + VOCAB_BOUND * shape["n_embd"]


def _val_tokens_bound(dataset):
    """Validation tokens, from the tokenized split when it exists, else a generous guess."""
    meta = Path(f"{RESULTS}/{dataset}/tokens/val.json")
    if meta.exists():
        import json

        return json.loads(meta.read_text())["n_tokens"]
    return 10_000_000


def train_mem_mb(wildcards):
    """Model, optimizer state and a copy of the best weights (fp32), plus the subset and a margin."""
    return 1500 + int(_params(wildcards.model) * 4 * 6 / 2**20) + int(int(wildcards.n) * 8 / 2**20)


def train_runtime(wildcards):
    """Minutes: 6 N FLOPs per token for every token the schedule processes, plus the periodic
    selection evaluations (2 N per token), at ASSUMED_FLOPS_PER_S per process, doubled, at least 15."""
    t = config["train"]
    tokens = t["max_steps"] * t["batch_size"] * t["grad_accum"] * t["block_size"]
    evals = (t["max_steps"] // t["eval_interval"]) * t["selection_tokens"]
    flops = 6 * _params(wildcards.model) * tokens + 2 * _params(wildcards.model) * evals
    processes = t["processes"] or 1  # data-parallel processes share the work
    return 15 + int(2 * flops / ASSUMED_FLOPS_PER_S / processes / 60)


def evaluate_mem_mb(wildcards):
    """The model, the token file, one batch of logits (batch x context x vocab, fp32) and a margin."""
    t = config["train"]
    logits = config["evaluate"]["batch_size"] * t["block_size"] * VOCAB_BOUND * 4 * 2
    return 1500 + int(_params(wildcards.model) * 4 * 2 / 2**20) + logits // 2**20


def evaluate_runtime(wildcards):
    """Minutes: 2 N FLOPs per validation token, doubled, at least 10."""
    flops = 2 * _params(wildcards.model) * _val_tokens_bound(wildcards.dataset)
    return 10 + int(2 * flops / ASSUMED_FLOPS_PER_S / 60)


def embed_mem_mb(wildcards):
    """The model plus the float32 points of every layer, twice (gathered chunks and the result)."""
    width = config["models"][wildcards.model]["n_embd"]
    points = config["embed"]["max_points"] * width * len(LAYERS) * 4 * 2
    return 2000 + int(_params(wildcards.model) * 4 * 2 / 2**20) + points // 2**20
