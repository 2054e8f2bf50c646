"""GRIDE scale curves: each protocol's ID against the neighbour rank."""

from __future__ import annotations

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

ID_SCALE_GID = "id_scale"


def id_scale_figure(table: pd.DataFrame) -> Figure:
    """One panel per dataset: the GRIDE ID of every protocol's points against the neighbour rank
    n1 (log scale; solid: euclidean, dashed: cosine; bars: +- one standard error)."""
    datasets = list(dict.fromkeys(table["dataset"])) if table is not None and len(table) else []
    with style():
        n = max(1, len(datasets))
        cols = min(n, 3)
        rows = -(-n // cols)
        fig = Figure(figsize=(cols * PANEL_W + 0.5, rows * PANEL_H + 0.8), layout="constrained")
        FigureCanvasAgg(fig)
        axes = list(np.atleast_1d(fig.subplots(rows, cols)).ravel())
        fig.suptitle("Intrinsic dimension vs neighbour rank (GRIDE scale curve) per ID protocol", fontsize=13)
        if not datasets:
            empty(axes[0], "no ID protocols computed")
            return fig
        for ax in axes[len(datasets) :]:
            ax.set_visible(False)
        for ax, dataset in zip(axes, datasets):
            t = table[table["dataset"] == dataset]
            seed0 = t["seed"].min()
            t = t[t["seed"] == seed0]  # one curve per protocol and metric: the first seed's
            for (protocol, metric), g in t.groupby(["protocol", "metric"], sort=False):
                colour, marker = PROTOCOL_STYLE.get(protocol, ("0.5", "o"))
                x = g["n1"].astype(float).to_numpy()
                y = g["id"].astype(float).to_numpy()
                err = g["id_error"].astype(float).to_numpy()
                error_bars(ax, x, y - err, y + err, colour, lw=1.0)
                ax.plot(
                    x,
                    y,
                    ls="-" if metric == "euclidean" else "--",
                    marker=marker,
                    ms=5,
                    color=colour,
                    label=f"{protocol}, {metric}",
                    gid=f"{ID_SCALE_GID}:{protocol}:{metric}",
                )
            ax.set_xscale("log", base=2)
            ax.set_xlabel("neighbour rank n1 (n2 = 2 n1)")
            ax.set_ylabel("GRIDE intrinsic dimension")
            ax.set_ylim(bottom=0)
            ax.set_title(str(dataset))
            ax.legend(fontsize=7.5, ncol=2, loc="best")
    return fig


def plot_id_scale(table: pd.DataFrame, out_path) -> None:
    """The scale curves of the ID protocols (``id_scale.csv``), one panel per dataset (PNG)."""
    save(id_scale_figure(table), out_path)
