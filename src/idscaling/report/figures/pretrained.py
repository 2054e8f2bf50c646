"""Pretrained suites (the paper's Fig. 3): loss with the fitted and predicted model exponents, and
the ID, against parameters."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from idscaling.report.figures.scaling import finish_loss_panel
from idscaling.report.figures.style import (
    PANEL_H,
    PANEL_W,
    PARAM_LABELS,
    empty,
    error_bars,
    exponent_row,
    human,
    model_palette,
    ordered_unique,
    positive,
    save,
    scaling_lines,
    style,
)

PRETRAINED_ID_GID = "pretrained_id"


def pretrained_figure(points: pd.DataFrame, exponents: pd.DataFrame, params_column: str = "n_params") -> Figure:
    with style():
        datasets = ordered_unique(points["dataset"].tolist()) if len(points) else []
        n = max(len(datasets), 1)
        fig = Figure(figsize=(PANEL_W * n, 2 * PANEL_H + 1.4), layout="constrained")
        FigureCanvasAgg(fig)
        axes = fig.subplots(2, n, squeeze=False)
        fig.suptitle("Pretrained suites: validation loss and estimated ID vs. parameters", fontsize=13)
        if not datasets:
            empty(axes[0][0], "no pretrained models")
            empty(axes[1][0], "no pretrained models")
            return fig
        palette = model_palette(points, params_column)
        for j, ds in enumerate(datasets):
            ax, ax_id = axes[0][j], axes[1][j]
            sub = positive(points[points["dataset"] == ds], "val_loss", params_column).sort_values(params_column)
            handles, labels = [], []
            for model in [m for m in palette if m in set(sub["model"])]:
                pm = sub[sub["model"] == model]
                c = palette[model]
                error_bars(ax, pm[params_column], pm["val_loss_ci_low"], pm["val_loss_ci_high"], c)
                ax.plot(
                    pm[params_column],
                    pm["val_loss"],
                    ls="none",
                    marker="o",
                    ms=7,
                    color=c,
                    markeredgecolor="white",
                    markeredgewidth=0.8,
                    zorder=3,
                )
                handles.append(Line2D([], [], ls="none", marker="o", ms=7, color=c))
                labels.append(f"{model} ({human(pm[params_column].median())})")
            row = exponent_row(exponents, ds, "model")
            notes = scaling_lines(ax, sub[params_column], sub["val_loss"], row, "N") if row is not None else []
            finish_loss_panel(
                ax,
                sub[params_column],
                f"{ds}: loss (model's own tokens)",
                PARAM_LABELS.get(params_column, params_column),
                notes,
                handles,
                labels,
            )

            ids = sub[np.isfinite(pd.to_numeric(sub["id"], errors="coerce"))]
            if len(ids) == 0:
                empty(ax_id, "no ID estimates")
                continue
            error_bars(ax_id, ids[params_column], ids["id_ci_low"], ids["id_ci_high"], "0.3")
            ax_id.plot(
                ids[params_column],
                ids["id"].astype(float),
                marker="o",
                ms=7,
                lw=1.2,
                color="0.3",
                gid=PRETRAINED_ID_GID,
                zorder=3,
            )
            ax_id.set_xscale("log")
            ax_id.set_xlabel(PARAM_LABELS.get(params_column, params_column))
            ax_id.set_ylabel("estimated ID (final layer)")
            ax_id.set_title(f"{ds}: estimated ID")
            ax_id.set_ylim(bottom=0)
    return fig


def plot_pretrained(points: pd.DataFrame, exponents: pd.DataFrame, out_path, params_column: str = "n_params") -> None:
    """Loss (with fitted and predicted model exponents) and ID against parameters, one column of
    panels per (dataset, suite) (PNG)."""
    save(pretrained_figure(by_suite(points), by_suite(exponents), params_column), out_path)


def by_suite(frame: pd.DataFrame) -> pd.DataFrame:
    """Panels are per dataset: make each (dataset, suite) a 'dataset' of its own."""
    if "suite" not in frame.columns or len(frame) == 0:
        return frame
    return frame.assign(dataset=frame["dataset"].astype(str) + " / " + frame["suite"].astype(str))
