"""The intrinsic-dimension panel: every ID estimate by dataset, model and layer."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from idscaling.report.figures.style import (
    empty,
    error_bars,
    human,
    ordered_unique,
    save,
    style,
)


def layer_label(layer) -> str:
    """6 / 6.0 / "6" -> 'layer 6'; "final" -> 'final layer'."""
    if isinstance(layer, str) and not layer.strip().lstrip("-").isdigit():
        return f"{layer} layer"
    try:
        f = float(layer)
    except (TypeError, ValueError):
        return f"layer {layer}"
    return f"layer {int(f)}" if math.isfinite(f) and f.is_integer() else f"layer {layer}"


TOKEN_MARKERS = ("o", "s", "^", "D", "v", "P")


def layer_key(layer):
    """Sort numeric layers numerically, others (e.g. 'final') after them."""
    try:
        return (0, float(layer), "")
    except (TypeError, ValueError):
        return (1, 0.0, str(layer))


def intrinsic_dim_figure(ids: pd.DataFrame) -> Figure:
    import seaborn as sns

    with style():
        datasets = ordered_unique(ids["dataset"].tolist()) if len(ids) else []
        width = max(7.0, 1.9 * len(datasets) + 3.6)
        fig = Figure(figsize=(width, 5.0), layout="constrained")
        FigureCanvasAgg(fig)
        ax = fig.subplots()
        fig.suptitle("Estimated intrinsic dimension of model embeddings (Levina–Bickel MLE)", fontsize=13)
        if not datasets:
            empty(ax, "no ID estimates")
            return fig
        df = ids.copy()
        if "layer" not in df.columns:
            df["layer"] = "final"
        models = ordered_unique(df["model"].tolist())
        pairs = sorted(set(zip(df["model"], df["layer"])), key=lambda p: (models.index(p[0]), layer_key(p[1])))
        hue_of = {p: f"{p[0]}, {layer_label(p[1])}" for p in pairs}
        df["_hue"] = [hue_of[pair] for pair in zip(df["model"], df["layer"])]
        hues = [hue_of[p] for p in pairs]
        colours = sns.color_palette("colorblind", n_colors=max(len(hues), 1))

        # marker shape encodes the training-set size of the embedded model (if few)
        tok_values = (
            sorted(pd.to_numeric(df["n_tokens"], errors="coerce").dropna().unique()) if "n_tokens" in df.columns else []
        )
        by_tokens = 1 < len(tok_values) <= len(TOKEN_MARKERS)
        marker_of = {v: TOKEN_MARKERS[i] for i, v in enumerate(tok_values)} if by_tokens else {}

        sort_cols = [c for c in ("n_tokens", "seed") if c in df.columns]
        slot = 0.8 / len(hues)
        for i, ds in enumerate(datasets):
            for j, hue in enumerate(hues):
                g = df[(df["dataset"] == ds) & (df["_hue"] == hue)]
                if sort_cols:
                    g = g.sort_values(sort_cols, kind="mergesort")
                if len(g) == 0:
                    continue
                centre = i - 0.4 + slot * (j + 0.5)
                k = len(g)
                offs = np.linspace(-0.3 * slot, 0.3 * slot, k) if k > 1 else np.zeros(1)
                x = centre + offs
                c = colours[j % len(colours)]
                error_bars(ax, x, g.get("id_ci_low", np.nan), g.get("id_ci_high", np.nan), c, lw=1.6)
                toks = pd.to_numeric(g["n_tokens"], errors="coerce") if "n_tokens" in g else [np.nan] * k
                for xi, yi, ti in zip(x, g["id"].astype(float), toks):
                    ax.plot(
                        [xi],
                        [yi],
                        ls="none",
                        marker=marker_of.get(ti, "o"),
                        ms=7,
                        color=c,
                        markeredgecolor="white",
                        markeredgewidth=0.8,
                        zorder=3,
                    )
        handles = [
            Line2D([], [], ls="none", marker="o", ms=7, color=colours[j % len(colours)]) for j in range(len(hues))
        ]
        labels = list(hues)
        ax.legend(
            handles,
            labels,
            loc="upper left",
            bbox_to_anchor=(1.02, 1.0),
            borderaxespad=0.0,
            fontsize=10,
            title="model, layer",
            title_fontsize=10.5,
            frameon=False,
        )
        if by_tokens:
            # a figure-level legend (anchored to the axes) so that it is not
            # clipped the way a second axes legend added via add_artist would be
            th = [Line2D([], [], ls="none", marker=marker_of[v], ms=7, color="0.45") for v in tok_values]
            fig.legend(
                th,
                [f"{human(v)} tokens" for v in tok_values],
                loc="lower left",
                bbox_to_anchor=(1.02, 0.0),
                bbox_transform=ax.transAxes,
                borderaxespad=0.0,
                fontsize=10,
                title="trained on",
                title_fontsize=10.5,
                frameon=False,
            )
        ax.set_xticks(range(len(datasets)))
        ax.set_xticklabels([str(d) for d in datasets])
        ax.set_xlim(-0.6, len(datasets) - 0.4)
        ax.set_xlabel("dataset")
        ax.set_ylabel("estimated intrinsic dimension")
        if (pd.to_numeric(df["id"], errors="coerce").dropna() >= 0).all():
            ax.set_ylim(bottom=0)
        ax.grid(False, axis="x")
        for i in range(len(datasets) - 1):
            ax.axvline(i + 0.5, color="0.85", lw=1.0, zorder=0)
    return fig


def plot_intrinsic_dim(ids: pd.DataFrame, out_path) -> None:
    """Estimated ID with CI per dataset (x) and model/layer (colour) (PNG)."""
    save(intrinsic_dim_figure(ids), out_path)
