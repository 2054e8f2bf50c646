"""Benchmark: the default DAG from a clean results/ folder, wall time and per-stage cost.

Runs `snakemake --cores N` in a scratch working directory (so results/ of the checkout is left
alone), then sums each rule's Snakemake `benchmark:` files: jobs, total and longest wall time,
peak resident memory. Prints a Markdown table for BENCHMARKS.md.

    .venv/bin/python bench/default_dag.py [--cores 2] [--configfile config.yaml] [--keep DIR]
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--configfile", default=str(REPO / "config.yaml"))
    ap.add_argument("--keep", help="working directory to use and keep (default: a temporary one)")
    args = ap.parse_args()
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="idscaling-bench-"))
    if (work / "results").exists():
        sys.exit(f"{work}/results exists: the benchmark starts from a clean results/ folder")
    work.mkdir(parents=True, exist_ok=True)
    snakemake = str(Path(sys.executable).with_name("snakemake"))
    cmd = [
        snakemake,
        "-s",
        str(REPO / "Snakefile"),
        "--directory",
        str(work),
        "--cores",
        str(args.cores),
        "--configfile",
        str(Path(args.configfile).resolve()),
        "--quiet",
        "all",
    ]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True)
    wall = time.perf_counter() - t0

    stages: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for tsv in sorted((work / "benchmarks").rglob("*.tsv")):
        rule = tsv.parent.name if tsv.parent.name != "benchmarks" else tsv.stem
        with open(tsv) as fh:
            row = next(csv.DictReader(fh, delimiter="\t"))
        rss = float(row["max_rss"]) if row["max_rss"] not in ("", "-", "NA") else float("nan")
        stages[rule].append((float(row["s"]), rss))
    print(
        f"\nDefault DAG, {args.cores} cores, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs visible: wall {wall:.0f} s ({wall / 60:.1f} min), "
        f"{sum(len(v) for v in stages.values())} jobs\n"
    )
    print("| stage | jobs | total s | longest s | peak RSS MB |")
    print("|---|---:|---:|---:|---:|")
    for rule, rows in sorted(stages.items(), key=lambda kv: -sum(s for s, _ in kv[1])):
        print(
            f"| {rule} | {len(rows)} | {sum(s for s, _ in rows):.1f} | {max(s for s, _ in rows):.1f} | "
            f"{max(r for _, r in rows):.0f} |"
        )
    print(f"\nexponents.csv:\n\n{(work / 'results/summary/exponents.csv').read_text()}")
    if not args.keep:
        shutil.rmtree(work)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
