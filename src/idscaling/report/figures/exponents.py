"""Observed against predicted exponents, every dataset and axis (pure and saturating law)."""

from __future__ import annotations

import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from idscaling.report.figures.style import (
    SAT_GID,
    empty,
    error_bars,
    finite,
    get,
    ordered_unique,
    save,
    style,
)

AXIS_MARKER = {"data": "o", "data_envelope": "^", "model": "s"}
AXIS_NAME = {
    "data": r"data, one shape  ($\alpha_D$)",
    "data_envelope": r"data, envelope  ($\alpha_D$)",
    "model": r"model  ($\alpha_N$)",
}


def exponents_figure(exponents: pd.DataFrame) -> Figure:
    import seaborn as sns

    with style():
        fig = Figure(figsize=(7.4, 5.6), layout="constrained")
        FigureCanvasAgg(fig)
        ax = fig.subplots()
        if exponents is None or len(exponents) == 0:
            empty(ax, "no exponents")
            return fig
        datasets = ordered_unique(exponents["dataset"].tolist())
        colours = sns.color_palette("colorblind", n_colors=max(len(datasets), 1))
        cmap = {d: colours[i % len(colours)] for i, d in enumerate(datasets)}
        vals, skipped = _pure_law_points(ax, exponents, cmap)
        sat = _saturating_points(ax, exponents, cmap, vals)
        if vals:
            lo, hi = min(vals + [0.0]), max(vals)
            pad = 0.08 * (hi - lo if hi > lo else 1.0)
            lo, hi = lo - pad, hi + pad
        else:
            lo, hi = 0.0, 1.0
        ax.plot([lo, hi], [lo, hi], color="0.4", ls=":", lw=1.5, zorder=1, gid="identity")
        ax.set_xlim(lo, hi)
        ax.set_ylim(lo, hi)
        ax.set_aspect("equal", adjustable="box")
        ax.set_xlabel(r"predicted exponent $\alpha$ (from ID)")
        ax.set_ylabel(r"observed exponent $\hat\alpha$ (fit)")
        fig.suptitle("Observed vs. predicted scaling exponents", fontsize=13)

        _legend(ax, exponents, datasets, cmap, bool(sat), skipped)
    return fig


def _pure_law_points(ax, exponents: pd.DataFrame, cmap: dict) -> tuple[list[float], list[str]]:
    """Each row's (predicted, observed) pure-law exponent with both intervals; returns the values
    plotted (for the limits) and the rows left out for a NaN."""
    vals: list[float] = []
    skipped: list[str] = []
    for _, r in exponents.iterrows():
        obs, pred = get(r, "alpha_observed"), get(r, "alpha_predicted")
        if not (finite(obs) and finite(pred)):
            skipped.append(f"{r['dataset']}/{r['axis']}")
            continue
        obs, pred = float(obs), float(pred)
        c = cmap[r["dataset"]]
        error_bars(ax, [pred], [get(r, "alpha_ci_low")], [get(r, "alpha_ci_high")], c, lw=1.6)
        error_bars(
            ax,
            [obs],
            [get(r, "alpha_predicted_ci_low")],
            [get(r, "alpha_predicted_ci_high")],
            c,
            horizontal=True,
            lw=1.6,
        )
        ax.plot(
            [pred],
            [obs],
            ls="none",
            marker=AXIS_MARKER.get(r["axis"], "D"),
            ms=9,
            color=c,
            markeredgecolor="black",
            markeredgewidth=0.7,
            zorder=4,
        )
        vals += [obs, pred]
        vals += [
            float(v)
            for v in (
                get(r, "alpha_ci_low"),
                get(r, "alpha_ci_high"),
                get(r, "alpha_predicted_ci_low"),
                get(r, "alpha_predicted_ci_high"),
            )
            if finite(v)
        ]
    return vals, skipped


def _saturating_points(ax, exponents: pd.DataFrame, cmap: dict, vals: list[float]) -> list:
    """Hollow markers for the saturating fit's exponent; appends what it plots to ``vals``."""
    sat = [
        (float(get(r, "alpha_predicted")), float(get(r, "alpha_saturating")), r)
        for _, r in exponents.iterrows()
        if finite(get(r, "alpha_predicted")) and finite(get(r, "alpha_saturating"))
    ]
    for pred, obs, r in sat:
        error_bars(
            ax,
            [pred],
            [get(r, "alpha_saturating_ci_low")],
            [get(r, "alpha_saturating_ci_high")],
            cmap[r["dataset"]],
            lw=1.0,
        )
        ax.plot(
            [pred],
            [obs],
            ls="none",
            marker=AXIS_MARKER.get(r["axis"], "D"),
            ms=9,
            color="white",
            markeredgecolor=cmap[r["dataset"]],
            markeredgewidth=1.6,
            zorder=4,
            gid=SAT_GID,
        )
        vals += [pred, obs]
    return sat


def _legend(ax, exponents: pd.DataFrame, datasets: list, cmap: dict, saturating: bool, skipped: list[str]) -> None:
    """Datasets by colour, axes by marker, the identity line, and the rows not shown."""
    handles = [
        Line2D([], [], ls="none", marker="o", ms=9, color=cmap[d], markeredgecolor="black", markeredgewidth=0.7)
        for d in datasets
    ]
    labels = [str(d) for d in datasets]
    axes_present = [a for a in AXIS_MARKER if a in set(exponents["axis"])]
    handles += [
        Line2D(
            [],
            [],
            ls="none",
            marker=AXIS_MARKER[a],
            ms=9,
            color="0.7",
            markeredgecolor="black",
            markeredgewidth=0.7,
        )
        for a in axes_present
    ]
    labels += [AXIS_NAME[a] for a in axes_present]
    handles.append(Line2D([], [], color="0.4", ls=":", lw=1.5))
    labels.append("y = x")
    if saturating:
        handles.append(
            Line2D([], [], ls="none", marker="o", ms=9, color="white", markeredgecolor="0.3", markeredgewidth=1.6)
        )
        labels.append("hollow: saturating fit\n(E + A x^-α)")
    if skipped:  # rows without both exponents: say so next to the legend, not over the data
        handles.append(Line2D([], [], ls="none"))
        labels.append("not shown (NaN):\n" + "\n".join(skipped))
    ax.legend(
        handles,
        labels,
        loc="upper left",
        bbox_to_anchor=(1.02, 1.0),
        borderaxespad=0.0,
        fontsize=10.5,
        frameon=False,
    )


def plot_exponents(exponents: pd.DataFrame, out_path) -> None:
    """Observed vs. predicted exponents with both CIs and the y = x line (PNG)."""
    save(exponents_figure(exponents), out_path)
