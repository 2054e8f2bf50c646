"""Compare two finished runs of the same config (a refactor's before and after, issue 16).

Usage: python bench/compare_runs.py BEFORE_DIR AFTER_DIR [--out report.csv]

Each directory is a Snakemake working directory holding ``results/``. For every file under both:
binary artifacts (weights, token files, arrays) must be byte-identical; JSON must be equal once the
provenance keys (``config_hash``, ``code_version``, ``versions``) and the timing keys are dropped;
summary CSVs must agree on the columns and rows both sides have, provenance columns aside (a refactor
may add a column or an axis). Logs and figures are listed, not compared (they carry wall times and
renderer noise). Exits 1 when anything compared differs.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

PROVENANCE = {"config_hash", "code_version", "versions"}
# keys that measure how a job ran (wall time, throughput), not what it computed
TIMING = {
    "elapsed_s",
    "wall_s",
    "wall_time_s",
    "first_step_s",
    "tokens_per_s",
    "train_seconds",
    "seconds",
    "mfu",
    "peak_memory_mb",
}
BINARY = {".safetensors", ".bin", ".npy", ".npz", ".jsonl", ".json_tokenizer"}
# the columns that name a row in the summary tables (the rest are values)
KEYS = {
    "dataset", "axis", "held_fixed", "model", "n_tokens", "seed", "layer", "protocol", "metric",
    "id_protocol", "id_metric", "analysis", "x", "k", "position", "fit", "primary",
}  # fmt: skip
SKIP = {".png", ".svg", ".pdf", ".log", ".html"}
# live logs carry a wall-clock column; their loss columns are checked via the train summaries
SKIP_NAMES = {"train_log.csv"}


def _strip(obj: object) -> object:
    if isinstance(obj, dict):
        return {k: _strip(v) for k, v in obj.items() if k not in PROVENANCE | TIMING}
    if isinstance(obj, list):
        return [_strip(v) for v in obj]
    return obj


def compare_json(a: Path, b: Path) -> str:
    left, right = _strip(json.loads(a.read_text())), _strip(json.loads(b.read_text()))
    if left == right:
        return "identical"
    if isinstance(left, dict) and isinstance(right, dict):
        keys = sorted(k for k in set(left) | set(right) if left.get(k) != right.get(k))
        return "differs: " + ", ".join(keys)
    return "differs"


def compare_csv(a: Path, b: Path) -> str:
    left, right = pd.read_csv(a), pd.read_csv(b)
    shared = [c for c in left.columns if c in right.columns and c not in PROVENANCE | TIMING]
    keys = [c for c in shared if c in KEYS]
    extra = sorted(set(right.columns) - set(left.columns))
    missing = sorted(set(left.columns) - set(right.columns))
    merged = left[shared].merge(right[shared], on=keys, how="inner", suffixes=("_a", "_b"))
    n_rows = len(merged)
    values = [c for c in shared if c not in keys]
    differ = []
    for c in values:
        x, y = merged[f"{c}_a"], merged[f"{c}_b"]
        same = (x == y) | (x.isna() & y.isna())
        if not same.all():
            differ.append(f"{c} ({int((~same).sum())} rows)")
    note = f"{n_rows} of {len(left)}/{len(right)} rows matched on {len(keys)} keys"
    if extra:
        note += f"; after adds {', '.join(extra)}"
    if missing:
        note += f"; after lacks {', '.join(missing)}"
    if n_rows < len(left):
        differ.append(f"{len(left) - n_rows} before-rows unmatched")
    return ("differs: " + "; ".join(differ) + f" [{note}]") if differ else f"identical [{note}]"


def compare_file(a: Path, b: Path) -> str:
    if a.suffix in SKIP or a.name in SKIP_NAMES:
        return "not compared"
    if a.suffix == ".json":
        return compare_json(a, b)
    if a.suffix == ".csv":
        return compare_csv(a, b)
    if a.suffix == ".npz":
        with np.load(a) as x, np.load(b) as y:
            same = set(x) == set(y) and all(np.array_equal(x[k], y[k]) for k in x)
        return "identical" if same else "differs"
    return "identical" if a.read_bytes() == b.read_bytes() else "differs"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--out", type=Path, help="per-file CSV report")
    args = parser.parse_args(argv)
    root_a, root_b = args.before / "results", args.after / "results"
    files_a = {p.relative_to(root_a) for p in root_a.rglob("*") if p.is_file()}
    files_b = {p.relative_to(root_b) for p in root_b.rglob("*") if p.is_file()}
    rows = [(str(p), compare_file(root_a / p, root_b / p)) for p in sorted(files_a & files_b)]
    rows += [(str(p), "only before") for p in sorted(files_a - files_b)]
    rows += [(str(p), "only after") for p in sorted(files_b - files_a)]
    if args.out:
        with args.out.open("w", newline="") as fh:
            csv.writer(fh).writerows([("file", "result"), *rows])
    kinds: dict[str, dict[str, int]] = {}
    for path, result in rows:
        kind = Path(path).name if Path(path).suffix == ".csv" and "summary" in path else Path(path).suffix
        verdict = result.split(" [")[0].split(":")[0]
        kinds.setdefault(kind, {}).setdefault(verdict, 0)
        kinds[kind][verdict] += 1
    for kind, counts in sorted(kinds.items()):
        print(f"{kind:24s} " + ", ".join(f"{v} {n}" for v, n in sorted(counts.items())))
    for path, result in rows:
        if result.startswith(("differs", "only")) or ("summary" in path and path.endswith(".csv")):
            print(f"  {path}: {result}")
    return 1 if any(r.startswith("differs") for _, r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
