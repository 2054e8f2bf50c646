"""Each model ID protocol's estimate against the checkpoint's loss gap to the Bayes loss, with its
extrapolation to zero gap (latent corpora)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from idscaling.report.figures.style import (
    PROTOCOL_STYLE,
    empty,
    finite,
    grid,
    legend_below,
    save,
    style,
)

ID_QUALITY_GID = "id_quality"


def id_quality_figure(table: pd.DataFrame, extrapolated: pd.DataFrame, metric: str = "euclidean") -> Figure:
    """One panel per latent dataset: each model protocol's ID (``metric``) against the checkpoint's
    loss gap to the Bayes loss, its straight-line extrapolation to zero gap (open marker with the
    interval), the window-level oracle's ID and the target k."""
    t = table[table["metric"] == metric] if table is not None and len(table) else pd.DataFrame()
    datasets = list(dict.fromkeys(t["dataset"])) if len(t) else []
    with style():
        fig, axes = grid(len(datasets), extra_h=0.9)
        fig.suptitle(f"ID against model quality ({metric}; SYNTHETIC latent corpora)", fontsize=13)
        if not datasets:
            empty(axes[0], "no ID-vs-quality checkpoints")
            return fig
        for ax, ds in zip(axes, datasets):
            g = t[t["dataset"] == ds]
            for protocol, gp in g.groupby("protocol", sort=False):
                colour, marker = PROTOCOL_STYLE.get(protocol, ("0.5", "o"))
                gp = gp.sort_values("loss_gap_late")
                ax.plot(
                    gp["loss_gap_late"],
                    gp["id"],
                    ls="none",
                    marker=marker,
                    ms=6,
                    color=colour,
                    alpha=0.85,
                    gid=f"{ID_QUALITY_GID}:{protocol}",
                    label=protocol,
                )
                e = extrapolated[
                    (extrapolated["dataset"] == ds)
                    & (extrapolated["protocol"] == protocol)
                    & (extrapolated["metric"] == metric)
                ]
                if len(e) and finite(e["id_zero_gap"].iloc[0]):
                    r = e.iloc[0]
                    xs = np.array([0.0, float(gp["loss_gap_late"].max())])
                    ax.plot(xs, r["id_zero_gap"] + r["slope"] * xs, color=colour, lw=1.0, ls="--")
                    err = [[r["id_zero_gap"] - r["id_zero_gap_ci_low"]], [r["id_zero_gap_ci_high"] - r["id_zero_gap"]]]
                    ax.errorbar(
                        [0.0],
                        [r["id_zero_gap"]],
                        yerr=err,
                        fmt=marker,
                        mfc="white",
                        mec=colour,
                        ecolor=colour,
                        capsize=3,
                        ms=7,
                        zorder=5,
                    )
            oracle = float(g["oracle_window_id"].mean())
            if math.isfinite(oracle):
                ax.axhline(oracle, color="black", lw=1.4, ls="-", label=f"oracle_window {oracle:.2f}", gid="oracle")
            ax.axhline(
                float(g["id_target"].mean()), color="0.4", lw=1.2, ls=":", label=f"target {g['id_target'].mean():g}"
            )
            ax.set_xlim(left=-0.02)
            ax.set_xlabel("model loss - Bayes loss, late positions (nats/word)")
            ax.set_ylabel(f"intrinsic dimension ({metric})")
            ax.set_title(f"{ds} (k = {int(g['k'].iloc[0])})")
            legend_below(ax, ncol=2)
    return fig


def plot_id_quality(table: pd.DataFrame, extrapolated: pd.DataFrame, out_path, metric: str = "euclidean") -> None:
    """Each model protocol's ID against the loss gap to Bayes, with its zero-gap extrapolation (PNG)."""
    save(id_quality_figure(table, extrapolated, metric), out_path)
