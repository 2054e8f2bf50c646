"""Tests for the idscaling command line (idscaling.cli.main)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from idscaling.cli import main


def _run(capsys, argv: list[str]) -> tuple[int, str, str]:
    rc = main(argv)
    out, err = capsys.readouterr()
    return rc, out, err


def _error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


@pytest.fixture
def emb(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    X = np.tanh(rng.standard_normal((600, 5)) @ rng.standard_normal((5, 24))).astype(np.float32)
    X = np.vstack([X, X[:4]])  # 4 duplicates
    path = tmp_path / "emb.npy"
    np.save(path, X)
    return path


@pytest.fixture
def points(tmp_path: Path) -> Path:
    rows = []
    for model, n_params in [("s", 1e5), ("l", 1e7)]:
        for n_tokens in [1e6, 1e7, 1e8]:
            for seed in (0, 1):
                rows.append(
                    dict(
                        dataset="web",
                        model=model,
                        n_params=n_params,
                        n_tokens=n_tokens,
                        seed=seed,
                        val_loss=30.0 * n_tokens**-0.25 * n_params**-0.1,
                    )
                )
    path = tmp_path / "points.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_estimate_id_json(capsys, emb: Path) -> None:
    rc, out, err = _run(
        capsys,
        [
            "estimate-id",
            str(emb),
            "--k",
            "10",
            "--metric",
            "euclidean",
            "--comb",
            "mean",
            "--batch-size",
            "300",
            "--bootstrap",
            "50",
            "--ci",
            "0.9",
            "--seed",
            "3",
        ],
    )
    assert rc == 0, err
    res = json.loads(out)
    assert res["input"] == str(emb)
    assert (res["k"], res["metric"], res["comb"], res["batch_size"]) == (10, "euclidean", "mean", 300)
    assert (res["n_bootstrap"], res["ci_level"], res["seed"]) == (50, 0.9, 3)
    assert res["n_duplicates_removed"] == 4 and res["n_batches"] == 2
    assert res["ci_low"] < res["dimension"] < res["ci_high"]


def test_estimate_id_defaults(capsys, emb: Path) -> None:
    rc, out, _ = _run(capsys, ["estimate-id", str(emb), "--bootstrap", "0"])
    res = json.loads(out)
    assert rc == 0
    assert (res["k"], res["metric"], res["comb"], res["batch_size"]) == (20, "cosine", "mle", 3600)
    assert res["ci_low"] is None


SETTINGS = (
    "estimator",
    "k",
    "metric",
    "comb",
    "unbiased",
    "batch_size",
    "n_bootstrap",
    "ci_level",
    "seed",
    "discard_fraction",
    "twonn_method",
    "epsilon",
)


def test_estimate_id_default_estimator_prints_all_settings(capsys, emb: Path) -> None:
    rc, out, _ = _run(capsys, ["estimate-id", str(emb), "--bootstrap", "0"])
    assert rc == 0
    res = json.loads(out)
    assert all(key in res for key in SETTINGS)
    assert (res["estimator"], res["unbiased"], res["discard_fraction"], res["twonn_method"], res["epsilon"]) == (
        "mle",
        False,
        None,
        None,
        None,
    )


def test_estimate_id_twonn(capsys, emb: Path) -> None:
    rc, out, err = _run(
        capsys,
        [
            "estimate-id",
            str(emb),
            "--estimator",
            "twonn",
            "--metric",
            "euclidean",
            "--discard-fraction",
            "0.2",
            "--twonn-method",
            "mle",
            "--batch-size",
            "300",
            "--bootstrap",
            "50",
            "--seed",
            "1",
        ],
    )
    assert rc == 0, err
    res = json.loads(out)
    assert all(key in res for key in SETTINGS)
    assert (res["estimator"], res["k"], res["comb"], res["unbiased"]) == ("twonn", 2, None, None)
    assert (res["discard_fraction"], res["twonn_method"], res["epsilon"]) == (0.2, "mle", None)
    assert res["n_batches"] == 2 and res["ci_low"] < res["dimension"] < res["ci_high"]


def test_estimate_id_tle(capsys, emb: Path) -> None:
    rc, out, err = _run(
        capsys,
        [
            "estimate-id",
            str(emb),
            "--estimator",
            "tle",
            "--k",
            "10",
            "--epsilon",
            "1e-5",
            "--bootstrap",
            "0",
            "--metric",
            "euclidean",
        ],
    )
    assert rc == 0, err
    res = json.loads(out)
    assert (res["estimator"], res["k"], res["comb"], res["metric"]) == ("tle", 10, "mean", "euclidean")
    assert (res["epsilon"], res["discard_fraction"], res["unbiased"]) == (1e-5, None, None)
    # TLE's constructions are Euclidean: with the default cosine distance it is refused in one line
    rc, _, err = _run(capsys, ["estimate-id", str(emb), "--estimator", "tle", "--bootstrap", "0"])
    assert rc == 2 and "euclidean" in err and len(err.strip().splitlines()) == 1


def test_estimate_id_mle_unbiased_flag(capsys, emb: Path) -> None:
    rc, out, _ = _run(capsys, ["estimate-id", str(emb), "--unbiased", "--bootstrap", "0"])
    plain = json.loads(_run(capsys, ["estimate-id", str(emb), "--bootstrap", "0"])[1])
    res = json.loads(out)
    assert rc == 0 and res["unbiased"] is True
    # (k - 2) / (k - 1) with k = 20, every batch
    assert res["dimension"] == pytest.approx(plain["dimension"] * 18 / 19, rel=1e-10)


def test_estimate_id_settings_that_do_not_apply_are_errors(capsys, emb: Path) -> None:
    rc, _, err = _run(capsys, ["estimate-id", str(emb), "--estimator", "twonn", "--k", "10"])
    assert rc == 2 and "k does not apply" in _error_line(err)
    rc, _, err = _run(capsys, ["estimate-id", str(emb), "--estimator", "twonn", "--comb", "mean"])
    assert rc == 2 and "comb does not apply" in _error_line(err)
    rc, _, err = _run(capsys, ["estimate-id", str(emb), "--estimator", "tle", "--unbiased"])
    assert rc == 2 and "unbiased" in _error_line(err)
    with pytest.raises(SystemExit) as exc:
        main(["estimate-id", str(emb), "--estimator", "lpca"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        main(["estimate-id", str(emb), "--discard-fraction", "1.0"])
    assert exc.value.code == 2


def test_estimate_id_errors(capsys, tmp_path: Path) -> None:
    rc, _, err = _run(capsys, ["estimate-id", str(tmp_path / "missing.npy")])
    assert rc == 2 and "no such file" in _error_line(err)

    np.save(tmp_path / "flat.npy", np.ones(10))
    rc, _, err = _run(capsys, ["estimate-id", str(tmp_path / "flat.npy")])
    assert rc == 2 and "2-D" in _error_line(err) and "(10,)" in err

    np.save(tmp_path / "ints.npy", np.ones((50, 3), dtype=np.int64))
    rc, _, err = _run(capsys, ["estimate-id", str(tmp_path / "ints.npy")])
    assert rc == 2 and "float" in _error_line(err)

    (tmp_path / "emb.txt").write_text("1 2\n3 4\n")
    rc, _, err = _run(capsys, ["estimate-id", str(tmp_path / "emb.txt")])
    assert rc == 2 and ".npy" in _error_line(err)

    (tmp_path / "junk.npy").write_bytes(b"not numpy")
    rc, _, err = _run(capsys, ["estimate-id", str(tmp_path / "junk.npy")])
    assert rc == 2 and "cannot read" in _error_line(err)

    np.save(tmp_path / "small.npy", np.random.default_rng(0).random((10, 3)))
    rc, _, err = _run(capsys, ["estimate-id", str(tmp_path / "small.npy")])
    assert rc == 2 and "k=20" in _error_line(err)


def test_fit_json(capsys, points: Path) -> None:
    rc, out, err = _run(
        capsys, ["fit", str(points), "--x", "n_tokens", "--y", "val_loss", "--where", "model=l", "--ci", "0.9"]
    )
    assert rc == 0, err
    res = json.loads(out)
    assert res["alpha"] == pytest.approx(0.25, abs=1e-10)
    assert res["n_points"] == 6 and res["ci_level"] == 0.9
    assert (res["x"], res["y"], res["input"], res["where"]) == ("n_tokens", "val_loss", str(points), ["model=l"])


def test_fit_where_numeric_and_nan_as_null(capsys, points: Path) -> None:
    # numeric column matched numerically ("1e8" == 100000000.0); 2 points -> no interval -> null
    rc, out, _ = _run(
        capsys,
        ["fit", str(points), "--x", "n_params", "--y", "val_loss", "--where", "n_tokens=1e8", "--where", "seed=0"],
    )
    assert rc == 0
    res = json.loads(out)
    assert res["n_points"] == 2 and res["alpha"] == pytest.approx(0.1, abs=1e-10)
    assert res["alpha_ci_low"] is None and res["alpha_ci_high"] is None


def test_fit_errors(capsys, points: Path, tmp_path: Path) -> None:
    rc, _, err = _run(capsys, ["fit", str(points), "--x", "tokens", "--y", "val_loss"])
    line = _error_line(err)
    assert rc == 2 and "'tokens'" in line and "n_tokens" in line and "val_loss" in line

    rc, _, err = _run(capsys, ["fit", str(points), "--x", "n_tokens", "--y", "val_loss", "--where", "lr=1"])
    assert rc == 2 and "'lr'" in _error_line(err)

    rc, _, err = _run(capsys, ["fit", str(points), "--x", "n_tokens", "--y", "val_loss", "--where", "model=xl"])
    assert rc == 2 and "no rows" in _error_line(err)

    rc, _, err = _run(capsys, ["fit", str(points), "--x", "n_tokens", "--y", "val_loss", "--where", "model"])
    assert rc == 2 and "COL=VALUE" in _error_line(err)

    rc, _, err = _run(capsys, ["fit", str(points), "--x", "n_tokens", "--y", "val_loss", "--where", "n_tokens=1e8"])
    assert rc == 2 and "distinct x" in _error_line(err)

    rc, _, err = _run(capsys, ["fit", str(tmp_path / "nope.csv"), "--x", "a", "--y", "b"])
    assert rc == 2 and "no such file" in _error_line(err)


def test_usage_errors_exit_2(capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main([])
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        main(["estimate-id", "x.npy", "--metric", "manhattan"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        main(["fit", "p.csv", "--x", "a", "--y", "b", "--ci", "95"])
    assert exc.value.code == 2


def test_cli_module_imports_stay_light() -> None:
    code = (
        "import sys, idscaling.cli; heavy = [m for m in ('numpy', 'pandas', 'sklearn', 'scipy') "
        "if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_estimate_id_gride_prints_the_scale_curve(capsys, emb: Path) -> None:
    rc, out, err = _run(
        capsys,
        [
            "estimate-id",
            str(emb),
            "--estimator",
            "gride",
            "--metric",
            "euclidean",
            "--gride-n1",
            "2",
            "--gride-range-max",
            "16",
            "--batch-size",
            "300",
        ],
    )
    assert rc == 0, err
    res = json.loads(out)
    assert (res["estimator"], res["k"], res["comb"], res["n_bootstrap"]) == ("gride", 16, None, None)
    assert (res["gride_n1"], res["gride_range_max"], res["n_batches"]) == (2, 16, 2)
    assert [(c["n1"], c["n2"]) for c in res["scale_curve"]] == [(1, 2), (2, 4), (4, 8), (8, 16)]
    # the estimate at n1 = 2 is the curve's n1 = 2 point: both are means of the same batch fits
    assert res["dimension"] == pytest.approx(res["scale_curve"][1]["dimension"], rel=1e-12)
    assert res["ci_low"] < res["dimension"] < res["ci_high"]
    rc, _, err = _run(capsys, ["estimate-id", str(emb), "--gride-range-max", "16"])
    assert rc == 2 and "applies to --estimator gride only" in _error_line(err)
    rc, _, err = _run(capsys, ["estimate-id", str(emb), "--estimator", "gride", "--k", "10"])
    assert rc == 2 and "k does not apply to gride" in _error_line(err)


# ------------------------------------------------------------- fit --law saturating, fit-joint, fit-coverage
def _saturating_points(tmp_path: Path, noise: float = 0.0, seeds: int = 2) -> Path:
    rng = np.random.default_rng(3)
    rows = []
    for n_tokens in np.geomspace(12500, 200000, 6):
        for seed in range(seeds):
            loss = (2.3 + 0.4 * (n_tokens / 12500) ** -0.7) * np.exp(rng.normal(0.0, noise))
            rows.append(dict(dataset="latent", model="w64", n_tokens=n_tokens, seed=seed, val_loss=loss))
    path = tmp_path / "sat.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_fit_saturating_recovers_exact_curve(capsys, tmp_path: Path) -> None:
    path = _saturating_points(tmp_path)
    rc, out, err = _run(
        capsys, ["fit", str(path), "--x", "n_tokens", "--y", "val_loss", "--law", "saturating", "--bootstrap", "200"]
    )
    assert rc == 0, err
    res = json.loads(out)
    assert res["alpha"] == pytest.approx(0.7, abs=1e-4)
    assert res["E"] == pytest.approx(2.3, abs=1e-4)
    assert res["A"] * 12500 ** -res["alpha"] == pytest.approx(0.4, rel=1e-3)
    assert (res["law"], res["resample"], res["n_bootstrap"], res["n_points"]) == ("saturating", "points", 200, 12)
    assert res["alpha_ci_low"] <= res["alpha"] <= res["alpha_ci_high"]


def test_fit_saturating_seed_bootstrap_options(capsys, tmp_path: Path) -> None:
    path = _saturating_points(tmp_path, noise=0.01, seeds=3)
    base = ["fit", str(path), "--x", "n_tokens", "--y", "val_loss", "--law", "saturating", "--bootstrap", "200"]
    rc, out, err = _run(capsys, base + ["--resample", "groups", "--group", "seed"])
    assert rc == 0, err
    groups = json.loads(out)
    assert groups["resample"] == "groups" and groups["group"] == "seed"
    rc, out, err = _run(capsys, base + ["--resample", "within_x", "--group", "seed"])
    assert rc == 0, err
    within = json.loads(out)
    # the same point estimate, another interval: only the resampling differs
    assert within["alpha"] == groups["alpha"] and within["alpha_ci_low"] != groups["alpha_ci_low"]
    assert within["bootstrap_failed_fraction"] == 0.0

    rc, _, err = _run(capsys, base + ["--resample", "groups"])
    assert rc == 2 and "needs --group" in _error_line(err)
    rc, _, err = _run(capsys, base + ["--resample", "seeds"])
    assert rc == 2 and "--resample must be one of" in _error_line(err)
    rc, _, err = _run(capsys, ["fit", str(path), "--x", "n_tokens", "--y", "val_loss", "--resample", "within_x"])
    assert rc == 2 and "--law saturating only" in _error_line(err)
    doubled = tmp_path / "doubled.csv"
    frame = pd.read_csv(path)
    pd.concat([frame, frame.iloc[:1]]).to_csv(doubled, index=False)
    rc, _, err = _run(
        capsys, ["fit", str(doubled), "--x", "n_tokens", "--y", "val_loss", "--law", "saturating", "--group", "seed"]
    )
    assert rc == 2 and "1 repeated (n_tokens, seed) pair" in _error_line(err)


CHINCHILLA = Path(__file__).resolve().parents[3] / "shared" / "reference" / "chinchilla_points.csv"


def test_fit_joint_reproduces_the_library_fit_on_chinchilla(capsys, tmp_path: Path) -> None:
    # The library test's data (the 240 points left after dropping the 5 highest losses) through
    # the CLI: the estimates are the library's and within one published SE of Epoch AI's refit.
    if not CHINCHILLA.is_file():
        pytest.skip(f"reference data {CHINCHILLA} not present (shared/reference is outside the repository)")
    from idscaling.fit.joint import fit_joint_scaling_law

    points = pd.read_csv(CHINCHILLA).sort_values("loss").iloc[:-5]
    path = tmp_path / "chinchilla.csv"
    points.to_csv(path, index=False)
    rc, out, err = _run(
        capsys,
        [
            "fit-joint",
            str(path),
            "--n-params",
            "n_params",
            "--n-tokens",
            "n_tokens",
            "--loss",
            "loss",
            "--bootstrap",
            "0",
        ],
    )
    assert rc == 0, err
    res = json.loads(out)
    lib = fit_joint_scaling_law(points["n_params"], points["n_tokens"], points["loss"], n_bootstrap=0)
    published = {
        "A": (482.01, 124.52),
        "B": (2085.43, 1293.28),
        "E": (1.817, 0.026),
        "alpha": (0.3478, 0.0154),
        "beta": (0.3658, 0.0206),
    }
    for name, (estimate, se) in published.items():
        assert res[name] == pytest.approx(lib[name], rel=1e-12), name
        assert abs(res[name] - estimate) < se, (name, res[name])
    assert res["n_points"] == 240 and res["grid"] == "default" and res["alpha_ci_low"] is None


def test_fit_joint_errors(capsys, points: Path) -> None:
    rc, _, err = _run(
        capsys, ["fit-joint", str(points), "--n-params", "params", "--n-tokens", "n_tokens", "--loss", "val_loss"]
    )
    assert rc == 2 and "no column 'params'" in _error_line(err)
    # the fixture's 12 points have 2 model sizes x 3 data sizes: fitted; one model is collinear
    rc, _, err = _run(
        capsys,
        [
            "fit-joint",
            str(points),
            "--n-params",
            "n_params",
            "--n-tokens",
            "n_tokens",
            "--loss",
            "val_loss",
            "--where",
            "model=l",
            "--bootstrap",
            "0",
        ],
    )
    assert rc == 2 and "collinear" in _error_line(err)


def test_fit_coverage_simulates_the_sweeps_own_design(capsys, tmp_path: Path) -> None:
    path = _saturating_points(tmp_path, noise=0.01, seeds=3)
    rc, out, err = _run(capsys, ["fit-coverage", str(path), "--dataset", "latent", "--replicates", "20"])
    assert rc == 0, err
    res = json.loads(out)
    from idscaling.fit.coverage import measure_noise

    noise = measure_noise(pd.read_csv(path)).iloc[0]
    assert res["noise_method"] == "seed_spread" and res["seed_sd"] == pytest.approx(noise["noise_sd"], rel=1e-12)
    assert (res["n_sizes"], res["seeds"], res["replicates"], res["model"]) == (6, 3, 20, "w64")
    assert res["n_min"] == pytest.approx(12500) and res["n_max"] == pytest.approx(200000)
    assert 0.0 <= res["coverage_alpha_ci_low"] <= res["coverage_alpha"] <= res["coverage_alpha_ci_high"] <= 1.0
    rc, out, err = _run(
        capsys,
        [
            "fit-coverage",
            str(path),
            "--dataset",
            "latent",
            "--replicates",
            "5",
            "--sizes",
            "12500",
            "50000",
            "100000",
            "200000",
            "--seeds",
            "2",
        ],
    )
    assert rc == 0, err
    assert (json.loads(out)["n_sizes"], json.loads(out)["seeds"]) == (4, 2)
    rc, _, err = _run(capsys, ["fit-coverage", str(path), "--dataset", "prose"])
    assert rc == 2 and "no rows left" in _error_line(err)
    two = tmp_path / "two_models.csv"
    frame = pd.read_csv(path)
    pd.concat([frame, frame.assign(model="w128")]).to_csv(two, index=False)
    rc, _, err = _run(capsys, ["fit-coverage", str(two), "--dataset", "latent"])
    assert rc == 2 and "several models (w128, w64): choose one with --model" in _error_line(err)
    rc, out, err = _run(
        capsys,
        ["fit-coverage", str(two), "--dataset", "latent", "--model", "w128", "--where", "seed=0", "--replicates", "5"],
    )
    assert rc == 0, err
    res = json.loads(out)  # one seed left: the noise is the fit's residual SD
    assert (res["model"], res["seeds"], res["noise_method"]) == ("w128", 1, "fit_residual")


def test_fit_envelope_and_heldout(capsys, tmp_path: Path) -> None:
    """--envelope: the best of two shapes at each size; here 'b' wins only at the largest sizes."""
    rows = []
    sizes = np.geomspace(12500, 400000, 6)
    for n_tokens in sizes:
        law = 2.3 + 40 * n_tokens**-0.45
        for seed in range(2):
            rows.append(
                dict(dataset="d", model="a", n_tokens=n_tokens, seed=seed, val_loss=law + 0.02 * (n_tokens > 7e4))
            )
            rows.append(
                dict(dataset="d", model="b", n_tokens=n_tokens, seed=seed, val_loss=law + 0.03 * (n_tokens <= 7e4))
            )
    path = tmp_path / "env.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    rc, out, err = _run(
        capsys,
        [
            "fit",
            str(path),
            "--x",
            "n_tokens",
            "--y",
            "val_loss",
            "--law",
            "saturating",
            "--envelope",
            "model",
            "--bootstrap",
            "100",
        ],
    )
    assert rc == 0, err
    res = json.loads(out)
    assert res["alpha"] == pytest.approx(0.45, rel=1e-4) and res["over"] == "model"
    assert [r["model"] for r in res["envelope"]] == ["a"] * 3 + ["b"] * 3
    assert abs(res["heldout_rel_error"]) < 1e-6 and res["heldout_x"] == pytest.approx(400000)
    rc, out, err = _run(
        capsys,
        [
            "fit",
            str(path),
            "--x",
            "n_tokens",
            "--y",
            "val_loss",
            "--where",
            "model=a",
            "--heldout",
            "--bootstrap",
            "50",
        ],
    )
    assert rc == 0, err
    res = json.loads(out)
    assert res["heldout_observed"] == pytest.approx(2.3 + 40 * 400000**-0.45 + 0.02) and "heldout_rel_error_pure" in res
    rc, out, err = _run(capsys, ["fit", str(path), "--x", "n_tokens", "--y", "val_loss", "--envelope", "shape"])
    assert rc != 0 and "shape" in err
