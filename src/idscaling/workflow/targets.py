"""The workflow's file layout: which files each aggregate rule reads and what ``rule all`` builds,
from a validated config. Input functions (``*_inputs``) take a rule's wildcards."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from idscaling.config import (
    dataset_protocols,
    embedding_model,
    embedding_n_tokens,
    latent_datasets,
    layer_names,
    protocol_datasets,
)
from idscaling.id.registry import MODEL_PROTOCOLS

__all__ = ["Targets", "checkpoint_ident", "final_layer"]


def final_layer(config: Mapping[str, Any]) -> str:
    """The layer whose points stand for a checkpoint (ID tables, protocols, window pooling):
    ``final`` when embedded, else the last configured layer."""
    layers = layer_names(config)
    return "final" if "final" in layers else layers[-1]


def checkpoint_ident(wildcards) -> dict:
    """The keys that name a result, from a job's wildcards: dataset, model, n_tokens and seed for
    a trained checkpoint; for a pretrained model (wildcard ``pretrained``) its name as the model,
    n_tokens None (not ours to know) and seed 0."""
    if "pretrained" in wildcards.keys():
        return {"dataset": wildcards.dataset, "model": wildcards.pretrained, "n_tokens": None, "seed": 0}
    return {
        "dataset": wildcards.dataset,
        "model": wildcards.model,
        "n_tokens": int(wildcards.n),
        "seed": int(wildcards.seed),
    }


# rule embed's per-checkpoint arrays besides the per-layer points (idscaling.lm.embed writes them)
_EMBED_ARRAYS = ("positions", "window_mean", "window_last", "windows")


def _validation_files(tokens: str) -> dict:
    """The validation split's token file, document offsets and sidecar in folder ``tokens``."""
    return dict(val=f"{tokens}/val.bin", val_docs=f"{tokens}/val.docs.npy", val_meta=f"{tokens}/val.json")


class Targets:
    """Paths of one run's results under ``results``, for a validated ``config``."""

    def __init__(self, config: Mapping[str, Any], results: str = "results"):
        self.config = config
        self.results = results
        self.datasets = list(config["datasets"])
        self.models = list(config["models"])
        self.seeds = list(config["seeds"])
        self.layers = layer_names(config)
        self.final_layer = final_layer(config)
        self.latent_datasets = latent_datasets(config["datasets"])
        self.pretrained = list(config["pretrained"]["models"])
        self.embedding_model = embedding_model(config)

    # ------------------------------------------------------------ rule outputs, shared by a rule and its *_pretrained
    # Folder templates (wildcards in braces) and the files a rule writes there: rule tokenize and
    # tokenize_pretrained, embed and embed_pretrained declare their outputs through these, so an
    # output added to one is added to both.
    def token_folder(self, pretrained: bool = False) -> str:
        if pretrained:
            return f"{self.results}/{{dataset}}/pretrained/{{pretrained}}/tokens"
        return f"{self.results}/{{dataset}}/tokens"

    def embedding_folder(self, pretrained: bool = False) -> str:
        if pretrained:
            return f"{self.results}/{{dataset}}/pretrained/{{pretrained}}/embeddings"
        return f"{self.results}/{{dataset}}/embeddings/{{model}}/n{{n}}/seed{{seed}}"

    def token_outputs(self, pretrained: bool = False) -> dict:
        """Rule tokenize's outputs: one split's tokens, document offsets and sidecar."""
        folder = self.token_folder(pretrained)
        return dict(bin=f"{folder}/{{split}}.bin", docs=f"{folder}/{{split}}.docs.npy", meta=f"{folder}/{{split}}.json")

    def embed_outputs(self, pretrained: bool = False) -> dict:
        """Rule embed's outputs: the points per layer, their positions, the window-pooled points,
        the windows' token ids and the sidecar."""
        folder = self.embedding_folder(pretrained)
        return dict(
            arrays=[f"{folder}/layer_{layer}.npy" for layer in self.layers],
            **{name: f"{folder}/{name}.npy" for name in _EMBED_ARRAYS},
            meta=f"{folder}/meta.json",
        )

    # ------------------------------------------------------------ per checkpoint
    def checkpoint(self, dataset: str, model: str, n: int | str, seed: int | str) -> str:
        return f"{self.results}/{dataset}/models/{model}/n{n}/seed{seed}"

    def embeddings(self, dataset: str, model: str, n: int | str, seed: int | str) -> str:
        return f"{self.results}/{dataset}/embeddings/{model}/n{n}/seed{seed}"

    def tokens(self, dataset: str) -> str:
        return f"{self.results}/{dataset}/tokens"

    def grid(self, dataset: str) -> list[dict]:
        """Every (model, n, seed) trained for a dataset."""
        return [
            dict(dataset=dataset, model=m, n=n, seed=s)
            for m in self.models
            for n in self.config["datasets"][dataset]["n_tokens"]
            for s in self.seeds
        ]

    def _runs(self) -> list[dict]:
        return [p for d in self.datasets for p in self.grid(d)]

    def eval_jsons(self, wildcards: Any = None) -> list[str]:
        return [f"{self.results}/{p['dataset']}/eval/{p['model']}/n{p['n']}/seed{p['seed']}.json" for p in self._runs()]

    def train_summaries(self, wildcards: Any = None) -> list[str]:
        return [f"{self.checkpoint(**p)}/train_summary.json" for p in self._runs()]

    # ------------------------------------------------------------ intrinsic dimension
    def _embedding_checkpoints(self, datasets: list[str]) -> list[tuple[str, str, int, int]]:
        return [(d, self.embedding_model, embedding_n_tokens(self.config, d), s) for d in datasets for s in self.seeds]

    def id_jsons(self, wildcards: Any = None) -> list[str]:
        """The IDs behind the predictions: the embedding checkpoint of each dataset, per seed and layer."""
        return [
            f"{self.results}/{d}/id/{m}/n{n}/seed{s}/layer_{layer}.json"
            for d, m, n, s in self._embedding_checkpoints(self.datasets)
            for layer in self.layers
        ]

    def analysis_checkpoints(self) -> list[tuple[str, str, int, int]]:
        """(dataset, model, n, seed) whose IDs the Fig. 4 analyses use: the embedding model and, with
        id_analyses.across_models, every other shape at the same data size."""
        models = self.models if self.config["id_analyses"]["across_models"] else [self.embedding_model]
        return [
            (d, m, embedding_n_tokens(self.config, d), s) for d in self.datasets for m in models for s in self.seeds
        ]

    def analysis_id_jsons(self, wildcards: Any = None) -> list[str]:
        return [
            f"{self.results}/{d}/id/{m}/n{n}/seed{s}/layer_{layer}.json"
            for d, m, n, s in self.analysis_checkpoints()
            for layer in (self.layers if m == self.embedding_model else [self.final_layer])
        ]

    def analysis_train_summaries(self, wildcards: Any = None) -> list[str]:
        return [f"{self.checkpoint(d, m, n, s)}/train_summary.json" for d, m, n, s in self.analysis_checkpoints()]

    def by_position_jsons(self, wildcards: Any = None) -> list[str]:
        if not self.config["id_analyses"]["position_bins"]:
            return []
        return [
            f"{self.results}/{d}/id/{m}/n{n}/seed{s}/by_position.json"
            for d, m, n, s in self._embedding_checkpoints(self.datasets)
        ]

    def protocol_jsons(self, wildcards: Any = None) -> list[str]:
        """ID-protocol comparisons: the embedding checkpoint of every dataset that gets one, per seed."""
        return [
            f"{self.results}/{d}/id/{m}/n{n}/seed{s}/protocols.json"
            for d, m, n, s in self._embedding_checkpoints(protocol_datasets(self.config))
        ]

    def _protocol_extras(self, dataset: str, tokenizer: str) -> dict:
        """The oracle protocol's extra inputs: the validation texts and the tokenizer that made the points."""
        if not set(dataset_protocols(self.config, dataset)) & {"oracle", "oracle_window"}:
            return {}
        return dict(val_texts=f"{self.results}/{dataset}/corpus/val.jsonl", tokenizer=tokenizer)

    def _protocol_inputs(self, dataset: str, embeddings: str, tokens: str, tokenizer: str) -> dict:
        """A protocol comparison's inputs: one checkpoint's embedding outputs, the validation
        tokens they come from and, for the oracles, the texts and tokenizer."""
        return (
            dict(points=f"{embeddings}/layer_{self.final_layer}.npy")
            | {name: f"{embeddings}/{name}.npy" for name in _EMBED_ARRAYS}
            | _validation_files(tokens)
            | self._protocol_extras(dataset, tokenizer)
        )

    def id_protocol_inputs(self, w: Any) -> dict:
        return self._protocol_inputs(
            w.dataset,
            self.embeddings(w.dataset, w.model, w.n, w.seed),
            self.tokens(w.dataset),
            f"{self.results}/{w.dataset}/tokenizer/meta.json",
        )

    def exponents_inputs(self, wildcards: Any = None) -> dict:
        inputs = dict(
            points=f"{self.results}/summary/scaling_points.csv", ids=f"{self.results}/summary/intrinsic_dim.csv"
        )
        if protocol_datasets(self.config):
            inputs["protocols"] = f"{self.results}/summary/id_protocols.csv"
        return inputs

    def checkpoint_protocols(self, w: Any) -> list[str]:
        """The protocols one checkpoint's comparison runs: the dataset's, but on a checkpoint that is
        not an embedding checkpoint (one of the ID-vs-quality sweep's) only those computed from the
        model, since the oracles need no model and run on the embedding checkpoints."""
        protocols = dataset_protocols(self.config, w.dataset)
        if (w.model, int(w.n)) == (self.embedding_model, embedding_n_tokens(self.config, w.dataset)):
            return protocols
        return [p for p in protocols if p in MODEL_PROTOCOLS]

    # ------------------------------------------------------------ known latent dimension
    def quality_checkpoints(self) -> list[tuple[str, str, int, int]]:
        """With id_analyses.quality: every (shape, data size) of each latent dataset, first seed."""
        if not self.config["id_analyses"]["quality"]:
            return []
        return [
            (d, m, n, self.seeds[0])
            for d in self.latent_datasets
            for m in self.models
            for n in self.config["datasets"][d]["n_tokens"]
        ]

    def quality_inputs(self, wildcards: Any = None) -> dict:
        """The ID-vs-model-quality table's inputs: per quality checkpoint its protocols, diagnostics,
        evaluation and training summary; the embedding checkpoints' protocols (the oracles' IDs)."""
        checkpoints = self.quality_checkpoints()
        return dict(
            protocols=[f"{self.results}/{d}/id/{m}/n{n}/seed{s}/protocols.json" for d, m, n, s in checkpoints],
            diagnostics=[f"{self.results}/{d}/diagnostics/{m}/n{n}/seed{s}.json" for d, m, n, s in checkpoints],
            evals=[f"{self.results}/{d}/eval/{m}/n{n}/seed{s}.json" for d, m, n, s in checkpoints],
            train=[f"{self.checkpoint(d, m, n, s)}/train_summary.json" for d, m, n, s in checkpoints],
            oracle=[
                f"{self.results}/{d}/id/{m}/n{n}/seed{s}/protocols.json"
                for d, m, n, s in self._embedding_checkpoints(self.latent_datasets)
            ],
        )

    def latent_diagnostic_jsons(self, wildcards: Any = None) -> list[str]:
        """Probe and loss-gap diagnostics of the embedding checkpoint of every latent dataset, per seed."""
        return [
            f"{self.results}/{d}/diagnostics/{m}/n{n}/seed{s}.json"
            for d, m, n, s in self._embedding_checkpoints(self.latent_datasets)
        ]

    def latent_diagnostic_inputs(self, w: Any) -> dict:
        ckpt = self.checkpoint(w.dataset, w.model, w.n, w.seed)
        emb = self.embeddings(w.dataset, w.model, w.n, w.seed)
        tokens = self.tokens(w.dataset)
        return dict(
            config=f"{ckpt}/config.json",
            weights=f"{ckpt}/model.safetensors",
            points=f"{emb}/layer_{self.final_layer}.npy",
            positions=f"{emb}/positions.npy",
            val_texts=f"{self.results}/{w.dataset}/corpus/val.jsonl",
            tokenizer=f"{self.results}/{w.dataset}/tokenizer/meta.json",
        ) | _validation_files(tokens)

    # ------------------------------------------------------------ pretrained suites
    def pretrained_protocol_jsons(self, wildcards: Any = None) -> list[str]:
        """ID-protocol comparisons of every pretrained model on every dataset that gets one."""
        return [
            f"{self.results}/{d}/pretrained/{p}/id/protocols.json"
            for d in protocol_datasets(self.config)
            for p in self.pretrained
        ]

    def pretrained_protocol_inputs(self, w: Any) -> dict:
        base = f"{self.results}/{w.dataset}/pretrained/{w.pretrained}"
        return self._protocol_inputs(
            w.dataset,
            f"{base}/embeddings",
            f"{base}/tokens",
            f"{self.results}/pretrained/{w.pretrained}/tokenizer/meta.json",
        )

    def pretrained_files(self, kind: str) -> list[str]:
        """Per (dataset, pretrained model): its evaluation or final-layer ID; or (kind="source") the
        model's source.json (once per model)."""
        if kind == "source":
            return [f"{self.results}/pretrained/{p}/source.json" for p in self.pretrained]
        name = {"eval": "eval.json", "id": f"id/layer_{self.final_layer}.json"}[kind]
        return [f"{self.results}/{d}/pretrained/{p}/{name}" for d in self.datasets for p in self.pretrained]

    # ------------------------------------------------------------ what `rule all` builds
    def summary_tables(self) -> list[str]:
        names = ("scaling_points", "intrinsic_dim", "exponents", "joint_fit", "id_analyses")
        return [f"{self.results}/summary/{name}.csv" for name in names]

    def figures(self) -> list[str]:
        names = ("data_scaling", "model_scaling", "intrinsic_dim", "id_analyses", "exponents")
        return [f"{self.results}/figures/{name}.png" for name in names]

    def protocol_outputs(self) -> list[str]:
        if not protocol_datasets(self.config):
            return []
        return [
            f"{self.results}/summary/id_protocols.csv",
            f"{self.results}/summary/id_scale.csv",
            f"{self.results}/figures/id_scale.png",
        ]

    def known_dimension_outputs(self) -> list[str]:
        if not self.latent_datasets:
            return []
        outputs = [f"{self.results}/summary/known_dimension.csv", f"{self.results}/figures/known_dimension.png"]
        if self.quality_checkpoints():
            outputs += [
                f"{self.results}/summary/id_quality.csv",
                f"{self.results}/summary/id_extrapolated.csv",
                f"{self.results}/figures/id_quality.png",
            ]
        return outputs

    def pretrained_outputs(self) -> list[str]:
        if not self.pretrained:
            return []
        outputs = [
            f"{self.results}/summary/pretrained.csv",
            f"{self.results}/summary/pretrained_exponents.csv",
            f"{self.results}/figures/pretrained_scaling.png",
        ]
        if self.pretrained_protocol_jsons():
            outputs += [
                f"{self.results}/summary/pretrained_id_protocols.csv",
                f"{self.results}/summary/pretrained_id_scale.csv",
                f"{self.results}/figures/pretrained_id_scale.png",
            ]
        return outputs

    def all_outputs(self) -> list[str]:
        return (
            self.summary_tables()
            + self.protocol_outputs()
            + self.figures()
            + self.known_dimension_outputs()
            + self.pretrained_outputs()
        )
