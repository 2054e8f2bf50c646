"""The controlled test: each ID protocol's estimate against the known latent dimension k, the data
exponent against its predictions, and the loss gap to the Bayes loss by word position."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from idscaling.report.figures.style import (
    PANEL_H,
    PANEL_W,
    PROTOCOL_STYLE,
    empty,
    error_bars,
    save,
    style,
)

KNOWN_ID_GID = "id_vs_k"
KNOWN_ALPHA_GID = "alpha_vs_predicted"


def known_dimension_figure(table: pd.DataFrame, by_position: pd.DataFrame | None = None) -> Figure:
    """One panel per metric (estimated ID of every protocol against k, with the value it should
    have: k, or k / 2 for cosine), one for the data exponent (observed; predicted from k and from
    the recommended protocol's ID) and, given ``by_position``, one for the model's loss gap to the
    Bayes loss by word position."""
    metrics = [m for m in ("euclidean", "cosine") if table is not None and len(table) and (table["metric"] == m).any()]
    with style():
        n = max(1, len(metrics)) + 1 + (by_position is not None)
        fig = Figure(figsize=(n * PANEL_W + 1.0, PANEL_H + 1.2), layout="constrained")
        FigureCanvasAgg(fig)
        axes = list(np.atleast_1d(fig.subplots(1, n)))
        fig.suptitle("Corpora of known latent dimension k (SYNTHETIC latent teacher)", fontsize=13)
        if not metrics:
            for ax in axes:
                empty(ax, "no latent datasets")
            return fig
        t = table.sort_values("k", kind="mergesort")
        kmax = float(t["k"].max())
        for ax, metric in zip(axes, metrics):
            _id_panel(ax, t[t["metric"] == metric], metric, kmax)
        _alpha_panel(axes[len(metrics)], t)
        if by_position is not None:
            _gap_panel(axes[-1], by_position)
    return fig


def _id_panel(ax, tm: pd.DataFrame, metric: str, kmax: float) -> None:
    """Every protocol's ID against k for one metric, with the line it should follow."""
    factor = 0.5 if metric == "cosine" else 1.0
    top = 1.15 * float(
        np.nanmax(np.concatenate([[kmax * factor], tm["id_ci_high"].astype(float), tm["id_source"].astype(float)]))
    )
    ax.plot(
        [0, kmax * 1.1],
        [0, kmax * 1.1 * factor],
        color="0.4",
        ls=":",
        lw=1.5,
        label="ID = k" if factor == 1 else "ID = k / 2",
        gid="target",
    )
    for protocol, g in tm.groupby("protocol", sort=False):
        colour, marker = PROTOCOL_STYLE.get(protocol, ("0.5", "o"))
        k = g["k"].astype(float).to_numpy()
        error_bars(ax, k, g["id_ci_low"], g["id_ci_high"], colour)
        rec = " (recommended)" if g["recommended"].astype(bool).any() else ""
        ax.plot(
            k,
            g["id"].astype(float),
            ls="-",
            lw=1.2,
            marker=marker,
            ms=7,
            color=colour,
            zorder=3,
            gid=f"{KNOWN_ID_GID}:{protocol}:{metric}",
            label=protocol + rec,
        )
    src = tm.drop_duplicates("dataset")
    if np.isfinite(src["id_source"].astype(float)).any():
        ax.plot(
            src["k"].astype(float),
            src["id_source"].astype(float),
            ls="--",
            lw=1.0,
            marker="x",
            ms=7,
            color="0.5",
            label="source manifold (estimator's own bias)",
        )
    ax.set_xlim(0, kmax * 1.1)
    ax.set_ylim(0, top if math.isfinite(top) else 1.0)
    ax.set_xlabel("latent dimension k (by construction)")
    ax.set_ylabel(f"estimated intrinsic dimension ({metric})")
    ax.set_title(f"ID vs k, {metric}" + (" (1 - cos: about half)" if factor != 1 else ""))
    ax.legend(loc="upper left", fontsize=8.5)


def _alpha_panel(ax_alpha, t: pd.DataFrame) -> None:
    """The data exponent against k: observed (saturating and pure fits), predicted from k and from the
    recommended protocol's ID."""
    per_ds = t.drop_duplicates("dataset")
    k = per_ds["k"].astype(float).to_numpy()
    vals: list[float] = []
    for col, (low, high), label, face in (
        (
            "alpha_saturating",
            ("alpha_saturating_ci_low", "alpha_saturating_ci_high"),
            r"observed, saturating fit $E + A D^{-\hat\alpha}$",
            "#2ca02c",
        ),
        (
            "alpha_observed",
            ("alpha_ci_low", "alpha_ci_high"),
            r"observed, pure power law $A D^{-\hat\alpha}$",
            "white",
        ),
    ):
        y = per_ds[col].astype(float).to_numpy()
        ok = np.isfinite(y)
        if not ok.any():
            continue
        error_bars(ax_alpha, k[ok], per_ds[low].to_numpy()[ok], per_ds[high].to_numpy()[ok], "#2ca02c", lw=1.2)
        ax_alpha.plot(
            k[ok],
            y[ok],
            ls="none",
            marker="o",
            ms=8,
            color=face,
            markeredgecolor="#2ca02c",
            markeredgewidth=1.6,
            zorder=4,
            gid=KNOWN_ALPHA_GID,
            label=label,
        )
        vals += list(y[ok])
    kk = np.linspace(max(k.min() * 0.8, 0.5), k.max() * 1.1, 100)
    beta = float(t["beta"].iloc[0])
    ax_alpha.plot(
        kk,
        2 * beta / (2 * beta + kk),
        color="0.2",
        ls=":",
        lw=1.5,
        label=r"predicted from k: $2\beta/(2\beta + k)$",
        gid="from_k",
    )
    rec = t[t["recommended"].astype(bool)]
    if len(rec) and np.isfinite(rec["alpha_predicted"].astype(float)).any():
        protocol, metric = rec["protocol"].iloc[0], rec["metric"].iloc[0]
        ax_alpha.plot(
            rec["k"].astype(float),
            rec["alpha_predicted"].astype(float),
            ls="--",
            lw=1.2,
            marker="s",
            ms=5,
            color=PROTOCOL_STYLE.get(protocol, ("0.5", "s"))[0],
            label=f"predicted from the ID ({protocol}, {metric})",
            gid="from_recommended",
        )
        vals += list(rec["alpha_predicted"].astype(float).dropna())
    ax_alpha.set_xlabel("latent dimension k (by construction)")
    ax_alpha.set_ylabel(r"data exponent $\alpha_D$")
    ax_alpha.set_title(r"data exponent vs k ($\beta$ = " + f"{beta:g})")
    ax_alpha.set_ylim(0, min(max(vals + [1.0]) * 1.1, 2.0))
    ax_alpha.set_xlim(0, k.max() * 1.1)
    ax_alpha.legend(loc="upper right", fontsize=8.5)


def _gap_panel(ax_gap, by_position: pd.DataFrame) -> None:
    """The model's loss gap to the Bayes loss by word position (first seed of each dataset)."""
    first = by_position[by_position["seed"] == by_position["seed"].min()] if len(by_position) else by_position
    for dataset, g in first.groupby("dataset", sort=False):
        ax_gap.plot(
            g["position"],
            g["gap"],
            lw=1.3,
            gid=f"gap:{dataset}",
            label=f"k = {int(g['k'].iloc[0])}, probe R² (late) {g['probe_r2_late'].iloc[0]:.2f}",
        )
    ax_gap.axhline(0, color="0.4", ls=":", lw=1)
    ax_gap.set_xlabel("word position in the document")
    ax_gap.set_ylabel("model loss − Bayes loss (nats/word)")
    ax_gap.set_title("how far the model is from the Bayes predictive")
    if len(first):
        ax_gap.legend(fontsize=8.5)
    else:
        empty(ax_gap, "no diagnostics")


def plot_known_dimension(table: pd.DataFrame, out_path, by_position: pd.DataFrame | None = None) -> None:
    """ID vs known k, observed vs predicted data exponent and (given ``by_position``) the loss gap
    to the Bayes loss, for the latent-teacher corpora (PNG)."""
    save(known_dimension_figure(table, by_position), out_path)
