"""The same DAG on two devices, loss by loss (bench/gpu_check.sh's dag part).

Usage: python bench/gpu_check_losses.py DIR_A DIR_B [--out losses.csv] [--tolerance 0.03]

Reads each working directory's ``results/summary/scaling_points.csv`` and ``intrinsic_dim.csv``
and prints, per model, both validation losses and their relative difference, and per ID row both
IDs. Tolerance (default 3% of the loss): a CUDA run trains in bf16 autocast (8 mantissa bits,
~0.4% relative rounding per op) against fp32 on the CPU, and its kernels sum in other orders, so
the two runs take different paths from the first step and early stopping may keep a different
step; what must not happen is a device moving a loss by more than a few percent (a wrong mask, a
dtype bug, a missed synchronisation shift it by far more). Two CPU runs (the rehearsal) must agree
exactly. Exits 1 beyond the tolerance.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

KEYS = ["dataset", "model", "n_tokens", "seed"]


def compare(a: Path, b: Path) -> pd.DataFrame:
    left = pd.read_csv(a / "results" / "summary" / "scaling_points.csv")
    right = pd.read_csv(b / "results" / "summary" / "scaling_points.csv")
    both = left[KEYS + ["val_loss"]].merge(right[KEYS + ["val_loss"]], on=KEYS, suffixes=("_a", "_b"))
    both["rel_diff"] = (both["val_loss_b"] - both["val_loss_a"]) / both["val_loss_a"]
    return both


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("a", type=Path)
    parser.add_argument("b", type=Path)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--tolerance", type=float, default=0.03)
    args = parser.parse_args(argv)
    table = compare(args.a, args.b)
    if args.out:
        table.to_csv(args.out, index=False)
    print(table.to_string(index=False))
    ids = [pd.read_csv(d / "results" / "summary" / "intrinsic_dim.csv", dtype={"layer": str}) for d in (args.a, args.b)]
    id_keys = [c for c in ("dataset", "model", "n_tokens", "seed", "layer") if c in ids[0].columns]
    id_table = ids[0][id_keys + ["id"]].merge(ids[1][id_keys + ["id"]], on=id_keys, suffixes=("_a", "_b"))
    print(id_table.to_string(index=False))
    worst = table["rel_diff"].abs().max()
    ok = len(table) > 0 and worst <= args.tolerance
    print(f"RESULT: {len(table)} models, largest |relative loss difference| {worst:.2%} "
          f"(tolerance {args.tolerance:.0%}): {'ok' if ok else 'BEYOND TOLERANCE'}")  # fmt: skip
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
