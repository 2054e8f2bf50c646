"""The exponent table of the Hölder sweep (config/holder_envelope.yaml) from a finished run.

Per latent corpus (k, beta): the data exponent of the saturating law L = E + A N^-alpha fitted
to the largest fixed shape (``fixed``) and to the envelope over shapes (``envelope``, the best
seed-mean shape at each size), both from the run's ``exponents.csv``; the exponent of a learner
told each document's latent z on the same teacher and size range (``learner``:
idscaling.oracle_learner, k-NN word-count smoothing in z-space, excess KL fitted as A N^-alpha,
whole cube, 3 seeds); and the predictions 2 beta / (2 beta + ID) from every ID protocol x metric
of the run (``id_<protocol>_<metric>``); ``alpha_theory`` = 2 beta / (2 beta + k) on every row.

    .venv/bin/python bench/holder_envelope.py runs/holder_envelope --config config/holder_envelope.yaml \
        --out bench/results/holder_envelope.csv
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from idscaling.fit.predict import alpha_data
from idscaling.latent.learner import exponent_check
from idscaling.latent.teachers import latent_settings, teacher_from_settings

COLUMNS = ["dataset", "k", "beta", "fit", "alpha", "alpha_ci_low", "alpha_ci_high", "alpha_theory"]


def exponent_rows(exponents: pd.DataFrame, dataset: str, k: int, beta: float) -> list[dict]:
    """The fixed-shape and envelope saturating exponents and every protocol's prediction."""
    sub = exponents[exponents["dataset"] == dataset]
    primary = sub[sub["primary"].astype(bool)] if "primary" in sub else sub
    rows = []
    for axis, fit in (("data", "fixed"), ("data_envelope", "envelope")):
        r = primary[primary["axis"] == axis]
        if len(r):
            r = r.iloc[0]
            rows.append(
                {
                    "fit": fit,
                    "alpha": r["alpha_saturating"],
                    "alpha_ci_low": r["alpha_saturating_ci_low"],
                    "alpha_ci_high": r["alpha_saturating_ci_high"],
                }
            )
    data = sub[sub["axis"] == "data"]
    protocol_rows = data if "id_protocol" in data else data.assign(id_protocol="token", id_metric="cosine")
    for r in protocol_rows.itertuples():
        rows.append(
            {
                "fit": f"id_{r.id_protocol}_{r.id_metric}",
                "alpha": r.alpha_predicted,
                "alpha_ci_low": r.alpha_predicted_ci_low,
                "alpha_ci_high": r.alpha_predicted_ci_high,
            }
        )
    return [
        {"dataset": dataset, "k": k, "beta": beta} | row | {"alpha_theory": float(alpha_data(k, beta))} for row in rows
    ]


def learner_row(source: dict, sizes: list[int], seeds: list[int], beta: float) -> dict:
    settings = latent_settings(dict(source))
    res = exponent_check(
        teacher_from_settings(settings), beta, sizes, document_tokens=settings["document_tokens"], seeds=seeds
    )
    return {
        "fit": "learner",
        "alpha": res["alpha"],
        "alpha_ci_low": res["alpha_ci_low"],
        "alpha_ci_high": res["alpha_ci_high"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run", type=Path, help="the sweep's working directory (holds results/summary)")
    parser.add_argument("--config", type=Path, required=True, help="the sweep's config file")
    parser.add_argument("--out", type=Path, default=Path("bench/results/holder_envelope.csv"))
    parser.add_argument("--learner-seeds", default="0,1,2")
    args = parser.parse_args()
    config = yaml.safe_load(args.config.read_text())
    beta = float(config.get("fit", {}).get("beta", 1.0))
    exponents = pd.read_csv(args.run / "results" / "summary" / "exponents.csv")
    seeds = [int(s) for s in args.learner_seeds.split(",")]
    rows = []
    for name, ds in config["datasets"].items():
        k = int(ds["source"]["k"])
        per = exponent_rows(exponents, name, k, beta)
        learner = learner_row(ds["source"], ds["n_tokens"], seeds, beta)
        per.insert(
            2 if len(per) >= 2 else len(per),
            {"dataset": name, "k": k, "beta": beta} | learner | {"alpha_theory": float(alpha_data(k, beta))},
        )
        rows += per
    table = pd.DataFrame(rows, columns=COLUMNS)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out, index=False, float_format="%.6g")
    with pd.option_context("display.width", 200, "display.max_rows", 200):
        print(table.to_string(index=False))
    env = table[table["fit"] == "envelope"]
    for r in env.itertuples():
        covers = r.alpha_ci_low <= r.alpha_theory <= r.alpha_ci_high if math.isfinite(r.alpha_ci_low) else None
        print(
            f"{r.dataset}: envelope {r.alpha:.3f} [{r.alpha_ci_low:.3f}, {r.alpha_ci_high:.3f}] vs theory "
            f"{r.alpha_theory:.3f}: covered {covers}"
        )
    if len(env) >= 2:
        ks = env.sort_values("k")
        print("envelope alpha falls with k:", bool(np.all(np.diff(ks["alpha"].to_numpy()) < 0)))


if __name__ == "__main__":
    main()
