"""Tests for idscaling.fit: pure, saturating and joint (Chinchilla) scaling-law fits."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from idscaling.fit.joint import fit_joint_scaling_law
from idscaling.fit.power_law import fit_power_law
from idscaling.fit.saturating import fit_saturating_power_law

REPO = Path(__file__).resolve().parents[2]

KEYS = {"alpha", "alpha_ci_low", "alpha_ci_high", "prefactor", "r2", "n_points", "ci_level"}


def test_noiseless_recovers_exactly() -> None:
    x = np.logspace(5, 9, 7)
    y = 3.7 * x**-0.27
    out = fit_power_law(x, y)
    assert set(out) == KEYS
    assert abs(out["alpha"] - 0.27) < 1e-10
    assert abs(out["prefactor"] - 3.7) < 1e-8
    assert out["r2"] == pytest.approx(1.0, abs=1e-12)
    assert abs(out["alpha_ci_low"] - 0.27) < 1e-10 and abs(out["alpha_ci_high"] - 0.27) < 1e-10
    assert out["n_points"] == 7 and out["ci_level"] == 0.95


def test_noisy_true_alpha_inside_ci() -> None:
    rng = np.random.default_rng(0)
    x = np.repeat(np.logspace(4, 8, 6), 2)  # two "seeds" per size
    y = 5.0 * x**-0.3 * np.exp(rng.normal(0, 0.03, x.size))
    out = fit_power_law(x, y, ci_level=0.95)
    assert out["alpha_ci_low"] < 0.3 < out["alpha_ci_high"]
    assert out["alpha_ci_low"] < out["alpha"] < out["alpha_ci_high"]
    assert out["alpha_ci_high"] - out["alpha_ci_low"] < 0.05
    assert 0.9 < out["r2"] < 1.0


@pytest.mark.parametrize("n", [3, 8])
def test_ci_coverage_is_nominal(n: int) -> None:
    # The Student-t interval is exact for Gaussian errors in log y: over 400
    # replicates, 90% intervals should cover about 90% of the time (binomial sd 1.5%).
    # n=3 catches a wrong number of degrees of freedom (t_1 vs t_2 differ by 2x).
    rng = np.random.default_rng(1)
    x = np.logspace(3, 7, n)
    hits = 0
    for _ in range(400):
        y = 2.0 * x**-0.5 * np.exp(rng.normal(0, 0.1, x.size))
        out = fit_power_law(x, y, ci_level=0.9)
        hits += out["alpha_ci_low"] < 0.5 < out["alpha_ci_high"]
    assert 0.85 < hits / 400 < 0.95


def test_two_points_has_nan_ci() -> None:
    out = fit_power_law([10.0, 1000.0], [2.0, 1.0])
    assert out["alpha"] == pytest.approx(math.log(2) / math.log(100))
    assert math.isnan(out["alpha_ci_low"]) and math.isnan(out["alpha_ci_high"])
    assert out["n_points"] == 2


def test_wider_level_gives_wider_interval() -> None:
    rng = np.random.default_rng(2)
    x = np.logspace(3, 7, 6)
    y = x**-0.4 * np.exp(rng.normal(0, 0.05, x.size))
    a = fit_power_law(x, y, ci_level=0.8)
    b = fit_power_law(x, y, ci_level=0.99)
    assert b["alpha_ci_low"] < a["alpha_ci_low"] < a["alpha_ci_high"] < b["alpha_ci_high"]


@pytest.mark.parametrize(
    "x, y, match",
    [
        ([1.0, 2.0, -3.0], [1.0, 2.0, 3.0], "positive"),
        ([1.0, 2.0, 3.0], [1.0, 0.0, 3.0], "positive"),
        ([1.0, np.nan, 3.0], [1.0, 2.0, 3.0], "NaN"),
        ([1.0, 2.0, 3.0], [1.0, np.inf, 3.0], "NaN or inf"),
        ([1.0], [1.0], "at least 2 points"),
        ([5.0, 5.0, 5.0], [1.0, 2.0, 3.0], "2 distinct x"),
        ([1.0, 2.0], [1.0, 2.0, 3.0], "same length"),
        ([[1.0, 2.0]], [[1.0, 2.0]], "1-D"),
        (["a", "b"], [1.0, 2.0], "numeric"),
    ],
)
def test_errors(x, y, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        fit_power_law(x, y)


def test_bad_ci_level() -> None:
    with pytest.raises(ValueError, match="ci_level"):
        fit_power_law([1.0, 2.0, 3.0], [3.0, 2.0, 1.0], ci_level=95)


# --------------------------------------------------------------------------- #
# fit_power_law: nominal 95% coverage, optional bootstrap
# --------------------------------------------------------------------------- #
def test_ci_coverage_95_percent() -> None:
    # 2,000 synthetic noisy power laws (Gaussian noise in log y, 6 points):
    # the fraction of 95% Student-t intervals holding the true alpha has binomial
    # sd sqrt(0.95 * 0.05 / 2000) = 0.0049; accept 3 sd either side of 0.95.
    rng = np.random.default_rng(3)
    x = np.logspace(4, 9, 6)
    reps = 2000
    hits = 0
    for _ in range(reps):
        y = 3.0 * x**-0.3 * np.exp(rng.normal(0, 0.05, x.size))
        out = fit_power_law(x, y, ci_level=0.95)
        hits += out["alpha_ci_low"] < 0.3 < out["alpha_ci_high"]
    sd = math.sqrt(0.95 * 0.05 / reps)
    assert abs(hits / reps - 0.95) < 3 * sd


def test_power_law_bootstrap_option() -> None:
    rng = np.random.default_rng(4)
    x = np.logspace(3, 8, 40)
    y = 2.0 * x**-0.25 * np.exp(rng.normal(0, 0.05, x.size))
    out = fit_power_law(x, y, n_bootstrap=2000, seed=1)
    assert set(out) == KEYS | {
        "alpha_boot_ci_low",
        "alpha_boot_ci_high",
        "alpha_boot_se",
        "n_bootstrap",
        "bootstrap_failed_fraction",
    }
    assert out["alpha_boot_ci_low"] < out["alpha"] < out["alpha_boot_ci_high"]
    # With 40 well-spread points the pairs bootstrap agrees with the t interval.
    t_width = out["alpha_ci_high"] - out["alpha_ci_low"]
    b_width = out["alpha_boot_ci_high"] - out["alpha_boot_ci_low"]
    assert 0.75 < b_width / t_width < 1.25
    assert out["bootstrap_failed_fraction"] == 0.0
    assert fit_power_law(x, y, n_bootstrap=2000, seed=1) == out
    # Two points: half the resamples repeat one point and have no slope.
    two = fit_power_law([10.0, 1000.0], [2.0, 1.0], n_bootstrap=4000)
    assert abs(two["bootstrap_failed_fraction"] - 0.5) < 4 * math.sqrt(0.25 / 4000)
    with pytest.raises(ValueError, match="n_bootstrap"):
        fit_power_law(x, y, n_bootstrap=-1)


# --------------------------------------------------------------------------- #
# fit_saturating_power_law
# --------------------------------------------------------------------------- #
SAT_KEYS = {
    "alpha",
    "E",
    "A",
    "r2",
    "n_points",
    "ci_level",
    "loss",
    "f_scale",
    "x_ref",
    "at_bound",
    "n_bootstrap",
    "resample",
    "bootstrap_failed_fraction",
    "bootstrap_at_bound_fraction",
} | {f"{p}_{s}" for p in ("alpha", "E", "A") for s in ("ci_low", "ci_high", "se")}


@pytest.mark.parametrize("loss", ["huber", "soft_l1", "linear"])
def test_saturating_noiseless_recovers_exactly(loss: str) -> None:
    x = np.logspace(4, 9, 8)
    y = 1.9 + 300.0 * x**-0.35
    out = fit_saturating_power_law(x, y, loss=loss, n_bootstrap=0)
    assert set(out) == SAT_KEYS
    assert out["alpha"] == pytest.approx(0.35, abs=1e-7)
    assert out["E"] == pytest.approx(1.9, rel=1e-7)
    assert out["A"] == pytest.approx(300.0, rel=1e-6)
    assert out["r2"] == pytest.approx(1.0, abs=1e-12)
    assert out["at_bound"] == [] and out["n_points"] == 8 and out["loss"] == loss
    assert math.isnan(out["alpha_ci_low"]) and math.isnan(out["bootstrap_failed_fraction"])


def test_saturating_pure_power_law_puts_E_on_its_bound() -> None:
    x = np.logspace(4, 9, 7)
    out = fit_saturating_power_law(x, 5.0 * x**-0.3, n_bootstrap=0)
    assert out["E"] < 1e-6 and out["at_bound"] == ["E"]
    assert out["alpha"] == pytest.approx(0.3, abs=1e-6)
    assert out["A"] == pytest.approx(5.0, rel=1e-4)


def test_saturating_robust_loss_resists_an_outlier() -> None:
    rng = np.random.default_rng(5)
    x = np.logspace(5, 10, 12)
    y = (1.7 + 120.0 * x**-0.3) * np.exp(rng.normal(0, 0.005, x.size))
    y[4] *= 1.25  # one diverged run
    fits = {loss: fit_saturating_power_law(x, y, loss=loss, n_bootstrap=0) for loss in ("linear", "huber", "soft_l1")}
    err = {loss: abs(f["alpha"] - 0.3) for loss, f in fits.items()}
    assert err["huber"] < 0.02 and err["soft_l1"] < 0.02
    assert err["linear"] > 3 * max(err["huber"], err["soft_l1"])


def test_saturating_bootstrap_and_failures() -> None:
    x = np.array([1e5, 1e6, 1e7, 1e8])
    y = np.array([3.1, 2.45, 2.12, 1.97])
    out = fit_saturating_power_law(x, y, n_bootstrap=2000, seed=3)
    for p in ("alpha", "E", "A"):
        assert out[f"{p}_ci_low"] <= out[p] <= out[f"{p}_ci_high"], p
        assert out[f"{p}_se"] > 0
    # Resamples of 4 distinct points with fewer than 3 distinct ones cannot be
    # fitted: probability (4 + 6 * 14) / 4**4 = 0.344.
    p_fail = 88 / 256
    assert abs(out["bootstrap_failed_fraction"] - p_fail) < 4 * math.sqrt(p_fail * (1 - p_fail) / 2000)
    assert fit_saturating_power_law(x, y, n_bootstrap=2000, seed=3) == out
    assert fit_saturating_power_law(x, y, n_bootstrap=2000, seed=4)["alpha_se"] != out["alpha_se"]


@pytest.mark.parametrize("e_true, expected", [(0.0, 1.0), (1.9, 0.0)])
def test_saturating_at_bound_fraction_on_exact_curves(e_true: float, expected: float) -> None:
    # Exact curves: every usable resample refits the same curve, so either all refits put E on
    # its bound (an exact pure power law, E = 0) or none do (E = 1.9, well inside).
    x = np.logspace(4, 9, 7)
    out = fit_saturating_power_law(x, e_true + 300.0 * x**-0.35, n_bootstrap=200, seed=1)
    assert out["bootstrap_at_bound_fraction"] == expected
    assert out["bootstrap_failed_fraction"] < 0.02  # only resamples with < 3 distinct x


def test_saturating_points_bootstrap_unchanged() -> None:
    # The pairs bootstrap ("points", the default and the pipeline's scheme for one seed per
    # size) draws exactly as before the other schemes existed: values from the previous code.
    x = np.geomspace(12500, 200000, 5)
    out = fit_saturating_power_law(x, [4.6, 4.05, 3.72, 3.52, 3.41], n_bootstrap=300, seed=5)
    assert out["resample"] == "points"
    assert out["alpha_ci_low"] == pytest.approx(0.7224660244710885, rel=1e-9)
    assert out["alpha_ci_high"] == pytest.approx(0.8624964762500702, rel=1e-9)
    assert out["bootstrap_failed_fraction"] == pytest.approx(33 / 300)


def _seed_sweep(seeds: int = 3, sd: float = 0.01) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(11)
    x = np.repeat(np.geomspace(12500, 200000, 5), seeds)
    y = (3.0 + 1.5 * (x / 12500) ** -0.6) * np.exp(rng.normal(0, sd, x.size))
    return x, y, np.tile(np.arange(seeds), 5)


@pytest.mark.parametrize("resample", ["within_x", "within_x_unscaled", "within_x_pooled"])
def test_seed_bootstrap_resamples_keep_all_sizes(resample: str) -> None:
    from idscaling.fit.resample import bootstrap_resamples

    x, y, _ = _seed_sweep()
    idx, boot = bootstrap_resamples(x, np.log(y), None, resample, 500, 0)
    # Every resample has each size exactly as often as the data (3 seeds each) ...
    assert np.array_equal(np.sort(x[idx], axis=1), np.broadcast_to(np.sort(x), idx.shape))
    # ... and each resampled value is a deviation around the mean of its own size.
    means = {v: np.log(y[x == v]).mean() for v in np.unique(x)}
    size_means = np.array([means[v] for v in x[idx[0]]])
    assert np.all(np.abs(boot - size_means[None, :]) < 0.1)
    # The pairs bootstrap, for contrast, loses a size in some resamples.
    from idscaling.fit.resample import bootstrap_resamples as draw

    pairs, _ = draw(x, np.log(y), None, "points", 500, 0)
    assert np.mean([np.unique(x[row]).size < 5 for row in pairs]) > 0.05


def test_seed_bootstrap_never_loses_a_size_where_pairs_do() -> None:
    # 3 sizes x 2 seeds: a pairs resample of the 6 points keeps all 3 sizes with probability
    # 1 - 3 (4/6)^6 + 3 (2/6)^6 = 0.741 -- 26% of refits fail; within sizes, none do.
    x = np.repeat([1e4, 1e5, 1e6], 2)
    y = np.array([4.1, 4.0, 3.3, 3.35, 3.05, 3.0])
    points = fit_saturating_power_law(x, y, n_bootstrap=2000, seed=2)
    assert abs(points["bootstrap_failed_fraction"] - 0.259) < 4 * math.sqrt(0.259 * 0.741 / 2000)
    seeds = fit_saturating_power_law(x, y, n_bootstrap=2000, seed=2, resample="within_x")
    assert seeds["bootstrap_failed_fraction"] == 0.0 and seeds["resample"] == "within_x"


def test_within_x_scaling_makes_the_bootstrap_variance_unbiased() -> None:
    # With r seeds per size, the plain resampled mean has variance (r - 1) / r * s^2 / r (s^2
    # the unbiased variance): 2/3 of the truth at r = 3. The scaled scheme gives s^2 / r.
    from idscaling.fit.resample import bootstrap_resamples

    x, y, _ = _seed_sweep()
    log_y = np.log(y)
    first = x == x[0]
    s2 = np.var(log_y[first], ddof=1)
    for resample, factor in (("within_x", 1.0), ("within_x_unscaled", 2.0 / 3.0)):
        idx, boot = bootstrap_resamples(x, log_y, None, resample, 40000, 1)
        var_mean = np.var(boot[:, first].mean(axis=1))
        assert var_mean == pytest.approx(factor * s2 / 3, rel=0.03), resample


def test_group_bootstrap_resamples_whole_curves() -> None:
    from idscaling.fit.resample import bootstrap_resamples

    x, y, groups = _seed_sweep(seeds=4)
    idx, boot = bootstrap_resamples(x, np.log(y), groups, "groups", 300, 0)
    assert np.array_equal(boot, np.log(y)[idx])
    for row in idx:
        # each drawn seed brings its whole curve: the 5 points of one group, one per size
        for start in range(0, x.size, 5):
            chunk = row[start : start + 5]
            assert np.unique(groups[chunk]).size == 1 and np.unique(x[chunk]).size == 5
    out = fit_saturating_power_law(x, y, n_bootstrap=200, resample="groups", groups=groups)
    assert out["resample"] == "groups" and out["bootstrap_failed_fraction"] == 0.0


def test_seed_bootstrap_errors() -> None:
    x, y, groups = _seed_sweep()
    with pytest.raises(ValueError, match="resample must be one of"):
        fit_saturating_power_law(x, y, resample="seeds")
    with pytest.raises(ValueError, match="groups is only used with resample='groups'"):
        fit_saturating_power_law(x, y, resample="within_x", groups=groups)
    with pytest.raises(ValueError, match="needs groups"):
        fit_saturating_power_law(x, y, resample="groups")
    with pytest.raises(ValueError, match="equal size"):
        fit_saturating_power_law(x[1:], y[1:], resample="groups", groups=groups[1:])
    with pytest.raises(ValueError, match="one label per point"):
        fit_saturating_power_law(x, y, resample="groups", groups=groups[1:])
    with pytest.raises(ValueError, match=r"x=12500\.0 has 1"):
        fit_saturating_power_law(x[2:], y[2:], resample="within_x")


@pytest.mark.parametrize("loss", ["huber", "soft_l1", "linear"])
def test_vectorised_refits_match_least_squares(loss: str) -> None:
    # The bootstrap's batched Levenberg-Marquardt must reach (at least) the
    # optimum scipy's least_squares reaches on the same resamples.
    from idscaling.fit.solver import batch_fit, least_squares_fit, robust_weights

    rng = np.random.default_rng(6)
    x = np.logspace(5, 9, 9)
    y = (0.4 + 50.0 * x**-0.25) * np.exp(rng.normal(0, 0.03, x.size))
    fit = fit_saturating_power_law(x, y, loss=loss, n_bootstrap=0)
    log_u = np.log(x) - np.log(fit["x_ref"])
    theta = np.array([math.log(fit["A"]) - fit["alpha"] * math.log(fit["x_ref"]), fit["E"], fit["alpha"]])
    scale = 1.0 if loss == "linear" else fit["f_scale"]
    idx = rng.integers(0, x.size, size=(60, x.size))
    batch, cost, ok = batch_fit(log_u[idx], np.log(y)[idx], theta, loss, scale, 5.0)
    assert ok.all()
    for k in range(idx.shape[0]):
        ref = least_squares_fit(log_u[idx[k]], np.log(y)[idx[k]], theta, loss, scale, 5.0)
        assert cost[k] <= ref.cost * (1 + 1e-9) + 1e-15
        r = np.log(batch[k][1] + np.exp(batch[k][0] - batch[k][2] * log_u[idx[k]])) - np.log(y)[idx[k]]
        assert robust_weights(r, loss, scale)[1].sum() == pytest.approx(cost[k], rel=1e-12)
        assert batch[k][2] == pytest.approx(ref.x[2], abs=2e-3)


def test_saturating_coverage_at_the_latent_sweeps_own_design() -> None:
    # The design the pipeline runs (config/latent_sweep.yaml: its sizes and seeds), fitted as the
    # exponents table does, on a curve like the latent_k16 sweep's (E 3.6, alpha 0.55, 1.4 nats
    # above E at 12,500 tokens) with the seed-to-seed SD of log loss measured from real runs of
    # that config (0.009; bench/fit_coverage.py). 300 sweeps: binomial SD of the coverage
    # sqrt(0.9 * 0.1 / 300) = 0.017. The design's goal is >= 0.90 at 95% nominal; the test fails
    # if the coverage is more than 2 SD below it (0.865) -- e.g. the unscaled within-size
    # bootstrap (0.848 at 400 sweeps, 0.843 here) or whole seed curves (0.74) -- or if the
    # intervals became uselessly wide (median width of alpha's interval 0.24 at 400 sweeps; 0.88
    # for the old 5-size one-seed design). Measured here: 0.953 (alpha), 0.933 (E), 13 s.
    import yaml

    from idscaling.fit.coverage import prefactor_for_excess, simulate_coverage

    config = yaml.safe_load((REPO / "config" / "latent_sweep.yaml").read_text())
    sizes = {tuple(d["n_tokens"]) for d in config["datasets"].values()}
    assert len(sizes) == 1, "the latent datasets share one design"
    sizes, seeds = list(sizes.pop()), len(config["seeds"])
    out = simulate_coverage(
        sizes, seeds, E=3.6, A=prefactor_for_excess(1.4, 12500, 0.55), alpha=0.55, seed_sd=0.009, replicates=300, seed=1
    )
    sd = math.sqrt(0.9 * 0.1 / 300)
    assert out["coverage_alpha"] >= 0.90 - 2 * sd, out
    assert out["coverage_E"] >= 0.90 - 2 * sd, out
    assert out["median_alpha_ci_width"] < 0.35, out
    assert out["n_failed"] == 0


@pytest.mark.parametrize(
    "x, y, kwargs, match",
    [
        ([1.0, 10.0, 100.0], [3.0, 2.0, 1.5], {}, "at least 4 points"),
        ([1.0, 1.0, 10.0, 10.0, 10.0], [3.0, 3.1, 2.0, 2.1, 2.0], {}, "3 distinct x"),
        ([1.0, 10.0, 100.0, 1000.0], [3.0, 2.0, -1.5, 1.2], {}, "positive"),
        ([1.0, 10.0, 100.0, np.nan], [3.0, 2.0, 1.5, 1.2], {}, "NaN"),
        ([1.0, 10.0, 100.0], [3.0, 2.0, 1.5, 1.2], {}, "same length"),
        ([1.0, 10.0, 100.0, 1000.0], [3.0, 2.0, 1.5, 1.2], {"loss": "cauchy"}, "loss"),
        ([1.0, 10.0, 100.0, 1000.0], [3.0, 2.0, 1.5, 1.2], {"n_starts": 0}, "n_starts"),
        ([1.0, 10.0, 100.0, 1000.0], [3.0, 2.0, 1.5, 1.2], {"f_scale": -1.0}, "f_scale"),
        ([1.0, 10.0, 100.0, 1000.0], [3.0, 2.0, 1.5, 1.2], {"ci_level": 1.5}, "ci_level"),
        ([1.0, 10.0, 100.0, 1000.0], [3.0, 2.0, 1.5, 1.2], {"n_bootstrap": 2.5}, "n_bootstrap"),
    ],
)
def test_saturating_errors(x, y, kwargs, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        fit_saturating_power_law(x, y, **kwargs)


# --------------------------------------------------------------------------- #
# fit_joint_scaling_law
# --------------------------------------------------------------------------- #
CHINCHILLA = REPO.parent / "shared" / "reference" / "chinchilla_points.csv"
# Epoch AI's refit (Besiroglu et al. 2024) on the same 240 points: estimate, bootstrap SE.
PUBLISHED = {
    "A": (482.01, 124.52),
    "B": (2085.43, 1293.28),
    "E": (1.817, 0.026),
    "alpha": (0.3478, 0.0154),
    "beta": (0.3658, 0.0206),
}


def _chinchilla(drop_highest: int = 5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if not CHINCHILLA.is_file():
        pytest.skip(f"reference data {CHINCHILLA} not present (shared/reference is outside the repository)")
    import pandas as pd

    points = pd.read_csv(CHINCHILLA).sort_values("loss")
    if drop_highest:
        points = points.iloc[:-drop_highest]
    return points["n_params"].to_numpy(), points["n_tokens"].to_numpy(), points["loss"].to_numpy()


def test_joint_noiseless_recovers_exactly() -> None:
    n_params, n_tokens = (g.ravel() for g in np.meshgrid(np.logspace(7, 10, 5), np.logspace(9, 12, 5)))
    loss = 1.7 + 400.0 / n_params**0.34 + 1500.0 / n_tokens**0.28
    out = fit_joint_scaling_law(n_params, n_tokens, loss, n_bootstrap=0)
    for name, value in {"E": 1.7, "A": 400.0, "B": 1500.0, "alpha": 0.34, "beta": 0.28}.items():
        assert out[name] == pytest.approx(value, rel=1e-4), name
        assert math.isnan(out[f"{name}_ci_low"])
    assert out["objective"] < 1e-12 and out["r2"] == pytest.approx(1.0)
    assert out["n_points"] == 25 and out["n_starts"] == 72 and out["n_starts_at_best"] >= 2


def test_joint_bootstrap_in_processes_gives_the_same_numbers() -> None:
    rng = np.random.default_rng(3)
    n_params, n_tokens = (g.ravel() for g in np.meshgrid(np.logspace(6, 8, 3), np.logspace(7, 9, 4)))
    loss = (2.0 + 300.0 / n_params**0.3 + 900.0 / n_tokens**0.25) * np.exp(rng.normal(0, 0.01, n_params.size))
    serial = fit_joint_scaling_law(n_params, n_tokens, loss, n_bootstrap=40)
    parallel = fit_joint_scaling_law(n_params, n_tokens, loss, n_bootstrap=40, processes=3)
    assert parallel == serial and serial["alpha_ci_low"] < serial["alpha"] < serial["alpha_ci_high"]


def test_joint_fit_reproduces_published_chinchilla_refit() -> None:
    # The objective of the reference README (Huber delta 1e-3 on log L, LSE
    # form, L-BFGS from a grid of starts) on its 240 points. The default grid
    # has 72 starts (~1 s); with 200 bootstrap refits the test takes a few s.
    n_params, n_tokens, loss = _chinchilla()
    out = fit_joint_scaling_law(n_params, n_tokens, loss, n_bootstrap=200, seed=0)
    assert out["n_points"] == 240
    for name, (estimate, se) in PUBLISHED.items():
        assert abs(out[name] - estimate) < se, (name, out[name], estimate, se)
        assert out[f"{name}_ci_low"] < out[name] < out[f"{name}_ci_high"], name
    # The bootstrap spread matches the published bootstrap standard errors.
    for name in ("E", "alpha", "beta"):
        assert 0.7 < out[f"{name}_se"] / PUBLISHED[name][1] < 1.35, (name, out[f"{name}_se"])
    assert out["bootstrap_failed_fraction"] < 0.02
    assert out["n_starts_at_best"] >= 10  # the best optimum is found from many starts


def test_joint_fit_check_can_fail() -> None:
    # Keeping the 5 high-loss outliers moves beta and E by several published
    # SEs: the check above distinguishes the README's procedure from a near miss.
    out = fit_joint_scaling_law(*_chinchilla(drop_highest=0), n_bootstrap=0)
    assert out["n_points"] == 245
    assert abs(out["beta"] - PUBLISHED["beta"][0]) > 2 * PUBLISHED["beta"][1]
    assert abs(out["E"] - PUBLISHED["E"][0]) > 2 * PUBLISHED["E"][1]


def test_joint_errors() -> None:
    n = np.logspace(7, 10, 8)
    with pytest.raises(ValueError, match="collinear"):
        fit_joint_scaling_law(n, 20 * n, 2.0 + n**-0.1, n_bootstrap=0)
    with pytest.raises(ValueError, match="at least 6 points"):
        fit_joint_scaling_law(n[:5], n[::-1][:5], 2.0 + n[:5] ** -0.1)
    with pytest.raises(ValueError, match="same length"):
        fit_joint_scaling_law(n, n[::-1][:7], 2.0 + n**-0.1)
    with pytest.raises(ValueError, match="positive"):
        fit_joint_scaling_law(n, n[::-1], -(2.0 + n**-0.1))
    with pytest.raises(ValueError, match="grid"):
        fit_joint_scaling_law(n, n[::-1], 2.0 + n**-0.1, grid={"a": [1.0]})
    with pytest.raises(ValueError, match="huber_delta"):
        fit_joint_scaling_law(n, n[::-1], 2.0 + n**-0.1, huber_delta=0.0)
