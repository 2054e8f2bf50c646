"""The figures' shared style and helpers: Agg-rendered bare Figures (no pyplot state), panel
sizes, colours, log-log tick labels, error bars, notes, the fitted and predicted lines of a
scaling panel, and the one way a figure is saved (deterministic PNG bytes)."""

import contextlib
import math
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import (
    FixedLocator,
    FuncFormatter,
    LogLocator,
    MaxNLocator,
    NullFormatter,
    NullLocator,
)

DPI = 150
PANEL_W = 5.0  # inches per panel
PANEL_H = 4.2
MAX_COLS = 4

FIT_GID = "fit"
PRED_GID = "predicted"
SAT_GID = "saturating"
ENVELOPE_GID = "envelope"
HELDOUT_GID = "heldout"

PARAM_LABELS = {
    "n_params": "parameters N",
    "n_params_nonembedding": "non-embedding parameters N",
}


# --------------------------------------------------------------------------- #
# small helpers
# --------------------------------------------------------------------------- #
@contextlib.contextmanager
def style() -> Iterator[None]:
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


def finite(x) -> bool:
    try:
        return x is not None and math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def fmt(x, nd: int = 3) -> str:
    return f"{float(x):.{nd}f}" if finite(x) else "n/a"


def ci_text(lo, hi, nd: int = 3) -> str:
    if finite(lo) and finite(hi):
        return f" [{float(lo):.{nd}f}, {float(hi):.{nd}f}]"
    return ""


def human(n) -> str:
    """12_345_678 -> '12.3M'."""
    if not finite(n):
        return "?"
    n = float(n)
    for div, suf in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= div:
            return f"{n / div:.3g}{suf}"
    return f"{n:.3g}"


def ordered_unique(values: Sequence) -> list:
    """Unique values in order of first appearance (NaN dropped)."""
    out, seen = [], set()
    for v in values:
        if isinstance(v, float) and math.isnan(v):
            continue
        if v not in seen:
            seen.add(v)
            out.append(v)
    return out


def parse_held_fixed(text) -> tuple[str | None, str | None]:
    """'model=small' -> ('model', 'small'); anything else -> (None, None)."""
    if not isinstance(text, str) or "=" not in text:
        return None, None
    key, _, value = text.partition("=")
    return key.strip(), value.strip()


def exponent_row(exponents: pd.DataFrame, dataset, axis: str) -> pd.Series | None:
    if exponents is None or len(exponents) == 0:
        return None
    sel = exponents[(exponents["dataset"] == dataset) & (exponents["axis"] == axis)]
    if len(sel) == 0:
        return None
    return sel.iloc[0]


def get(row: pd.Series | None, key: str, default=np.nan):
    if row is None or key not in row.index:
        return default
    return row[key]


def grid(n: int, panel_w: float = PANEL_W, panel_h: float = PANEL_H, extra_h: float = 0.0):
    n = max(n, 1)
    ncols = min(n, MAX_COLS)
    nrows = math.ceil(n / ncols)
    fig = Figure(figsize=(panel_w * ncols, panel_h * nrows + extra_h), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, list(axes[:n])


def model_palette(points: pd.DataFrame, params_column: str) -> dict:
    """Stable model -> colour mapping, models ordered by parameter count."""
    import seaborn as sns

    if len(points) == 0:
        return {}
    models = ordered_unique(points["model"].tolist())
    if params_column in points.columns:
        size = points.groupby("model", sort=False)[params_column].median()
        models = sorted(
            models, key=lambda m: (not finite(size.get(m)), size.get(m, 0) if finite(size.get(m)) else 0, str(m))
        )
    colours = sns.color_palette("colorblind", n_colors=max(len(models), 1))
    return {m: colours[i % len(colours)] for i, m in enumerate(models)}


def tidy_loglog(ax, xs) -> None:
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
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: human(v)))
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


def error_bars(ax, x, lo, hi, colour, horizontal: bool = False, lw: float = 1.4, zorder: float = 2) -> None:
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


def positive(df: pd.DataFrame, *cols: str) -> pd.DataFrame:
    mask = np.ones(len(df), dtype=bool)
    for c in cols:
        v = pd.to_numeric(df[c], errors="coerce").to_numpy(dtype=float)
        mask &= np.isfinite(v) & (v > 0)
    return df[mask]


def note(ax, text: str, loc: str = "upper right") -> None:
    xy = {
        "upper right": (0.97, 0.97, "right", "top"),
        "lower left": (0.03, 0.03, "left", "bottom"),
        "center": (0.5, 0.5, "center", "center"),
    }[loc]
    ax.text(
        xy[0],
        xy[1],
        text,
        transform=ax.transAxes,
        ha=xy[2],
        va=xy[3],
        fontsize=10.5,
        bbox=dict(boxstyle="round,pad=0.35", facecolor="white", edgecolor="0.6", alpha=0.95),
        zorder=10,
    )


def save(fig: Figure, out_path) -> None:
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    with style():
        # bbox_inches="tight": legends placed beside the axes are never clipped
        fig.savefig(out, dpi=DPI, format="png", metadata={"Software": None}, bbox_inches="tight", pad_inches=0.15)
    fig.clear()


def scaling_lines(ax, x_fit: np.ndarray, y_fit: np.ndarray, row: pd.Series | None, sub: str) -> list[str]:
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

    a_obs, pref = get(row, "alpha_observed"), get(row, "prefactor")
    if finite(a_obs) and finite(pref) and float(pref) > 0:
        label = rf"observed $\hat\alpha_{sub}$ = {fmt(a_obs)}" + ci_text(
            get(row, "alpha_ci_low"), get(row, "alpha_ci_high")
        )
        ax.plot(grid, float(pref) * grid ** (-float(a_obs)), color="0.15", lw=2.0, label=label, gid=FIT_GID, zorder=4)
    else:
        notes.append("fit unavailable (NaN)")

    a_sat, e_sat, a_pref = (get(row, c) for c in ("alpha_saturating", "E_saturating", "A_saturating"))
    if all(finite(v) for v in (a_sat, e_sat, a_pref)):
        label = (
            rf"saturating $E + A D^{{-\hat\alpha}}$: $\hat\alpha_{sub}$ = {fmt(a_sat)}"
            + ci_text(get(row, "alpha_saturating_ci_low"), get(row, "alpha_saturating_ci_high"))
            + f", E = {fmt(e_sat, 2)}"
        )
        if sub != "D":
            label = label.replace("D^", "N^")
        ax.plot(
            grid,
            float(e_sat) + float(a_pref) * grid ** (-float(a_sat)),
            color="#1f77b4",
            lw=1.8,
            ls="-.",
            label=label,
            gid=SAT_GID,
            zorder=4,
        )

    a_pred = get(row, "alpha_predicted")
    if finite(a_pred):
        xg = float(np.exp(np.mean(np.log(x_fit))))
        yg = float(np.exp(np.mean(np.log(y_fit))))
        label = rf"predicted $\alpha_{sub}$ = {fmt(a_pred)}"
        if finite(get(row, "id")):
            label += f" (ID {float(get(row, 'id')):.1f})"
        ax.plot(
            grid,
            yg * (grid / xg) ** (-float(a_pred)),
            color="#d62728",
            lw=2.0,
            ls="--",
            label=label,
            gid=PRED_GID,
            zorder=4,
        )
    else:
        notes.append("no predicted exponent (NaN)")
    return notes


def legend_below(ax, handles=None, labels=None, ncol: int = 1) -> None:
    if handles is None:
        handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return
    ax.legend(
        handles,
        labels,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.17),
        ncol=ncol,
        fontsize=10,
        frameon=False,
        borderaxespad=0.0,
        handlelength=2.2,
    )


def empty(ax, text: str) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    note(ax, text, loc="center")


PROTOCOL_STYLE = {  # protocol -> (colour, marker)
    "token": ("#d62728", "o"),
    "token_centred": ("#ff7f0e", "v"),
    "sequence_mean": ("#2ca02c", "s"),
    "sequence_last": ("#9467bd", "D"),
    "oracle": ("0.25", "*"),
    "oracle_window": ("0.55", "P"),
}
