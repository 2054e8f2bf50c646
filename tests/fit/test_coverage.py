"""Tests for idscaling.fit_coverage: noise measured from scaling points, simulated coverage."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from idscaling.fit.coverage import (
    measure_noise,
    pooled_noise_sd,
    prefactor_for_excess,
    simulate_coverage,
)
from idscaling.fit.saturating import fit_saturating_power_law

SIZES = [12500.0, 25000.0, 50000.0, 100000.0, 200000.0]


def curve(n: np.ndarray) -> np.ndarray:
    return 2.3 + 0.4 * (n / 12500.0) ** -0.5


def points_frame(
    sizes: list[float], deviations: list[float], offsets: list[float] | None = None, dataset: str = "a"
) -> pd.DataFrame:
    """One row per (size, seed); log loss = log curve + offsets[size] + deviations[seed]."""
    rows = []
    for i, n in enumerate(sizes):
        for seed, dev in enumerate(deviations):
            shift = (offsets[i] if offsets else 0.0) + dev
            rows.append(
                dict(
                    dataset=dataset,
                    model="w64",
                    n_tokens=n,
                    seed=seed,
                    val_loss=float(curve(np.array(n)) * math.exp(shift)),
                )
            )
    return pd.DataFrame(rows)


def test_seed_spread_is_the_pooled_within_size_sd() -> None:
    # Deviations -d, 0, +d at every size: within-size variance d^2 (2 dof per size), exactly.
    d = 0.013
    table = measure_noise(points_frame(SIZES[:3], [-d, 0.0, d]))
    row = table.iloc[0]
    assert row["method"] == "seed_spread" and row["dof"] == 6 and row["n_sizes"] == 3 and row["n_points"] == 9
    assert row["noise_sd"] == pytest.approx(d, rel=1e-9)
    assert math.isnan(row["lack_of_fit_sd"])  # 3 sizes leave the means no residual dof


def test_lack_of_fit_is_the_size_means_excess_spread() -> None:
    d = 0.01
    exact = measure_noise(points_frame(SIZES, [-d, 0.0, d])).iloc[0]
    assert exact["noise_sd"] == pytest.approx(d, rel=1e-9)
    assert exact["lack_of_fit_sd"] == 0.0  # means on the curve: no excess over d^2 / 3
    # Per-size offsets shared by the seeds: the means scatter around the curve beyond d / sqrt(3).
    bent = measure_noise(points_frame(SIZES, [-d, 0.0, d], offsets=[0.0, 0.03, -0.03, 0.03, 0.0])).iloc[0]
    assert bent["noise_sd"] == pytest.approx(d, rel=1e-9)  # the within-size spread is unchanged
    assert bent["lack_of_fit_sd"] > 0.01


def test_one_seed_uses_the_fit_residual() -> None:
    sizes = list(np.geomspace(12500, 200000, 12))
    signs = [(-1.0) ** i * 0.02 for i in range(12)]  # alternating +-2%: not absorbed by a smooth curve
    rows = points_frame(sizes, [0.0], offsets=signs)
    row = measure_noise(rows).iloc[0]
    assert row["method"] == "fit_residual" and row["dof"] == 9 and math.isnan(row["lack_of_fit_sd"])
    # the residual SD of a smooth fit through alternating +-0.02 is about 0.02 * sqrt(12 / 9)
    assert row["noise_sd"] == pytest.approx(0.02 * math.sqrt(12 / 9), rel=0.1)
    exact = measure_noise(points_frame(sizes, [0.0])).iloc[0]
    assert exact["noise_sd"] < 1e-6


def test_measure_noise_per_sweep_and_pooled() -> None:
    frame = pd.concat(
        [
            points_frame(SIZES[:3], [-0.01, 0.0, 0.01], dataset="a"),
            points_frame(SIZES[:3], [-0.02, 0.02], dataset="b"),
            points_frame(SIZES[:3], [0.0], dataset="c"),
        ]
    )
    table = measure_noise(frame)
    assert list(table["dataset"]) == ["a", "b", "c"]
    assert list(table["method"]) == ["seed_spread", "seed_spread", "none"]
    # b: deviations -+0.02 around their mean: variance 2 * 0.02^2 / 1 per size
    assert table.loc[1, "noise_sd"] == pytest.approx(0.02 * math.sqrt(2), rel=1e-9)
    pooled = pooled_noise_sd(table)  # (6 * 0.01^2 + 3 * 0.0008) / 9
    assert pooled == pytest.approx(math.sqrt((6 * 1e-4 + 3 * 8e-4) / 9), rel=1e-9)
    assert math.isnan(pooled_noise_sd(table, "fit_residual"))


def test_measure_noise_errors() -> None:
    frame = points_frame(SIZES[:3], [0.0, 0.01])
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['seed'\]"):
        measure_noise(frame.drop(columns="seed"))
    frame.loc[0, "val_loss"] = 0.0
    with pytest.raises(ValueError, match="positive and finite"):
        measure_noise(frame)


def test_prefactor_for_excess() -> None:
    a = prefactor_for_excess(1.5, 12500, 0.6)
    assert a * 12500**-0.6 == pytest.approx(1.5, rel=1e-12)
    with pytest.raises(ValueError, match="excess > 0"):
        prefactor_for_excess(0.0, 12500, 0.6)


def test_simulated_sweeps_are_fitted_like_the_pipeline() -> None:
    # Same noise seed -> same first sweep: its fit, redone by hand with the pipeline's call,
    # must give the interval the simulation scored.
    sizes = np.geomspace(12500, 200000, 6)
    a = prefactor_for_excess(0.5, 12500, 0.5)
    out = simulate_coverage(sizes, 2, E=2.3, A=a, alpha=0.5, seed_sd=0.01, replicates=1, n_bootstrap=200, seed=4)
    rng = np.random.default_rng(4)
    x = np.repeat(sizes, 2)
    y = np.exp(
        np.log(2.3 + a * x**-0.5) + rng.normal(0.0, 0.0, 6)[np.repeat(np.arange(6), 2)] + rng.normal(0.0, 0.01, 12)
    )
    fit = fit_saturating_power_law(x, y, n_bootstrap=200, seed=0, resample="points")
    assert out["median_alpha_ci_width"] == pytest.approx(fit["alpha_ci_high"] - fit["alpha_ci_low"], rel=1e-12)
    assert out["median_alpha_error"] == pytest.approx(fit["alpha"] - 0.5, rel=1e-12)
    assert out["coverage_alpha"] == float(fit["alpha_ci_low"] <= 0.5 <= fit["alpha_ci_high"])
    assert out["resample"] == fit["resample"] and out["replicates"] == 1 and out["n_failed"] == 0


def test_coverage_interval_is_the_exact_binomial_one() -> None:
    # 25 replicates at the 50% level: about half cover; the reported interval on the coverage is
    # Clopper-Pearson's for that count (e.g. 12 of 25: [0.278, 0.687]).
    a = prefactor_for_excess(0.5, 12500, 0.5)
    out = simulate_coverage(SIZES, 3, E=2.3, A=a, alpha=0.5, seed_sd=0.01, replicates=25, ci_level=0.5, n_bootstrap=200)
    hits = round(out["coverage_alpha"] * 25)
    from scipy.stats import beta

    assert out["coverage_alpha_ci_low"] == pytest.approx(beta.ppf(0.025, hits, 25 - hits + 1) if hits else 0.0)
    assert out["coverage_alpha_ci_high"] == pytest.approx(beta.ppf(0.975, hits + 1, 25 - hits) if hits < 25 else 1.0)
    assert 0.2 <= out["coverage_alpha"] <= 0.8  # a 50% interval that covered always would be too wide


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"sizes": [1e4, 2e4]}, "at least 3 distinct positive"),
        ({"seeds": 0}, "seeds must be an integer >= 1"),
        ({"seeds": 1, "resample": "within_x"}, "needs seeds >= 2"),
        ({"seed_sd": -0.1}, "noise SDs must be >= 0"),
        ({"alpha": 0.0}, "alpha > 0"),
        ({"replicates": 0}, "replicates must be an integer >= 1"),
        ({"ci_level": 95}, "ci_level"),
        ({"resample": "seeds"}, "resample must be one of"),
    ],
)
def test_simulate_coverage_errors(kwargs: dict, match: str) -> None:
    args = dict(sizes=SIZES, seeds=3, E=2.3, A=1.0, alpha=0.5, seed_sd=0.01) | kwargs
    with pytest.raises(ValueError, match=match):
        simulate_coverage(**args)
