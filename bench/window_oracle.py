"""Benchmark: the window-level oracle (ID protocol ``oracle_window``) on a finished latent run, next
to the protocols that run already measured -- without rerunning its training or embedding.

For each latent corpus of the run (its config from the run's ``id_protocols`` job), rebuilds the
point set exactly as the ``id_protocols`` rule does (:func:`idscaling.id_protocols.protocol_inputs`
with ``["oracle_window"]``), estimates its ID with the run's estimator settings and both metrics,
and prints a Markdown table beside the run's ``id_protocols.csv`` rows of ``sequence_last``,
``sequence_mean`` and ``oracle``.

    .venv/bin/python bench/window_oracle.py RUN_DIR --configfile config/latent_protocols.yaml
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from idscaling.config import load_schema, validate_config
from idscaling.corpus.tokenizer import load_tokenizer
from idscaling.id.protocols import protocol_ids, protocol_inputs
from idscaling.workflow.params import id_protocol_params
from idscaling.workflow.targets import Targets

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("--configfile", type=Path, required=True)
    args = ap.parse_args()
    config = validate_config(
        yaml.safe_load(args.configfile.read_text()),
        load_schema(REPO / "schemas" / "config.schema.yaml"),
        base_dir=args.run_dir,
    )
    targets = Targets(config, str(args.run_dir / "results"))
    settings = id_protocol_params(config)
    rows = []
    for path in targets.protocol_jsons():
        done = json.loads(Path(path).read_text())
        dataset = done["dataset"]
        source = config["datasets"][dataset]["source"]
        w = argparse.Namespace(dataset=dataset, model=done["model"], n=done["n_tokens"], seed=done["seed"])
        inputs = targets.id_protocol_inputs(w)
        t0 = time.perf_counter()
        sets, info = protocol_inputs(
            ["oracle_window"],
            points=np.load(inputs["points"]),
            positions=np.load(inputs["positions"]),
            window_mean=np.load(inputs["window_mean"]),
            window_last=np.load(inputs["window_last"]),
            windows=np.load(inputs["windows"]),
            val_bin=inputs["val"],
            val_texts=inputs["val_texts"],
            tokenizer=load_tokenizer(Path(inputs["tokenizer"]).parent),
            source=source,
            settings=settings,
        )
        oracle_s = time.perf_counter() - t0
        for r in protocol_ids(sets, config["id"]["protocol_metrics"], settings):
            rows.append(
                {
                    "dataset": dataset,
                    "k": source["k"],
                    "protocol": "oracle_window",
                    "metric": r["metric"],
                    "id": r["dimension"],
                    "id_ci_low": r["ci_low"],
                    "id_ci_high": r["ci_high"],
                    "n_points": r["n_points"],
                    "scale_curve": r["scale_curve"],
                }
            )
        info = info["oracle_window"]
        print(
            f"{dataset}: {info['n_windows']} windows (median {info['words_median']:.0f} words), oracle "
            f"{oracle_s:.0f} s, particle ESS median {info['ess_median']:.0f}",
            flush=True,
        )
    new = pd.DataFrame(rows)
    old = pd.read_csv(args.run_dir / "results/summary/id_protocols.csv")
    old = old[old["protocol"].isin(["sequence_mean", "sequence_last", "oracle"])]
    old = old.assign(k=[config["datasets"][d]["source"]["k"] for d in old["dataset"]])
    table = pd.concat(
        [
            old[["k", "protocol", "metric", "id", "id_ci_low", "id_ci_high", "n_points"]],
            new[["k", "protocol", "metric", "id", "id_ci_low", "id_ci_high", "n_points"]],
        ]
    )
    for metric in ("euclidean", "cosine"):
        part = table[table["metric"] == metric]
        ks = sorted(part["k"].unique())
        print(f"\n{metric} (target {'k' if metric == 'euclidean' else 'k/2'}):\n")
        print("| protocol | " + " | ".join(f"k = {k}" for k in ks) + " |")
        print("|---|" + "---|" * len(ks))
        for protocol in ("sequence_mean", "sequence_last", "oracle", "oracle_window"):
            cells = []
            for k in ks:
                r = part[(part["protocol"] == protocol) & (part["k"] == k)].iloc[0]
                cells.append(f"{r['id']:.2f} [{r['id_ci_low']:.2f}, {r['id_ci_high']:.2f}]")
            print(f"| {protocol} | " + " | ".join(cells) + " |")
    print("\noracle_window scale curves (euclidean; ID at neighbour rank n1):")
    for _, r in new[new["metric"] == "euclidean"].iterrows():
        print(f"k = {r['k']}: " + ", ".join(f"{p['n1']}: {p['dimension']:.2f}" for p in r["scale_curve"]))


if __name__ == "__main__":
    main()
