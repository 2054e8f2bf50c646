"""Data scaling (the paper's Fig. 2: loss vs training tokens, fixed shape and envelope, held-out
size) and model scaling (Fig. 3: loss vs parameters at the largest data size)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from idscaling.report.figures.style import (
    ENVELOPE_GID,
    HELDOUT_GID,
    PARAM_LABELS,
    ci_text,
    empty,
    error_bars,
    exponent_row,
    finite,
    fmt,
    get,
    grid,
    human,
    legend_below,
    model_palette,
    note,
    ordered_unique,
    parse_held_fixed,
    positive,
    save,
    scaling_lines,
    style,
    tidy_loglog,
)


def data_scaling_figure(points: pd.DataFrame, exponents: pd.DataFrame, params_column: str = "n_params") -> Figure:
    with style():
        datasets = ordered_unique(points["dataset"].tolist()) if len(points) else []
        fig, axes = grid(len(datasets), extra_h=0.9)
        if not datasets:
            empty(axes[0], "no scaling points")
            return fig
        palette = model_palette(points, params_column)
        for ax, ds in zip(axes, datasets):
            sub = positive(points[points["dataset"] == ds], "n_tokens", "val_loss")
            handles, labels = [], []
            for model in [m for m in palette if m in set(sub["model"])]:
                pm = sub[sub["model"] == model].sort_values("n_tokens", kind="mergesort")
                c = palette[model]
                error_bars(ax, pm["n_tokens"], pm.get("val_loss_ci_low", np.nan), pm.get("val_loss_ci_high", np.nan), c)
                ax.plot(
                    pm["n_tokens"],
                    pm["val_loss"],
                    ls="none",
                    marker="o",
                    ms=6.5,
                    color=c,
                    markeredgecolor="white",
                    markeredgewidth=0.8,
                    zorder=3,
                )
                size = ""
                if params_column in pm.columns and finite(pm[params_column].median()):
                    size = f" ({human(pm[params_column].median())} params)"
                handles.append(Line2D([], [], ls="none", marker="o", ms=6.5, color=c))
                labels.append(f"{model}{size}")

            row = exponent_row(exponents, ds, "data")
            notes = []
            if row is None:
                notes.append("no data-axis fit")
            else:
                key, value = parse_held_fixed(get(row, "held_fixed", None))
                fitted = sub[sub["model"].astype(str) == value] if key == "model" else sub.iloc[0:0]
                if len(fitted) == 0:
                    fitted = sub  # fall back to the dataset's whole data range
                notes += scaling_lines(ax, fitted["n_tokens"], fitted["val_loss"], row, "D")
                if key == "model" and value is not None:
                    notes.insert(0, f"fit on model {value}")
            envelope = exponent_row(exponents, ds, "data_envelope")
            if envelope is not None:
                envelope_line(ax, sub, envelope)
            heldout_marker(ax, envelope if envelope is not None else row)
            finish_loss_panel(ax, sub["n_tokens"], str(ds), "training tokens D", notes, handles, labels)
        fig.suptitle("Validation loss vs. training data (log-log)", fontsize=13)
    return fig


def envelope_line(ax, sub: pd.DataFrame, row: pd.Series) -> None:
    """The envelope (best seed-mean loss over the shapes at each size) and its saturating law."""
    means = sub.groupby(["n_tokens", "model"])["val_loss"].mean().groupby("n_tokens").min()
    a, e, pref = (get(row, c) for c in ("alpha_saturating", "E_saturating", "A_saturating"))
    label = "envelope (best shape per size)"
    if all(finite(v) for v in (a, e, pref)):
        label += (
            rf": $\hat\alpha_D$ = {fmt(a)}"
            + ci_text(get(row, "alpha_saturating_ci_low"), get(row, "alpha_saturating_ci_high"))
            + f", E = {fmt(e, 2)}"
        )
        grid = np.geomspace(float(means.index.min()), float(means.index.max()), 50)
        ax.plot(
            grid,
            float(e) + float(pref) * grid ** (-float(a)),
            color="#6a3d9a",
            lw=2.0,
            zorder=5,
            gid=ENVELOPE_GID,
            label=label,
        )
    else:
        ax.plot(means.index, means.to_numpy(), color="#6a3d9a", lw=1.2, zorder=5, gid=ENVELOPE_GID, label=label)


def heldout_marker(ax, row: pd.Series | None) -> None:
    """The held-out size: the loss predicted there by the law refitted without it, with its
    interval, beside the observed mean (open marker)."""
    x, obs, pred = (get(row, c) for c in ("heldout_x", "heldout_observed", "heldout_predicted"))
    if not all(finite(v) for v in (x, obs, pred)):
        return
    low, high = get(row, "heldout_predicted_ci_low"), get(row, "heldout_predicted_ci_high")
    err = (
        [[max(float(pred) - float(low), 0)], [max(float(high) - float(pred), 0)]]
        if finite(low) and finite(high)
        else None
    )
    ax.errorbar(
        [float(x) * 1.04],
        [float(pred)],
        yerr=err,
        fmt="D",
        ms=6,
        mfc="none",
        mec="#e66101",
        ecolor="#e66101",
        capsize=3,
        zorder=6,
        gid=HELDOUT_GID,
        label=f"held out: predicted {float(pred):.3f} vs {float(obs):.3f} "
        f"({100 * (float(pred) / float(obs) - 1):+.1f}%)",
    )


def finish_loss_panel(ax, x, title: str, xlabel: str, notes: list[str], handles: list, labels: list) -> None:
    """Log-log axes, titles, the notes box and the legend (point handles first, then lines)."""
    h2, l2 = ax.get_legend_handles_labels()
    tidy_loglog(ax, x)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("validation loss (nats/token)")
    if notes:
        note(ax, "\n".join(notes))
    legend_below(ax, handles + h2, labels + l2)


def plot_data_scaling(points: pd.DataFrame, exponents: pd.DataFrame, out_path, params_column: str = "n_params") -> None:
    """Loss vs. training tokens per dataset, with fitted and predicted slopes (PNG)."""
    save(data_scaling_figure(points, exponents, params_column), out_path)


def model_scaling_figure(points: pd.DataFrame, exponents: pd.DataFrame, params_column: str = "n_params") -> Figure:
    with style():
        datasets = ordered_unique(points["dataset"].tolist()) if len(points) else []
        fig, axes = grid(len(datasets), extra_h=0.9)
        if not datasets:
            empty(axes[0], "no scaling points")
            return fig
        if params_column not in points.columns:
            raise KeyError(f"points has no column {params_column!r}")
        palette = model_palette(points, params_column)
        for ax, ds in zip(axes, datasets):
            sub = positive(points[points["dataset"] == ds], "n_tokens", "val_loss", params_column)
            row = exponent_row(exponents, ds, "model")
            n_tok = np.nan
            key, value = parse_held_fixed(get(row, "held_fixed", None))
            if key == "n_tokens":
                try:
                    n_tok = float(value)
                except (TypeError, ValueError):
                    n_tok = np.nan
            if not finite(n_tok) or not (np.isclose(sub["n_tokens"].astype(float), n_tok)).any():
                n_tok = float(sub["n_tokens"].max()) if len(sub) else np.nan
            at = sub[np.isclose(sub["n_tokens"].astype(float), n_tok)] if finite(n_tok) else sub.iloc[0:0]

            handles, labels = [], []
            for model in [m for m in palette if m in set(at["model"])]:
                pm = at[at["model"] == model]
                c = palette[model]
                error_bars(
                    ax, pm[params_column], pm.get("val_loss_ci_low", np.nan), pm.get("val_loss_ci_high", np.nan), c
                )
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
                labels.append(f"{model} ({human(pm[params_column].median())} params)")

            notes = []
            if row is None:
                if at["model"].nunique() <= 1:
                    notes.append("one model size: no model exponent")
                else:
                    notes.append("no model-axis fit")
            else:
                notes += scaling_lines(ax, at[params_column], at["val_loss"], row, "N")
            title = str(ds) + (f"  (D = {human(n_tok)} tokens)" if finite(n_tok) else "")
            xlabel = PARAM_LABELS.get(params_column, params_column)
            finish_loss_panel(ax, at[params_column], title, xlabel, notes, handles, labels)
        fig.suptitle("Validation loss vs. model size at the largest data size (log-log)", fontsize=13)
    return fig


def plot_model_scaling(
    points: pd.DataFrame, exponents: pd.DataFrame, out_path, params_column: str = "n_params"
) -> None:
    """Loss vs. parameters at the largest data size per dataset (PNG)."""
    save(model_scaling_figure(points, exponents, params_column), out_path)
