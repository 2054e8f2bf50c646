"""Tests for idscaling.plots: files are valid PNGs, drawn lines carry the exponents."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib import image as mpimg

from idscaling.report.figures import exponents as fig_exponents
from idscaling.report.figures import intrinsic_dim as fig_intrinsic_dim
from idscaling.report.figures import scaling as fig_scaling
from idscaling.report.figures import style as fig_style

DATASETS = ["tinystories", "openwebtext"]
MODELS = {"small": 1_000_000, "medium": 4_000_000}
SIZES = [100_000, 200_000, 400_000, 800_000]
ALPHA_D = {"tinystories": 0.12, "openwebtext": 0.08}
ALPHA_N = {"tinystories": 0.20, "openwebtext": 0.15}
A_D = 20.0


def _points() -> pd.DataFrame:
    rows = []
    for ds in DATASETS:
        for m, n_params in MODELS.items():
            for n in SIZES:
                # exact power law in data; larger model shifts the curve down by its own law
                loss = A_D * n ** -ALPHA_D[ds] * (n_params / 1e6) ** -ALPHA_N[ds]
                rows.append(
                    dict(
                        dataset=ds,
                        model=m,
                        n_params=n_params,
                        n_params_nonembedding=n_params // 2,
                        n_tokens=n,
                        seed=0,
                        val_loss=loss,
                        val_loss_ci_low=loss * 0.98,
                        val_loss_ci_high=loss * 1.02,
                        train_flops=6.0 * n_params * n,
                    )
                )
    return pd.DataFrame(rows)


def _exponents(with_model_axis: bool = True) -> pd.DataFrame:
    rows = []
    for ds in DATASETS:
        d = 20.0
        a = ALPHA_D[ds]
        rows.append(
            dict(
                dataset=ds,
                axis="data",
                held_fixed="model=small",
                n_points=4,
                alpha_observed=a,
                alpha_ci_low=a - 0.01,
                alpha_ci_high=a + 0.01,
                prefactor=A_D,
                r2=1.0,
                id=d,
                id_ci_low=18.0,
                id_ci_high=22.0,
                beta=1.0,
                alpha_predicted=2 / (2 + d),
                alpha_predicted_ci_low=2 / (2 + 22.0),
                alpha_predicted_ci_high=2 / (2 + 18.0),
                ci_level=0.95,
            )
        )
        if with_model_axis:
            an = ALPHA_N[ds]
            pref = A_D * SIZES[-1] ** -ALPHA_D[ds] * 1e6**an
            rows.append(
                dict(
                    dataset=ds,
                    axis="model",
                    held_fixed=f"n_tokens={SIZES[-1]}",
                    n_points=2,
                    alpha_observed=an,
                    alpha_ci_low=np.nan,
                    alpha_ci_high=np.nan,
                    prefactor=pref,
                    r2=1.0,
                    id=d,
                    id_ci_low=18.0,
                    id_ci_high=22.0,
                    beta=1.0,
                    alpha_predicted=2 / d,
                    alpha_predicted_ci_low=2 / 22.0,
                    alpha_predicted_ci_high=2 / 18.0,
                    ci_level=0.95,
                )
            )
    return pd.DataFrame(rows)


def _ids() -> pd.DataFrame:
    rows = []
    for i, ds in enumerate(DATASETS):
        for j, m in enumerate(MODELS):
            for layer in (6, 12):
                for n in SIZES[-2:]:
                    v = 15.0 + 5 * i + j + 0.1 * layer
                    rows.append(
                        dict(
                            dataset=ds,
                            model=m,
                            n_tokens=n,
                            seed=0,
                            layer=layer,
                            id=v,
                            id_ci_low=v - 1.0,
                            id_ci_high=v + 1.0,
                        )
                    )
    return pd.DataFrame(rows)


def _assert_png(path, min_w: int = 400, min_h: int = 300) -> np.ndarray:
    assert path.exists() and path.stat().st_size > 1000
    with open(path, "rb") as fh:
        assert fh.read(8) == b"\x89PNG\r\n\x1a\n"
    img = mpimg.imread(path)
    assert img.ndim == 3 and img.shape[2] in (3, 4)
    h, w = img.shape[:2]
    assert w >= min_w and h >= min_h
    assert w <= 6000 and h <= 4000
    # not a blank canvas
    assert img[..., :3].std() > 0.01
    return img


def _slope(line) -> float:
    x = np.log(np.asarray(line.get_xdata(), dtype=float))
    y = np.log(np.asarray(line.get_ydata(), dtype=float))
    return -float(np.polyfit(x, y, 1)[0])


def _lines(fig, gid):
    return [ln for ax in fig.axes for ln in ax.get_lines() if ln.get_gid() == gid]


# ------------------------------------------------------------------ PNG files
def test_all_plots_write_valid_pngs(tmp_path):
    pts, exps, ids = _points(), _exponents(), _ids()
    fig_scaling.plot_data_scaling(pts, exps, tmp_path / "data.png")
    fig_scaling.plot_model_scaling(pts, exps, tmp_path / "model.png")
    fig_intrinsic_dim.plot_intrinsic_dim(ids, tmp_path / "id.png")
    fig_exponents.plot_exponents(exps, tmp_path / "exp.png")
    img = _assert_png(tmp_path / "data.png")
    assert img.shape[1] > img.shape[0]  # a row of panels is wider than tall
    _assert_png(tmp_path / "model.png")
    _assert_png(tmp_path / "id.png")
    _assert_png(tmp_path / "exp.png")


def test_returns_none_and_creates_parent_dirs(tmp_path):
    out = tmp_path / "a" / "b" / "data.png"
    assert fig_scaling.plot_data_scaling(_points(), _exponents(), out) is None
    _assert_png(out)


def test_output_is_deterministic(tmp_path):
    pts, exps = _points(), _exponents()
    fig_scaling.plot_data_scaling(pts, exps, tmp_path / "a.png")
    fig_scaling.plot_data_scaling(pts, exps, tmp_path / "b.png")
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()


def test_no_pyplot_figures_left_open(tmp_path):
    import matplotlib.pyplot as plt

    before = len(plt.get_fignums())
    fig_exponents.plot_exponents(_exponents(), tmp_path / "e.png")
    fig_intrinsic_dim.plot_intrinsic_dim(_ids(), tmp_path / "i.png")
    assert len(plt.get_fignums()) == before


# ------------------------------------------------------------------ drawn lines
def test_data_scaling_lines_have_fitted_and_predicted_exponents():
    exps = _exponents()
    fig = fig_scaling.data_scaling_figure(_points(), exps)
    fits, preds = _lines(fig, fig_style.FIT_GID), _lines(fig, fig_style.PRED_GID)
    assert len(fits) == len(DATASETS) and len(preds) == len(DATASETS)
    data_rows = exps[exps["axis"] == "data"].set_index("dataset")
    for ax, ds in zip(fig.axes, DATASETS):
        assert ds in ax.get_title()
        (fit,) = [ln for ln in ax.get_lines() if ln.get_gid() == fig_style.FIT_GID]
        (pred,) = [ln for ln in ax.get_lines() if ln.get_gid() == fig_style.PRED_GID]
        assert _slope(fit) == pytest.approx(data_rows.loc[ds, "alpha_observed"], rel=1e-9)
        assert _slope(pred) == pytest.approx(data_rows.loc[ds, "alpha_predicted"], rel=1e-9)
        # the fit is A * N^-alpha: it passes through the exact synthetic "small" points
        x = np.asarray(fit.get_xdata())
        assert x.min() == pytest.approx(SIZES[0]) and x.max() == pytest.approx(SIZES[-1])
        assert np.asarray(fit.get_ydata())[0] == pytest.approx(A_D * SIZES[0] ** -ALPHA_D[ds])
        # predicted line goes through the geometric mean of the fitted model's points
        small = _points().query("dataset == @ds and model == 'small'")
        xg = np.exp(np.log(small["n_tokens"]).mean())
        yg = np.exp(np.log(small["val_loss"]).mean())
        px, py = np.asarray(pred.get_xdata()), np.asarray(pred.get_ydata())
        assert np.interp(np.log(xg), np.log(px), np.log(py)) == pytest.approx(np.log(yg), rel=1e-6)
        assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
        assert fit.get_label().startswith("observed")
        assert "0.120" in fit.get_label() or "0.080" in fit.get_label()
        assert "ID 20.0" in pred.get_label()
        assert pred.get_linestyle() == "--"


def test_model_scaling_lines_have_exponents():
    exps = _exponents()
    fig = fig_scaling.model_scaling_figure(_points(), exps)
    rows = exps[exps["axis"] == "model"].set_index("dataset")
    for ax, ds in zip(fig.axes, DATASETS):
        (fit,) = [ln for ln in ax.get_lines() if ln.get_gid() == fig_style.FIT_GID]
        (pred,) = [ln for ln in ax.get_lines() if ln.get_gid() == fig_style.PRED_GID]
        assert _slope(fit) == pytest.approx(rows.loc[ds, "alpha_observed"], rel=1e-9)
        assert _slope(pred) == pytest.approx(rows.loc[ds, "alpha_predicted"], rel=1e-9)
        assert min(fit.get_xdata()) == pytest.approx(min(MODELS.values()))
        # NaN observed CI -> no bracket in the label
        assert "[" not in fit.get_label()


def test_model_scaling_params_column():
    fig = fig_scaling.model_scaling_figure(_points(), _exponents(), params_column="n_params_nonembedding")
    ax = fig.axes[0]
    assert "non-embedding" in ax.get_xlabel()
    (fit,) = [ln for ln in ax.get_lines() if ln.get_gid() == fig_style.FIT_GID]
    assert min(fit.get_xdata()) == pytest.approx(min(MODELS.values()) // 2)


def test_exponents_figure_identity_line():
    fig = fig_exponents.exponents_figure(_exponents())
    ax = fig.axes[0]
    (ident,) = [ln for ln in ax.get_lines() if ln.get_gid() == "identity"]
    x, y = ident.get_xdata(), ident.get_ydata()
    assert np.allclose(x, y)
    markers = [ln for ln in ax.get_lines() if ln.get_gid() is None and len(ln.get_xdata()) == 1]
    assert len(markers) == 4  # (2 datasets) x (data, model)


# ------------------------------------------------------------------ edge cases
def test_single_model_size_panel_says_so(tmp_path):
    pts = _points()
    pts = pts[~((pts["dataset"] == "openwebtext") & (pts["model"] == "medium"))]
    exps = _exponents()
    exps = exps[~((exps["dataset"] == "openwebtext") & (exps["axis"] == "model"))]
    fig = fig_scaling.model_scaling_figure(pts, exps)
    ax_ts, ax_owt = fig.axes[0], fig.axes[1]
    assert "one model size: no model exponent" in "\n".join(t.get_text() for t in ax_owt.texts)
    assert not [ln for ln in ax_owt.get_lines() if ln.get_gid() in (fig_style.FIT_GID, fig_style.PRED_GID)]
    assert [ln for ln in ax_ts.get_lines() if ln.get_gid() == fig_style.FIT_GID]
    fig_scaling.plot_model_scaling(pts, exps, tmp_path / "model.png")
    _assert_png(tmp_path / "model.png")


def test_nan_cis_and_nan_exponents(tmp_path):
    pts = _points()
    pts.loc[::2, ["val_loss_ci_low", "val_loss_ci_high"]] = np.nan
    exps = _exponents()
    exps[
        [
            "alpha_ci_low",
            "alpha_ci_high",
            "id_ci_low",
            "id_ci_high",
            "alpha_predicted_ci_low",
            "alpha_predicted_ci_high",
        ]
    ] = np.nan
    exps.loc[exps["dataset"] == "openwebtext", ["alpha_predicted", "id"]] = np.nan
    ids = _ids()
    ids.loc[::3, ["id_ci_low", "id_ci_high"]] = np.nan

    fig = fig_scaling.data_scaling_figure(pts, exps)
    ax_owt = fig.axes[1]
    assert not [ln for ln in ax_owt.get_lines() if ln.get_gid() == fig_style.PRED_GID]
    assert [ln for ln in ax_owt.get_lines() if ln.get_gid() == fig_style.FIT_GID]
    assert "no predicted exponent" in "\n".join(t.get_text() for t in ax_owt.texts)
    # error bars only for rows with finite CIs: 2 models x 4 sizes, half NaN per dataset
    n_bars = sum(len(c.get_segments()) for c in ax_owt.collections)
    assert n_bars == 4

    fig = fig_exponents.exponents_figure(exps)
    assert "not shown (NaN)" in "\n".join(t.get_text() for t in fig.axes[0].get_legend().get_texts())
    assert not fig.axes[0].collections  # all CIs NaN -> no bars at all

    fig_scaling.plot_data_scaling(pts, exps, tmp_path / "d.png")
    fig_scaling.plot_model_scaling(pts, exps, tmp_path / "m.png")
    fig_intrinsic_dim.plot_intrinsic_dim(ids, tmp_path / "i.png")
    fig_exponents.plot_exponents(exps, tmp_path / "e.png")
    for name in ("d", "m", "i", "e"):
        _assert_png(tmp_path / f"{name}.png")


def test_intrinsic_dim_bars_skip_nan():
    ids = _ids()
    ids.loc[::3, ["id_ci_low", "id_ci_high"]] = np.nan
    fig = fig_intrinsic_dim.intrinsic_dim_figure(ids)
    ax = fig.axes[0]
    n_bars = sum(len(c.get_segments()) for c in ax.collections)
    assert n_bars == int(ids["id_ci_low"].notna().sum())
    n_points = sum(len(ln.get_xdata()) for ln in ax.get_lines() if ln.get_gid() is None and len(ln.get_xdata()) == 1)
    assert n_points == len(ids)
    assert [t.get_text() for t in ax.get_xticklabels()] == DATASETS


def test_empty_inputs_still_write_png(tmp_path):
    cols_p = list(_points().columns)
    cols_e = list(_exponents().columns)
    fig_scaling.plot_data_scaling(pd.DataFrame(columns=cols_p), pd.DataFrame(columns=cols_e), tmp_path / "d.png")
    fig_exponents.plot_exponents(pd.DataFrame(columns=cols_e), tmp_path / "e.png")
    fig_intrinsic_dim.plot_intrinsic_dim(pd.DataFrame(columns=list(_ids().columns)), tmp_path / "i.png")
    for name in ("d", "e", "i"):
        assert (tmp_path / f"{name}.png").exists()


def test_missing_ci_columns_and_mixed_layers(tmp_path):
    pts = _points().drop(columns=["val_loss_ci_low", "val_loss_ci_high"])
    fig = fig_scaling.data_scaling_figure(pts, _exponents())
    assert not any(ax.collections for ax in fig.axes)  # no CI columns -> no bars
    ids = _ids().astype({"layer": object})
    ids.loc[ids["layer"] == 12, "layer"] = "final"
    fig = fig_intrinsic_dim.intrinsic_dim_figure(ids)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == ["small, layer 6", "small, final layer", "medium, layer 6", "medium, final layer"]
    fig_intrinsic_dim.plot_intrinsic_dim(ids, tmp_path / "i.png")
    _assert_png(tmp_path / "i.png")


def test_saturating_curve_drawn_from_its_columns():
    exps = _exponents()
    exps["alpha_saturating"] = 0.5
    exps["alpha_saturating_ci_low"] = 0.4
    exps["alpha_saturating_ci_high"] = 0.6
    exps["E_saturating"] = 2.0
    exps["A_saturating"] = 300.0
    exps.loc[exps["dataset"] == "openwebtext", "alpha_saturating"] = np.nan  # not fitted there
    fig = fig_scaling.data_scaling_figure(_points(), exps)
    sats = _lines(fig, fig_style.SAT_GID)
    assert len(sats) == 1  # only where the saturating fit exists
    (sat,) = sats
    x, y = np.asarray(sat.get_xdata()), np.asarray(sat.get_ydata())
    np.testing.assert_allclose(y, 2.0 + 300.0 * x**-0.5, rtol=1e-12)
    assert "0.500" in sat.get_label() and "E = 2.00" in sat.get_label()
    # the exponents figure marks the saturating estimate (hollow) next to the pure one
    efig = fig_exponents.exponents_figure(exps)
    hollow = _lines(efig, fig_style.SAT_GID)
    assert len(hollow) == 2  # tinystories data + model rows
    assert all(ln.get_ydata()[0] == 0.5 for ln in hollow)


def test_data_scaling_draws_the_envelope_law_and_the_held_out_prediction():
    exps = _exponents()
    envelope = exps[exps["axis"] == "data"].assign(
        axis="data_envelope",
        held_fixed="best of 2 models per size",
        alpha_saturating=0.5,
        E_saturating=1.0,
        A_saturating=40.0,
        alpha_saturating_ci_low=0.4,
        alpha_saturating_ci_high=0.6,
        heldout_x=SIZES[-1],
        heldout_observed=2.0,
        heldout_predicted=2.1,
        heldout_predicted_ci_low=2.0,
        heldout_predicted_ci_high=2.3,
    )
    fig = fig_scaling.data_scaling_figure(_points(), pd.concat([exps, envelope], ignore_index=True))
    env_lines = _lines(fig, fig_style.ENVELOPE_GID)
    held = [ln for ln in _lines(fig, fig_style.HELDOUT_GID) if ln.get_marker() == "D"]  # not the error bar's caps
    assert len(env_lines) == len(held) == len(DATASETS)
    x, y = (np.asarray(a, dtype=float) for a in (env_lines[0].get_xdata(), env_lines[0].get_ydata()))
    np.testing.assert_allclose(y, 1.0 + 40.0 * x**-0.5)
    assert x.min() == SIZES[0] and x.max() == SIZES[-1] and "0.500 [0.400, 0.600]" in env_lines[0].get_label()
    assert held[0].get_ydata()[0] == 2.1
    assert any("predicted 2.100 vs 2.000 (+5.0%)" in t.get_text() for t in fig.axes[0].get_legend().get_texts())
    # without an envelope row the fixed shape's held-out point is drawn (none here: its columns are absent)
    assert not _lines(fig_scaling.data_scaling_figure(_points(), exps), fig_style.HELDOUT_GID)
