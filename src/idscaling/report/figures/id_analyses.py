"""ID stability (the paper's Fig. 4): the ID against parameters, width, layer and context position."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator, NullLocator

from idscaling.report.figures.style import (
    empty,
    error_bars,
    grid,
    human,
    ordered_unique,
    save,
    style,
)

ID_ANALYSIS_GID = "id_analysis"
ID_PANELS = (
    ("params", "(a) vs parameters", "parameters N", "log"),
    ("width", "(b) vs embedding width", "embedding width", "log"),
    ("layer", "(c) vs layer (embedding model)", "hidden-state index (0 = token embeddings)", "linear"),
    ("position", "(d) vs context position (embedding model)", "position in the context window", "linear"),
)


def id_analyses_figure(table: pd.DataFrame) -> Figure:
    import seaborn as sns

    with style():
        fig, axes = grid(4, extra_h=0.6)
        fig.suptitle("Stability of the estimated intrinsic dimension", fontsize=13)
        datasets = ordered_unique(table["dataset"].tolist()) if len(table) else []
        colours = sns.color_palette("colorblind", n_colors=max(len(datasets), 1))
        for ax, (analysis, title, xlabel, scale) in zip(axes, ID_PANELS):
            ax.set_title(title)
            sub = table[table["analysis"] == analysis] if len(table) else table
            if len(sub) == 0:
                empty(ax, f"no '{analysis}' estimates")
                continue
            for i, ds in enumerate(datasets):
                g = sub[sub["dataset"] == ds]
                if len(g) == 0:
                    continue
                # seeds: the mean per x, bars spanning the seeds' intervals
                agg = (
                    g.groupby("x", as_index=False)
                    .agg(id=("id", "mean"), lo=("id_ci_low", "min"), hi=("id_ci_high", "max"))
                    .sort_values("x")
                )
                c = colours[i % len(colours)]
                error_bars(ax, agg["x"], agg["lo"], agg["hi"], c)
                ax.plot(
                    agg["x"],
                    agg["id"],
                    marker="o",
                    ms=6.5,
                    lw=1.4,
                    color=c,
                    label=str(ds),
                    gid=ID_ANALYSIS_GID,
                    zorder=3,
                )
            if scale == "log":
                ax.set_xscale("log")
                xs = sorted(sub["x"].unique())
                # one tick per distinct label (sizes that round to the same label share a tick)
                xs = [x for i, x in enumerate(xs) if i == 0 or human(x) != human(xs[i - 1])]
                if len(xs) <= 8:
                    ax.xaxis.set_major_locator(FixedLocator(xs))
                    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: human(v)))
                    ax.xaxis.set_minor_locator(NullLocator())
            elif analysis == "layer":
                ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            if scale == "linear" and sub["x"].nunique() == 1:
                x0 = float(sub["x"].iloc[0])
                ax.set_xlim(x0 - 1, x0 + 1)
            ax.set_xlabel(xlabel)
            ax.set_ylabel("estimated ID")
            finite = pd.to_numeric(sub["id"], errors="coerce").dropna()
            if len(finite) and (finite >= 0).all():
                ax.set_ylim(bottom=0)
            ax.legend(loc="lower right", fontsize=9.5)
    return fig


def plot_id_analyses(table: pd.DataFrame, out_path) -> None:
    """The four Fig. 4 panels from :func:`idscaling.id_analyses.id_analyses_table` (PNG)."""
    save(id_analyses_figure(table), out_path)
