"""Report figures: data scaling, model scaling, intrinsic dimension, exponents.

Every public ``plot_*`` function writes exactly one PNG (dpi 150) and returns
``None``.  The figure itself is built by a private ``_*_figure`` helper that
returns a :class:`matplotlib.figure.Figure`, so tests can inspect the drawn
lines before anything is saved.

Figures are created as bare :class:`~matplotlib.figure.Figure` objects rendered
with the Agg canvas: no pyplot state, no global backend switch, nothing left
open after a call, and identical inputs give identical PNG bytes.

Conventions of the input frames (``exponents`` is
:func:`idscaling.exponents.exponents_table`'s output):

* ``points``: one row per trained model with ``dataset, model, n_tokens,
  val_loss, val_loss_ci_low, val_loss_ci_high`` and a parameter-count column.
* ``exponents``: one row per (dataset, axis), ``axis`` in {"data", "data_envelope", "model"},
  with ``held_fixed`` such as ``"model=small"`` or ``"n_tokens=400000"``, the
  fitted law ``L = prefactor * x ** -alpha_observed`` and the predicted
  exponent ``alpha_predicted`` from the intrinsic dimension ``id``.  The
  model-axis ``prefactor`` is only meaningful on the x axis it was fitted on:
  pass the same ``params_column`` as the fit.
* ``ids``: one row per ID estimate with ``dataset, model, n_tokens, seed,
  layer, id, id_ci_low, id_ci_high``.

NaN values never raise: a NaN confidence bound means no error bar, a NaN
exponent means no line (and a short note in the panel).
"""

from __future__ import annotations

import contextlib
import math
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import (
    FixedLocator,
    FuncFormatter,
    LogLocator,
    MaxNLocator,
    NullFormatter,
    NullLocator,
)

__all__ = [
    "plot_data_scaling",
    "plot_model_scaling",
    "plot_intrinsic_dim",
    "plot_exponents",
    "plot_known_dimension",
    "plot_id_scale",
    "plot_id_analyses",
    "plot_pretrained",
    "plot_id_quality",
]

DPI = 150
PANEL_W = 5.0  # inches per panel
PANEL_H = 4.2
MAX_COLS = 4

FIT_GID = "fit"
PRED_GID = "predicted"
SAT_GID = "saturating"
ENVELOPE_GID = "envelope"
HELDOUT_GID = "heldout"

_PARAM_LABELS = {
    "n_params": "parameters N",
    "n_params_nonembedding": "non-embedding parameters N",
}


# --------------------------------------------------------------------------- #
# small helpers
# --------------------------------------------------------------------------- #
@contextlib.contextmanager
def _style() -> Iterator[None]:
    """Seaborn 'whitegrid' + 'notebook' styling, scoped to one figure."""
    import matplotlib
    import seaborn as sns

    rc = {}
    rc.update(sns.axes_style("whitegrid"))
    rc.update(sns.plotting_context("notebook", font_scale=1.0))
    rc.update(
        {
            "savefig.dpi": DPI,
            "figure.dpi": DPI,
            "legend.frameon": True,
            "legend.framealpha": 0.9,
            "axes.titleweight": "bold",
            "svg.hashsalt": "idscaling",
        }
    )
    with matplotlib.rc_context(rc):
        yield


def _finite(x) -> bool:
    try:
        return x is not None and math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def _fmt(x, nd: int = 3) -> str:
    return f"{float(x):.{nd}f}" if _finite(x) else "n/a"


def _ci_text(lo, hi, nd: int = 3) -> str:
    if _finite(lo) and _finite(hi):
        return f" [{float(lo):.{nd}f}, {float(hi):.{nd}f}]"
    return ""


def _human(n) -> str:
    """12_345_678 -> '12.3M'."""
    if not _finite(n):
        return "?"
    n = float(n)
    for div, suf in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= div:
            return f"{n / div:.3g}{suf}"
    return f"{n:.3g}"


def _ordered_unique(values: Sequence) -> list:
    """Unique values in order of first appearance (NaN dropped)."""
    out, seen = [], set()
    for v in values:
        if isinstance(v, float) and math.isnan(v):
            continue
        if v not in seen:
            seen.add(v)
            out.append(v)
    return out


def _parse_held_fixed(text) -> tuple[str | None, str | None]:
    """'model=small' -> ('model', 'small'); anything else -> (None, None)."""
    if not isinstance(text, str) or "=" not in text:
        return None, None
    key, _, value = text.partition("=")
    return key.strip(), value.strip()


def _exponent_row(exponents: pd.DataFrame, dataset, axis: str) -> pd.Series | None:
    if exponents is None or len(exponents) == 0:
        return None
    sel = exponents[(exponents["dataset"] == dataset) & (exponents["axis"] == axis)]
    if len(sel) == 0:
        return None
    return sel.iloc[0]


def _get(row: pd.Series | None, key: str, default=np.nan):
    if row is None or key not in row.index:
        return default
    return row[key]


def _grid(n: int, panel_w: float = PANEL_W, panel_h: float = PANEL_H, extra_h: float = 0.0):
    n = max(n, 1)
    ncols = min(n, MAX_COLS)
    nrows = math.ceil(n / ncols)
    fig = Figure(figsize=(panel_w * ncols, panel_h * nrows + extra_h), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, list(axes[:n])


def _model_palette(points: pd.DataFrame, params_column: str) -> dict:
    """Stable model -> colour mapping, models ordered by parameter count."""
    import seaborn as sns

    if len(points) == 0:
        return {}
    models = _ordered_unique(points["model"].tolist())
    if params_column in points.columns:
        size = points.groupby("model", sort=False)[params_column].median()
        models = sorted(models, key=lambda m: (not _finite(size.get(m)), size.get(m, 0) if _finite(size.get(m)) else 0, str(m)))
    colours = sns.color_palette("colorblind", n_colors=max(len(models), 1))
    return {m: colours[i % len(colours)] for i, m in enumerate(models)}


def _tidy_loglog(ax, xs) -> None:
    """Readable tick labels on a log-log scaling panel.

    Losses typically span far less than a decade, so the y axis gets evenly
    spaced "nice" numbers (plain decimals) instead of powers of ten; the x axis
    gets 1-2-5 ticks labelled like ``200k`` / ``4M`` when it spans few decades.
    """
    xs = np.asarray(xs, dtype=float)
    xs = xs[np.isfinite(xs) & (xs > 0)]
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.margins(x=0.08, y=0.14)
    if len(xs) and xs.min() == xs.max():  # a single x value: give it room
        ax.set_xlim(xs.min() / 3.0, xs.max() * 3.0)
    if len(xs):
        lo, hi = ax.get_xlim()
        span = math.log10(hi / lo) if lo > 0 else 99
        subs = (1.0, 2.0, 4.0, 6.0) if span <= 1.2 else (1.0, 2.0, 5.0) if span <= 2.6 else (1.0,)
        ax.xaxis.set_major_locator(LogLocator(base=10, subs=subs))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: _human(v)))
        ax.xaxis.set_minor_formatter(NullFormatter())
    ylo, yhi = ax.get_ylim()
    if ylo > 0 and yhi / ylo < 30:
        ticks = MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]).tick_values(ylo, yhi)
        ticks = [float(f"{t:.10g}") for t in ticks if ylo <= t <= yhi and t > 0]
        if len(ticks) >= 2:
            ax.yaxis.set_major_locator(FixedLocator(ticks))
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:g}"))
            ax.yaxis.set_minor_locator(NullLocator())
            ax.yaxis.set_minor_formatter(NullFormatter())
            ax.set_ylim(ylo, yhi)
    ax.grid(True, which="minor", axis="x", alpha=0.3)


def _error_bars(ax, x, lo, hi, colour, horizontal: bool = False, lw: float = 1.4, zorder: float = 2) -> None:
    """Draw CI bars from lo to hi; rows with a NaN bound get no bar."""
    x = np.atleast_1d(np.asarray(x, dtype=float))
    lo = np.broadcast_to(np.asarray(lo, dtype=float), x.shape)  # a scalar NaN = column absent
    hi = np.broadcast_to(np.asarray(hi, dtype=float), x.shape)
    ok = np.isfinite(x) & np.isfinite(lo) & np.isfinite(hi)
    if not ok.any():
        return
    if horizontal:
        ax.hlines(x[ok], lo[ok], hi[ok], colors=[colour], linewidth=lw, zorder=zorder)
    else:
        ax.vlines(x[ok], lo[ok], hi[ok], colors=[colour], linewidth=lw, zorder=zorder)


def _positive(df: pd.DataFrame, *cols: str) -> pd.DataFrame:
    mask = np.ones(len(df), dtype=bool)
    for c in cols:
        v = pd.to_numeric(df[c], errors="coerce").to_numpy(dtype=float)
        mask &= np.isfinite(v) & (v > 0)
    return df[mask]


def _note(ax, text: str, loc: str = "upper right") -> None:
    xy = {"upper right": (0.97, 0.97, "right", "top"), "lower left": (0.03, 0.03, "left", "bottom"),
          "center": (0.5, 0.5, "center", "center")}[loc]
    ax.text(
        xy[0], xy[1], text, transform=ax.transAxes, ha=xy[2], va=xy[3], fontsize=10.5,
        bbox=dict(boxstyle="round,pad=0.35", facecolor="white", edgecolor="0.6", alpha=0.95),
        zorder=10,
    )


def _save(fig: Figure, out_path) -> None:
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    with _style():
        # bbox_inches="tight": legends placed beside the axes are never clipped
        fig.savefig(out, dpi=DPI, format="png", metadata={"Software": None},
                    bbox_inches="tight", pad_inches=0.15)
    fig.clear()


def _scaling_lines(ax, x_fit: np.ndarray, y_fit: np.ndarray, row: pd.Series | None, sub: str) -> list[str]:
    """Draw the fitted law and the predicted slope; return notes for missing parts."""
    notes: list[str] = []
    if row is None:
        return notes
    x_fit = np.asarray(x_fit, dtype=float)
    y_fit = np.asarray(y_fit, dtype=float)
    ok = np.isfinite(x_fit) & np.isfinite(y_fit) & (x_fit > 0) & (y_fit > 0)
    x_fit, y_fit = x_fit[ok], y_fit[ok]
    if len(x_fit) == 0:
        notes.append("no points for the fitted model")
        return notes
    lo, hi = x_fit.min(), x_fit.max()
    if hi <= lo:
        lo, hi = lo / 1.5, hi * 1.5
    grid = np.geomspace(lo, hi, 50)

    a_obs, pref = _get(row, "alpha_observed"), _get(row, "prefactor")
    if _finite(a_obs) and _finite(pref) and float(pref) > 0:
        label = (rf"observed $\hat\alpha_{sub}$ = {_fmt(a_obs)}"
                 + _ci_text(_get(row, "alpha_ci_low"), _get(row, "alpha_ci_high")))
        ax.plot(grid, float(pref) * grid ** (-float(a_obs)), color="0.15", lw=2.0,
                label=label, gid=FIT_GID, zorder=4)
    else:
        notes.append("fit unavailable (NaN)")

    a_sat, e_sat, a_pref = (_get(row, c) for c in ("alpha_saturating", "E_saturating", "A_saturating"))
    if all(_finite(v) for v in (a_sat, e_sat, a_pref)):
        label = (rf"saturating $E + A D^{{-\hat\alpha}}$: $\hat\alpha_{sub}$ = {_fmt(a_sat)}"
                 + _ci_text(_get(row, "alpha_saturating_ci_low"), _get(row, "alpha_saturating_ci_high"))
                 + f", E = {_fmt(e_sat, 2)}")
        if sub != "D":
            label = label.replace("D^", "N^")
        ax.plot(grid, float(e_sat) + float(a_pref) * grid ** (-float(a_sat)), color="#1f77b4", lw=1.8,
                ls="-.", label=label, gid=SAT_GID, zorder=4)

    a_pred = _get(row, "alpha_predicted")
    if _finite(a_pred):
        xg = float(np.exp(np.mean(np.log(x_fit))))
        yg = float(np.exp(np.mean(np.log(y_fit))))
        label = rf"predicted $\alpha_{sub}$ = {_fmt(a_pred)}"
        if _finite(_get(row, "id")):
            label += f" (ID {float(_get(row, 'id')):.1f})"
        ax.plot(grid, yg * (grid / xg) ** (-float(a_pred)), color="#d62728", lw=2.0, ls="--",
                label=label, gid=PRED_GID, zorder=4)
    else:
        notes.append("no predicted exponent (NaN)")
    return notes


def _legend_below(ax, handles=None, labels=None, ncol: int = 1) -> None:
    if handles is None:
        handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return
    ax.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, -0.17), ncol=ncol,
              fontsize=10, frameon=False, borderaxespad=0.0, handlelength=2.2)


def _empty(ax, text: str) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    _note(ax, text, loc="center")


# --------------------------------------------------------------------------- #
# 1. data scaling (paper Fig. 2)
# --------------------------------------------------------------------------- #
def _data_scaling_figure(points: pd.DataFrame, exponents: pd.DataFrame, params_column: str = "n_params") -> Figure:
    with _style():
        datasets = _ordered_unique(points["dataset"].tolist()) if len(points) else []
        fig, axes = _grid(len(datasets), extra_h=0.9)
        if not datasets:
            _empty(axes[0], "no scaling points")
            return fig
        palette = _model_palette(points, params_column)
        for ax, ds in zip(axes, datasets):
            sub = _positive(points[points["dataset"] == ds], "n_tokens", "val_loss")
            handles, labels = [], []
            for model in [m for m in palette if m in set(sub["model"])]:
                pm = sub[sub["model"] == model].sort_values("n_tokens", kind="mergesort")
                c = palette[model]
                _error_bars(ax, pm["n_tokens"], pm.get("val_loss_ci_low", np.nan),
                            pm.get("val_loss_ci_high", np.nan), c)
                ax.plot(pm["n_tokens"], pm["val_loss"], ls="none", marker="o", ms=6.5, color=c,
                        markeredgecolor="white", markeredgewidth=0.8, zorder=3)
                size = ""
                if params_column in pm.columns and _finite(pm[params_column].median()):
                    size = f" ({_human(pm[params_column].median())} params)"
                handles.append(Line2D([], [], ls="none", marker="o", ms=6.5, color=c))
                labels.append(f"{model}{size}")

            row = _exponent_row(exponents, ds, "data")
            notes = []
            if row is None:
                notes.append("no data-axis fit")
            else:
                key, value = _parse_held_fixed(_get(row, "held_fixed", None))
                fitted = sub[sub["model"].astype(str) == value] if key == "model" else sub.iloc[0:0]
                if len(fitted) == 0:
                    fitted = sub  # fall back to the dataset's whole data range
                notes += _scaling_lines(ax, fitted["n_tokens"], fitted["val_loss"], row, "D")
                if key == "model" and value is not None:
                    notes.insert(0, f"fit on model {value}")
            envelope = _exponent_row(exponents, ds, "data_envelope")
            if envelope is not None:
                _envelope_line(ax, sub, envelope)
            _heldout_marker(ax, envelope if envelope is not None else row)
            _finish_loss_panel(ax, sub["n_tokens"], str(ds), "training tokens D", notes, handles, labels)
        fig.suptitle("Validation loss vs. training data (log-log)", fontsize=13)
    return fig


def _envelope_line(ax, sub: pd.DataFrame, row: pd.Series) -> None:
    """The envelope (best seed-mean loss over the shapes at each size) and its saturating law."""
    means = sub.groupby(["n_tokens", "model"])["val_loss"].mean().groupby("n_tokens").min()
    a, e, pref = (_get(row, c) for c in ("alpha_saturating", "E_saturating", "A_saturating"))
    label = "envelope (best shape per size)"
    if all(_finite(v) for v in (a, e, pref)):
        label += (rf": $\hat\alpha_D$ = {_fmt(a)}" + _ci_text(_get(row, "alpha_saturating_ci_low"),
                                                          _get(row, "alpha_saturating_ci_high")) + f", E = {_fmt(e, 2)}")
        grid = np.geomspace(float(means.index.min()), float(means.index.max()), 50)
        ax.plot(grid, float(e) + float(pref) * grid ** (-float(a)), color="#6a3d9a", lw=2.0, zorder=5,
                gid=ENVELOPE_GID, label=label)
    else:
        ax.plot(means.index, means.to_numpy(), color="#6a3d9a", lw=1.2, zorder=5, gid=ENVELOPE_GID, label=label)


def _heldout_marker(ax, row: pd.Series | None) -> None:
    """The held-out size: the loss predicted there by the law refitted without it, with its
    interval, beside the observed mean (open marker)."""
    x, obs, pred = (_get(row, c) for c in ("heldout_x", "heldout_observed", "heldout_predicted"))
    if not all(_finite(v) for v in (x, obs, pred)):
        return
    low, high = _get(row, "heldout_predicted_ci_low"), _get(row, "heldout_predicted_ci_high")
    err = [[max(float(pred) - float(low), 0)], [max(float(high) - float(pred), 0)]] if _finite(low) and _finite(high) else None
    ax.errorbar([float(x) * 1.04], [float(pred)], yerr=err, fmt="D", ms=6, mfc="none", mec="#e66101", ecolor="#e66101",
                capsize=3, zorder=6, gid=HELDOUT_GID,
                label=f"held out: predicted {float(pred):.3f} vs {float(obs):.3f} ({100 * (float(pred) / float(obs) - 1):+.1f}%)")


def _finish_loss_panel(ax, x, title: str, xlabel: str, notes: list[str], handles: list, labels: list) -> None:
    """Log-log axes, titles, the notes box and the legend (point handles first, then lines)."""
    h2, l2 = ax.get_legend_handles_labels()
    _tidy_loglog(ax, x)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("validation loss (nats/token)")
    if notes:
        _note(ax, "\n".join(notes))
    _legend_below(ax, handles + h2, labels + l2)


def plot_data_scaling(points: pd.DataFrame, exponents: pd.DataFrame, out_path, params_column: str = "n_params") -> None:
    """Loss vs. training tokens per dataset, with fitted and predicted slopes (PNG)."""
    _save(_data_scaling_figure(points, exponents, params_column), out_path)


# --------------------------------------------------------------------------- #
# 2. model scaling (paper Fig. 3)
# --------------------------------------------------------------------------- #
def _model_scaling_figure(points: pd.DataFrame, exponents: pd.DataFrame, params_column: str = "n_params") -> Figure:
    with _style():
        datasets = _ordered_unique(points["dataset"].tolist()) if len(points) else []
        fig, axes = _grid(len(datasets), extra_h=0.9)
        if not datasets:
            _empty(axes[0], "no scaling points")
            return fig
        if params_column not in points.columns:
            raise KeyError(f"points has no column {params_column!r}")
        palette = _model_palette(points, params_column)
        for ax, ds in zip(axes, datasets):
            sub = _positive(points[points["dataset"] == ds], "n_tokens", "val_loss", params_column)
            row = _exponent_row(exponents, ds, "model")
            n_tok = np.nan
            key, value = _parse_held_fixed(_get(row, "held_fixed", None))
            if key == "n_tokens":
                try:
                    n_tok = float(value)
                except (TypeError, ValueError):
                    n_tok = np.nan
            if not _finite(n_tok) or not (np.isclose(sub["n_tokens"].astype(float), n_tok)).any():
                n_tok = float(sub["n_tokens"].max()) if len(sub) else np.nan
            at = sub[np.isclose(sub["n_tokens"].astype(float), n_tok)] if _finite(n_tok) else sub.iloc[0:0]

            handles, labels = [], []
            for model in [m for m in palette if m in set(at["model"])]:
                pm = at[at["model"] == model]
                c = palette[model]
                _error_bars(ax, pm[params_column], pm.get("val_loss_ci_low", np.nan),
                            pm.get("val_loss_ci_high", np.nan), c)
                ax.plot(pm[params_column], pm["val_loss"], ls="none", marker="o", ms=7, color=c,
                        markeredgecolor="white", markeredgewidth=0.8, zorder=3)
                handles.append(Line2D([], [], ls="none", marker="o", ms=7, color=c))
                labels.append(f"{model} ({_human(pm[params_column].median())} params)")

            notes = []
            if row is None:
                if at["model"].nunique() <= 1:
                    notes.append("one model size: no model exponent")
                else:
                    notes.append("no model-axis fit")
            else:
                notes += _scaling_lines(ax, at[params_column], at["val_loss"], row, "N")
            title = str(ds) + (f"  (D = {_human(n_tok)} tokens)" if _finite(n_tok) else "")
            xlabel = _PARAM_LABELS.get(params_column, params_column)
            _finish_loss_panel(ax, at[params_column], title, xlabel, notes, handles, labels)
        fig.suptitle("Validation loss vs. model size at the largest data size (log-log)", fontsize=13)
    return fig


def plot_model_scaling(points: pd.DataFrame, exponents: pd.DataFrame, out_path, params_column: str = "n_params") -> None:
    """Loss vs. parameters at the largest data size per dataset (PNG)."""
    _save(_model_scaling_figure(points, exponents, params_column), out_path)


# --------------------------------------------------------------------------- #
# 3. intrinsic dimension (paper Fig. 4)
# --------------------------------------------------------------------------- #
def _layer_label(layer) -> str:
    """6 / 6.0 / "6" -> 'layer 6'; "final" -> 'final layer'."""
    if isinstance(layer, str) and not layer.strip().lstrip("-").isdigit():
        return f"{layer} layer"
    try:
        f = float(layer)
    except (TypeError, ValueError):
        return f"layer {layer}"
    return f"layer {int(f)}" if math.isfinite(f) and f.is_integer() else f"layer {layer}"


_TOKEN_MARKERS = ("o", "s", "^", "D", "v", "P")


def _layer_key(layer):
    """Sort numeric layers numerically, others (e.g. 'final') after them."""
    try:
        return (0, float(layer), "")
    except (TypeError, ValueError):
        return (1, 0.0, str(layer))


def _intrinsic_dim_figure(ids: pd.DataFrame) -> Figure:
    import seaborn as sns

    with _style():
        datasets = _ordered_unique(ids["dataset"].tolist()) if len(ids) else []
        width = max(7.0, 1.9 * len(datasets) + 3.6)
        fig = Figure(figsize=(width, 5.0), layout="constrained")
        FigureCanvasAgg(fig)
        ax = fig.subplots()
        fig.suptitle("Estimated intrinsic dimension of model embeddings (Levina–Bickel MLE)", fontsize=13)
        if not datasets:
            _empty(ax, "no ID estimates")
            return fig
        df = ids.copy()
        if "layer" not in df.columns:
            df["layer"] = "final"
        models = _ordered_unique(df["model"].tolist())
        pairs = sorted({(m, l) for m, l in zip(df["model"], df["layer"])},
                       key=lambda p: (models.index(p[0]), _layer_key(p[1])))
        hue_of = {p: f"{p[0]}, {_layer_label(p[1])}" for p in pairs}
        df["_hue"] = [hue_of[(m, l)] for m, l in zip(df["model"], df["layer"])]
        hues = [hue_of[p] for p in pairs]
        colours = sns.color_palette("colorblind", n_colors=max(len(hues), 1))

        # marker shape encodes the training-set size of the embedded model (if few)
        tok_values = sorted(pd.to_numeric(df["n_tokens"], errors="coerce").dropna().unique()) \
            if "n_tokens" in df.columns else []
        by_tokens = 1 < len(tok_values) <= len(_TOKEN_MARKERS)
        marker_of = {v: _TOKEN_MARKERS[i] for i, v in enumerate(tok_values)} if by_tokens else {}

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
                _error_bars(ax, x, g.get("id_ci_low", np.nan), g.get("id_ci_high", np.nan), c, lw=1.6)
                toks = pd.to_numeric(g["n_tokens"], errors="coerce") if "n_tokens" in g else [np.nan] * k
                for xi, yi, ti in zip(x, g["id"].astype(float), toks):
                    ax.plot([xi], [yi], ls="none", marker=marker_of.get(ti, "o"), ms=7, color=c,
                            markeredgecolor="white", markeredgewidth=0.8, zorder=3)
        handles = [Line2D([], [], ls="none", marker="o", ms=7, color=colours[j % len(colours)])
                   for j in range(len(hues))]
        labels = list(hues)
        ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0,
                  fontsize=10, title="model, layer", title_fontsize=10.5, frameon=False)
        if by_tokens:
            # a figure-level legend (anchored to the axes) so that it is not
            # clipped the way a second axes legend added via add_artist would be
            th = [Line2D([], [], ls="none", marker=marker_of[v], ms=7, color="0.45") for v in tok_values]
            fig.legend(th, [f"{_human(v)} tokens" for v in tok_values], loc="lower left",
                       bbox_to_anchor=(1.02, 0.0), bbox_transform=ax.transAxes, borderaxespad=0.0,
                       fontsize=10, title="trained on", title_fontsize=10.5, frameon=False)
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
    _save(_intrinsic_dim_figure(ids), out_path)


# --------------------------------------------------------------------------- #
# 4. observed vs predicted exponents
# --------------------------------------------------------------------------- #
_AXIS_MARKER = {"data": "o", "data_envelope": "^", "model": "s"}
_AXIS_NAME = {"data": r"data, one shape  ($\alpha_D$)", "data_envelope": r"data, envelope  ($\alpha_D$)",
              "model": r"model  ($\alpha_N$)"}


def _exponents_figure(exponents: pd.DataFrame) -> Figure:
    import seaborn as sns

    with _style():
        fig = Figure(figsize=(7.4, 5.6), layout="constrained")
        FigureCanvasAgg(fig)
        ax = fig.subplots()
        if exponents is None or len(exponents) == 0:
            _empty(ax, "no exponents")
            return fig
        datasets = _ordered_unique(exponents["dataset"].tolist())
        colours = sns.color_palette("colorblind", n_colors=max(len(datasets), 1))
        cmap = {d: colours[i % len(colours)] for i, d in enumerate(datasets)}
        vals: list[float] = []
        skipped: list[str] = []
        for _, r in exponents.iterrows():
            obs, pred = _get(r, "alpha_observed"), _get(r, "alpha_predicted")
            if not (_finite(obs) and _finite(pred)):
                skipped.append(f"{r['dataset']}/{r['axis']}")
                continue
            obs, pred = float(obs), float(pred)
            c = cmap[r["dataset"]]
            _error_bars(ax, [pred], [_get(r, "alpha_ci_low")], [_get(r, "alpha_ci_high")], c, lw=1.6)
            _error_bars(ax, [obs], [_get(r, "alpha_predicted_ci_low")], [_get(r, "alpha_predicted_ci_high")],
                        c, horizontal=True, lw=1.6)
            ax.plot([pred], [obs], ls="none", marker=_AXIS_MARKER.get(r["axis"], "D"), ms=9, color=c,
                    markeredgecolor="black", markeredgewidth=0.7, zorder=4)
            vals += [obs, pred]
            vals += [float(v) for v in (_get(r, "alpha_ci_low"), _get(r, "alpha_ci_high"),
                                         _get(r, "alpha_predicted_ci_low"), _get(r, "alpha_predicted_ci_high"))
                     if _finite(v)]
        sat = [(float(_get(r, "alpha_predicted")), float(_get(r, "alpha_saturating")), r)
               for _, r in exponents.iterrows()
               if _finite(_get(r, "alpha_predicted")) and _finite(_get(r, "alpha_saturating"))]
        for pred, obs, r in sat:
            _error_bars(ax, [pred], [_get(r, "alpha_saturating_ci_low")], [_get(r, "alpha_saturating_ci_high")],
                        cmap[r["dataset"]], lw=1.0)
            ax.plot([pred], [obs], ls="none", marker=_AXIS_MARKER.get(r["axis"], "D"), ms=9, color="white",
                    markeredgecolor=cmap[r["dataset"]], markeredgewidth=1.6, zorder=4, gid=SAT_GID)
            vals += [pred, obs]
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

        handles = [Line2D([], [], ls="none", marker="o", ms=9, color=cmap[d], markeredgecolor="black",
                          markeredgewidth=0.7) for d in datasets]
        labels = [str(d) for d in datasets]
        axes_present = [a for a in _AXIS_MARKER if a in set(exponents["axis"])]
        handles += [Line2D([], [], ls="none", marker=_AXIS_MARKER[a], ms=9, color="0.7",
                           markeredgecolor="black", markeredgewidth=0.7) for a in axes_present]
        labels += [_AXIS_NAME[a] for a in axes_present]
        handles.append(Line2D([], [], color="0.4", ls=":", lw=1.5))
        labels.append("y = x")
        if sat:
            handles.append(Line2D([], [], ls="none", marker="o", ms=9, color="white", markeredgecolor="0.3",
                                  markeredgewidth=1.6))
            labels.append("hollow: saturating fit\n(E + A x^-α)")
        if skipped:  # rows without both exponents: say so next to the legend, not over the data
            handles.append(Line2D([], [], ls="none"))
            labels.append("not shown (NaN):\n" + "\n".join(skipped))
        ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0,
                  fontsize=10.5, frameon=False)
    return fig


def plot_exponents(exponents: pd.DataFrame, out_path) -> None:
    """Observed vs. predicted exponents with both CIs and the y = x line (PNG)."""
    _save(_exponents_figure(exponents), out_path)


# --------------------------------------------------------------------------- #
# 5. the controlled test: corpora of known latent dimension k
# --------------------------------------------------------------------------- #
KNOWN_ID_GID = "id_vs_k"
KNOWN_ALPHA_GID = "alpha_vs_predicted"


PROTOCOL_STYLE = {  # protocol -> (colour, marker)
    "token": ("#d62728", "o"), "token_centred": ("#ff7f0e", "v"), "sequence_mean": ("#2ca02c", "s"),
    "sequence_last": ("#9467bd", "D"), "oracle": ("0.25", "*"), "oracle_window": ("0.55", "P"),
}


def _known_dimension_figure(table: pd.DataFrame, by_position: pd.DataFrame | None = None) -> Figure:
    """One panel per metric (estimated ID of every protocol against k, with the value it should
    have: k, or k / 2 for cosine), one for the data exponent (observed; predicted from k and from
    the recommended protocol's ID) and, given ``by_position``, one for the model's loss gap to the
    Bayes loss by word position."""
    metrics = [m for m in ("euclidean", "cosine") if table is not None and len(table) and (table["metric"] == m).any()]
    with _style():
        n = max(1, len(metrics)) + 1 + (by_position is not None)
        fig = Figure(figsize=(n * PANEL_W + 1.0, PANEL_H + 1.2), layout="constrained")
        FigureCanvasAgg(fig)
        axes = list(np.atleast_1d(fig.subplots(1, n)))
        fig.suptitle("Corpora of known latent dimension k (SYNTHETIC latent teacher)", fontsize=13)
        if not metrics:
            for ax in axes:
                _empty(ax, "no latent datasets")
            return fig
        t = table.sort_values("k", kind="mergesort")
        kmax = float(t["k"].max())
        for ax, metric in zip(axes, metrics):
            tm = t[t["metric"] == metric]
            factor = 0.5 if metric == "cosine" else 1.0
            top = 1.15 * float(np.nanmax(np.concatenate([[kmax * factor], tm["id_ci_high"].astype(float), tm["id_source"].astype(float)])))
            ax.plot([0, kmax * 1.1], [0, kmax * 1.1 * factor], color="0.4", ls=":", lw=1.5,
                    label="ID = k" if factor == 1 else "ID = k / 2", gid="target")
            for protocol, g in tm.groupby("protocol", sort=False):
                colour, marker = PROTOCOL_STYLE.get(protocol, ("0.5", "o"))
                k = g["k"].astype(float).to_numpy()
                _error_bars(ax, k, g["id_ci_low"], g["id_ci_high"], colour)
                rec = " (recommended)" if g["recommended"].astype(bool).any() else ""
                ax.plot(k, g["id"].astype(float), ls="-", lw=1.2, marker=marker, ms=7, color=colour, zorder=3,
                        gid=f"{KNOWN_ID_GID}:{protocol}:{metric}", label=protocol + rec)
            src = tm.drop_duplicates("dataset")
            if np.isfinite(src["id_source"].astype(float)).any():
                ax.plot(src["k"].astype(float), src["id_source"].astype(float), ls="--", lw=1.0, marker="x", ms=7,
                        color="0.5", label="source manifold (estimator's own bias)")
            ax.set_xlim(0, kmax * 1.1)
            ax.set_ylim(0, top if math.isfinite(top) else 1.0)
            ax.set_xlabel("latent dimension k (by construction)")
            ax.set_ylabel(f"estimated intrinsic dimension ({metric})")
            ax.set_title(f"ID vs k, {metric}" + (" (1 - cos: about half)" if factor != 1 else ""))
            ax.legend(loc="upper left", fontsize=8.5)

        ax_alpha = axes[len(metrics)]
        per_ds = t.drop_duplicates("dataset")
        k = per_ds["k"].astype(float).to_numpy()
        vals: list[float] = []
        for col, (low, high), label, face in (
            ("alpha_saturating", ("alpha_saturating_ci_low", "alpha_saturating_ci_high"),
             r"observed, saturating fit $E + A D^{-\hat\alpha}$", "#2ca02c"),
            ("alpha_observed", ("alpha_ci_low", "alpha_ci_high"), r"observed, pure power law $A D^{-\hat\alpha}$",
             "white"),
        ):
            y = per_ds[col].astype(float).to_numpy()
            ok = np.isfinite(y)
            if not ok.any():
                continue
            _error_bars(ax_alpha, k[ok], per_ds[low].to_numpy()[ok], per_ds[high].to_numpy()[ok], "#2ca02c", lw=1.2)
            ax_alpha.plot(k[ok], y[ok], ls="none", marker="o", ms=8, color=face, markeredgecolor="#2ca02c",
                          markeredgewidth=1.6, zorder=4, gid=KNOWN_ALPHA_GID, label=label)
            vals += list(y[ok])
        kk = np.linspace(max(k.min() * 0.8, 0.5), k.max() * 1.1, 100)
        beta = float(t["beta"].iloc[0])
        ax_alpha.plot(kk, 2 * beta / (2 * beta + kk), color="0.2", ls=":", lw=1.5,
                      label=r"predicted from k: $2\beta/(2\beta + k)$", gid="from_k")
        rec = t[t["recommended"].astype(bool)]
        if len(rec) and np.isfinite(rec["alpha_predicted"].astype(float)).any():
            protocol, metric = rec["protocol"].iloc[0], rec["metric"].iloc[0]
            ax_alpha.plot(rec["k"].astype(float), rec["alpha_predicted"].astype(float), ls="--", lw=1.2, marker="s",
                          ms=5, color=PROTOCOL_STYLE.get(protocol, ("0.5", "s"))[0],
                          label=f"predicted from the ID ({protocol}, {metric})", gid="from_recommended")
            vals += list(rec["alpha_predicted"].astype(float).dropna())
        ax_alpha.set_xlabel("latent dimension k (by construction)")
        ax_alpha.set_ylabel(r"data exponent $\alpha_D$")
        ax_alpha.set_title(r"data exponent vs k ($\beta$ = " + f"{beta:g})")
        ax_alpha.set_ylim(0, min(max(vals + [1.0]) * 1.1, 2.0))
        ax_alpha.set_xlim(0, k.max() * 1.1)
        ax_alpha.legend(loc="upper right", fontsize=8.5)

        if by_position is not None:
            ax_gap = axes[-1]
            first = by_position[by_position["seed"] == by_position["seed"].min()] if len(by_position) else by_position
            for dataset, g in first.groupby("dataset", sort=False):
                ax_gap.plot(g["position"], g["gap"], lw=1.3, gid=f"gap:{dataset}",
                            label=f"k = {int(g['k'].iloc[0])}, probe R² (late) {g['probe_r2_late'].iloc[0]:.2f}")
            ax_gap.axhline(0, color="0.4", ls=":", lw=1)
            ax_gap.set_xlabel("word position in the document")
            ax_gap.set_ylabel("model loss − Bayes loss (nats/word)")
            ax_gap.set_title("how far the model is from the Bayes predictive")
            if len(first):
                ax_gap.legend(fontsize=8.5)
            else:
                _empty(ax_gap, "no diagnostics")
    return fig


def plot_known_dimension(table: pd.DataFrame, out_path, by_position: pd.DataFrame | None = None) -> None:
    """ID vs known k, observed vs predicted data exponent and (given ``by_position``) the loss gap
    to the Bayes loss, for the latent-teacher corpora (PNG)."""
    _save(_known_dimension_figure(table, by_position), out_path)


ID_QUALITY_GID = "id_quality"


def _id_quality_figure(table: pd.DataFrame, extrapolated: pd.DataFrame, metric: str = "euclidean") -> Figure:
    """One panel per latent dataset: each model protocol's ID (``metric``) against the checkpoint's
    loss gap to the Bayes loss, its straight-line extrapolation to zero gap (open marker with the
    interval), the window-level oracle's ID and the target k."""
    t = table[table["metric"] == metric] if table is not None and len(table) else pd.DataFrame()
    datasets = list(dict.fromkeys(t["dataset"])) if len(t) else []
    with _style():
        fig, axes = _grid(len(datasets), extra_h=0.9)
        fig.suptitle(f"ID against model quality ({metric}; SYNTHETIC latent corpora)", fontsize=13)
        if not datasets:
            _empty(axes[0], "no ID-vs-quality checkpoints")
            return fig
        for ax, ds in zip(axes, datasets):
            g = t[t["dataset"] == ds]
            for protocol, gp in g.groupby("protocol", sort=False):
                colour, marker = PROTOCOL_STYLE.get(protocol, ("0.5", "o"))
                gp = gp.sort_values("loss_gap_late")
                ax.plot(gp["loss_gap_late"], gp["id"], ls="none", marker=marker, ms=6, color=colour, alpha=0.85,
                        gid=f"{ID_QUALITY_GID}:{protocol}", label=protocol)
                e = extrapolated[(extrapolated["dataset"] == ds) & (extrapolated["protocol"] == protocol)
                                 & (extrapolated["metric"] == metric)]
                if len(e) and _finite(e["id_zero_gap"].iloc[0]):
                    r = e.iloc[0]
                    xs = np.array([0.0, float(gp["loss_gap_late"].max())])
                    ax.plot(xs, r["id_zero_gap"] + r["slope"] * xs, color=colour, lw=1.0, ls="--")
                    err = [[r["id_zero_gap"] - r["id_zero_gap_ci_low"]], [r["id_zero_gap_ci_high"] - r["id_zero_gap"]]]
                    ax.errorbar([0.0], [r["id_zero_gap"]], yerr=err, fmt=marker, mfc="white", mec=colour, ecolor=colour,
                                capsize=3, ms=7, zorder=5)
            oracle = float(g["oracle_window_id"].mean())
            if math.isfinite(oracle):
                ax.axhline(oracle, color="black", lw=1.4, ls="-", label=f"oracle_window {oracle:.2f}", gid="oracle")
            ax.axhline(float(g["id_target"].mean()), color="0.4", lw=1.2, ls=":", label=f"target {g['id_target'].mean():g}")
            ax.set_xlim(left=-0.02)
            ax.set_xlabel("model loss - Bayes loss, late positions (nats/word)")
            ax.set_ylabel(f"intrinsic dimension ({metric})")
            ax.set_title(f"{ds} (k = {int(g['k'].iloc[0])})")
            _legend_below(ax, ncol=2)
    return fig


def plot_id_quality(table: pd.DataFrame, extrapolated: pd.DataFrame, out_path, metric: str = "euclidean") -> None:
    """Each model protocol's ID against the loss gap to Bayes, with its zero-gap extrapolation (PNG)."""
    _save(_id_quality_figure(table, extrapolated, metric), out_path)


ID_SCALE_GID = "id_scale"


def _id_scale_figure(table: pd.DataFrame) -> Figure:
    """One panel per dataset: the GRIDE ID of every protocol's points against the neighbour rank
    n1 (log scale; solid: euclidean, dashed: cosine; bars: +- one standard error)."""
    datasets = list(dict.fromkeys(table["dataset"])) if table is not None and len(table) else []
    with _style():
        n = max(1, len(datasets))
        cols = min(n, 3)
        rows = -(-n // cols)
        fig = Figure(figsize=(cols * PANEL_W + 0.5, rows * PANEL_H + 0.8), layout="constrained")
        FigureCanvasAgg(fig)
        axes = list(np.atleast_1d(fig.subplots(rows, cols)).ravel())
        fig.suptitle("Intrinsic dimension vs neighbour rank (GRIDE scale curve) per ID protocol", fontsize=13)
        if not datasets:
            _empty(axes[0], "no ID protocols computed")
            return fig
        for ax in axes[len(datasets):]:
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
                _error_bars(ax, x, y - err, y + err, colour, lw=1.0)
                ax.plot(x, y, ls="-" if metric == "euclidean" else "--", marker=marker, ms=5, color=colour,
                        label=f"{protocol}, {metric}", gid=f"{ID_SCALE_GID}:{protocol}:{metric}")
            ax.set_xscale("log", base=2)
            ax.set_xlabel("neighbour rank n1 (n2 = 2 n1)")
            ax.set_ylabel("GRIDE intrinsic dimension")
            ax.set_ylim(bottom=0)
            ax.set_title(str(dataset))
            ax.legend(fontsize=7.5, ncol=2, loc="best")
    return fig


def plot_id_scale(table: pd.DataFrame, out_path) -> None:
    """The scale curves of the ID protocols (``id_scale.csv``), one panel per dataset (PNG)."""
    _save(_id_scale_figure(table), out_path)


# --------------------------------------------------------------------------- #
# 6. ID stability (paper Fig. 4): vs parameters, width, layer, context position
# --------------------------------------------------------------------------- #
ID_ANALYSIS_GID = "id_analysis"
_ID_PANELS = (
    ("params", "(a) vs parameters", "parameters N", "log"),
    ("width", "(b) vs embedding width", "embedding width", "log"),
    ("layer", "(c) vs layer (embedding model)", "hidden-state index (0 = token embeddings)", "linear"),
    ("position", "(d) vs context position (embedding model)", "position in the context window", "linear"),
)


def _id_analyses_figure(table: pd.DataFrame) -> Figure:
    import seaborn as sns

    with _style():
        fig, axes = _grid(4, extra_h=0.6)
        fig.suptitle("Stability of the estimated intrinsic dimension", fontsize=13)
        datasets = _ordered_unique(table["dataset"].tolist()) if len(table) else []
        colours = sns.color_palette("colorblind", n_colors=max(len(datasets), 1))
        for ax, (analysis, title, xlabel, scale) in zip(axes, _ID_PANELS):
            ax.set_title(title)
            sub = table[table["analysis"] == analysis] if len(table) else table
            if len(sub) == 0:
                _empty(ax, f"no '{analysis}' estimates")
                continue
            for i, ds in enumerate(datasets):
                g = sub[sub["dataset"] == ds]
                if len(g) == 0:
                    continue
                # seeds: the mean per x, bars spanning the seeds' intervals
                agg = (g.groupby("x", as_index=False)
                       .agg(id=("id", "mean"), lo=("id_ci_low", "min"), hi=("id_ci_high", "max"))
                       .sort_values("x"))
                c = colours[i % len(colours)]
                _error_bars(ax, agg["x"], agg["lo"], agg["hi"], c)
                ax.plot(agg["x"], agg["id"], marker="o", ms=6.5, lw=1.4, color=c, label=str(ds),
                        gid=ID_ANALYSIS_GID, zorder=3)
            if scale == "log":
                ax.set_xscale("log")
                xs = sorted(sub["x"].unique())
                # one tick per distinct label (sizes that round to the same label share a tick)
                xs = [x for i, x in enumerate(xs) if i == 0 or _human(x) != _human(xs[i - 1])]
                if len(xs) <= 8:
                    ax.xaxis.set_major_locator(FixedLocator(xs))
                    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: _human(v)))
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
    _save(_id_analyses_figure(table), out_path)


# --------------------------------------------------------------------------- #
# 7. pretrained suites (paper Fig. 3): loss and ID against parameters
# --------------------------------------------------------------------------- #
PRETRAINED_ID_GID = "pretrained_id"


def _pretrained_figure(points: pd.DataFrame, exponents: pd.DataFrame, params_column: str = "n_params") -> Figure:
    with _style():
        datasets = _ordered_unique(points["dataset"].tolist()) if len(points) else []
        n = max(len(datasets), 1)
        fig = Figure(figsize=(PANEL_W * n, 2 * PANEL_H + 1.4), layout="constrained")
        FigureCanvasAgg(fig)
        axes = fig.subplots(2, n, squeeze=False)
        fig.suptitle("Pretrained suites: validation loss and estimated ID vs. parameters", fontsize=13)
        if not datasets:
            _empty(axes[0][0], "no pretrained models")
            _empty(axes[1][0], "no pretrained models")
            return fig
        palette = _model_palette(points, params_column)
        for j, ds in enumerate(datasets):
            ax, ax_id = axes[0][j], axes[1][j]
            sub = _positive(points[points["dataset"] == ds], "val_loss", params_column).sort_values(params_column)
            handles, labels = [], []
            for model in [m for m in palette if m in set(sub["model"])]:
                pm = sub[sub["model"] == model]
                c = palette[model]
                _error_bars(ax, pm[params_column], pm["val_loss_ci_low"], pm["val_loss_ci_high"], c)
                ax.plot(pm[params_column], pm["val_loss"], ls="none", marker="o", ms=7, color=c,
                        markeredgecolor="white", markeredgewidth=0.8, zorder=3)
                handles.append(Line2D([], [], ls="none", marker="o", ms=7, color=c))
                labels.append(f"{model} ({_human(pm[params_column].median())})")
            row = _exponent_row(exponents, ds, "model")
            notes = _scaling_lines(ax, sub[params_column], sub["val_loss"], row, "N") if row is not None else []
            _finish_loss_panel(ax, sub[params_column], f"{ds}: loss (model's own tokens)",
                               _PARAM_LABELS.get(params_column, params_column), notes, handles, labels)

            ids = sub[np.isfinite(pd.to_numeric(sub["id"], errors="coerce"))]
            if len(ids) == 0:
                _empty(ax_id, "no ID estimates")
                continue
            _error_bars(ax_id, ids[params_column], ids["id_ci_low"], ids["id_ci_high"], "0.3")
            ax_id.plot(ids[params_column], ids["id"].astype(float), marker="o", ms=7, lw=1.2, color="0.3",
                       gid=PRETRAINED_ID_GID, zorder=3)
            ax_id.set_xscale("log")
            ax_id.set_xlabel(_PARAM_LABELS.get(params_column, params_column))
            ax_id.set_ylabel("estimated ID (final layer)")
            ax_id.set_title(f"{ds}: estimated ID")
            ax_id.set_ylim(bottom=0)
    return fig


def plot_pretrained(points: pd.DataFrame, exponents: pd.DataFrame, out_path, params_column: str = "n_params") -> None:
    """Loss (with fitted and predicted model exponents) and ID against parameters, one column of
    panels per (dataset, suite) (PNG)."""
    _save(_pretrained_figure(_by_suite(points), _by_suite(exponents), params_column), out_path)


def _by_suite(frame: pd.DataFrame) -> pd.DataFrame:
    """Panels are per dataset: make each (dataset, suite) a 'dataset' of its own."""
    if "suite" not in frame.columns or len(frame) == 0:
        return frame
    return frame.assign(dataset=frame["dataset"].astype(str) + " / " + frame["suite"].astype(str))
