"""Benchmark: tokenizing the training split serially vs in tokenize.shards byte ranges encoded by
worker processes of the one tokenize job and merged, through the workflow itself
(`snakemake results/<ds>/tokens/train.bin`), on the same prepared corpus and tokenizer; checks the
outputs are identical and prints the wall-time ratio.

    .venv/bin/python bench/tokenize_shards.py --cores 2 --shards 2 4
    .venv/bin/python bench/tokenize_shards.py --cores 2 --shards 2 4 --serial-threads 1   # per-core scaling

Corpus: the whole standard library of the running Python (builtin python_stdlib, no cap), a
byte-level BPE of 8,192 ids trained on it (untimed).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
CONFIG = """
datasets:
  stdlib:
    source: {kind: builtin, name: python_stdlib}
    n_tokens: [100000]
    split: {validation_fraction: 0.02, selection_fraction: 0.02, seed: 1}
models:
  m: {n_layer: 1, n_head: 1, n_embd: 8}
tokenizer: {kind: bpe, vocab_size: 8192}
"""


def smk(work: Path, cores: int, *args: str) -> float:
    t0 = time.perf_counter()
    subprocess.run(
        [
            SNAKEMAKE,
            *args,
            "-s",
            str(REPO / "Snakefile"),
            "--cores",
            str(cores),
            "--configfile",
            "config.yaml",
            "--quiet",
        ],
        cwd=work,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - t0


def digest(work: Path) -> str:
    h = hashlib.sha256()
    for suffix in (".bin", ".docs.npy", ".json"):
        h.update((work / "results/stdlib/tokens" / f"train{suffix}").read_bytes())
    return h.hexdigest()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--shards", type=int, nargs="+", default=[2, 4])
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument(
        "--serial-threads",
        type=int,
        default=None,
        help="threads of the tokenize job (default: the rule's max(2, shards); each shard's worker uses 1)",
    )
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tok-shards-"))
    try:
        (work / "config.yaml").write_text(CONFIG)
        target = "results/stdlib/tokens/train.bin"
        smk(work, args.cores, "results/stdlib/tokenizer/meta.json")  # corpus + tokenizer, untimed
        size = (work / "results/stdlib/corpus/train.jsonl").stat().st_size
        print(f"training split: {size / 2**20:.1f} MiB of JSON lines; {os.cpu_count()} cores, --cores {args.cores}")
        results = {}
        for _ in range(args.repeat):
            for shards in [1, *args.shards]:
                shutil.rmtree(work / "results/stdlib/tokens", ignore_errors=True)
                extra = ["--set-threads", f"tokenize={args.serial_threads}"] if args.serial_threads else []
                wall = smk(work, args.cores, target, "--config", f"tokenize={{'shards': {shards}}}", *extra)
                d = digest(work)
                best = results.get(shards, (float("inf"), d))[0]
                results[shards] = (min(best, wall), d)
        serial_wall, serial_digest = results[1]
        print(f"{'shards':>6} {f'wall s (best of {args.repeat})':>22} {'serial / this':>14}  identical to serial")
        for shards, (wall, d) in sorted(results.items()):
            print(f"{shards:>6} {wall:>22.2f} {serial_wall / wall:>13.2f}x  {d == serial_digest}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
