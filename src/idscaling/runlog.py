"""Send a job's output to its Snakemake log file; progress lines for long loops."""

from __future__ import annotations

import logging
import math
import os
import sys
import time
from collections.abc import Callable


def log_to(path: str, threads: int | None = None) -> logging.Logger:
    """Redirect stdout/stderr and the ``logging`` root to ``path`` (one file per job), quiet
    progress bars, and cap library thread pools at the job's ``threads``."""
    # Set before transformers / huggingface_hub are imported, which read them at import: no import
    # here (transformers is slow to import, and most jobs never need it).
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    if threads is not None:
        os.environ["RAYON_NUM_THREADS"] = str(threads)  # tokenizers' thread pool
        os.environ["OMP_NUM_THREADS"] = str(threads)
    stream = open(path, "a", buffering=1, encoding="utf-8")
    sys.stdout = sys.stderr = stream
    logging.basicConfig(
        stream=stream, level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s", force=True
    )
    return logging.getLogger("idscaling")


def format_duration(seconds: float) -> str:
    """``h:mm:ss`` (hours not capped at 24), seconds rounded; ``?`` for a negative or non-finite value."""
    if not math.isfinite(seconds) or seconds < 0:
        return "?"
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


class Progress:
    """Progress lines for a long loop, ``what: 45% | 1,234 documents, 56,789 tokens | 1,200 tokens/s
    | elapsed 0:00:10 | eta 0:00:12``, logged every ``fraction`` of the ``total`` (when at least
    ``min_gap_s`` seconds have passed since the last line) and at least every ``max_gap_s`` seconds.
    A loop that is over within ``min_gap_s`` logs nothing: tiny jobs keep tiny logs.

    ``update(done, **counts)``: ``done`` is measured in the unit of ``total`` (bytes, windows...;
    ``total=None``: unknown, time-based lines only, no percentage or ETA); ``counts`` are what the
    line reports (the first one also gives the rate)."""

    def __init__(
        self,
        logger: logging.Logger,
        what: str,
        total: float | None = None,
        *,
        fraction: float = 0.1,
        min_gap_s: float = 5.0,
        max_gap_s: float = 120.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger, self.what, self.total = logger, what, total
        self.fraction, self.min_gap_s, self.max_gap_s, self.clock = fraction, min_gap_s, max_gap_s, clock
        self.start = self.last = clock()
        self.next_mark = fraction
        self.lines = 0

    def update(self, done: float, **counts: int) -> None:
        now = self.clock()
        since_last = now - self.last
        share = done / self.total if self.total else None
        at_mark = share is not None and share >= self.next_mark and since_last >= self.min_gap_s
        if not (at_mark or since_last >= self.max_gap_s):
            return
        if share is not None:
            self.next_mark = (math.floor(share / self.fraction + 1e-9) + 1) * self.fraction
        self.last = now
        self.lines += 1
        self.logger.info("%s", self.line(done, now - self.start, **counts))

    def line(self, done: float, elapsed: float, **counts: int) -> str:
        parts = [self.what]
        share = done / self.total if self.total else None
        if share is not None:
            parts[0] += f": {100 * share:.0f}%"
        if counts:
            parts.append(", ".join(f"{n:,} {name}" for name, n in counts.items()))
            name, n = next(iter(counts.items()))
            parts.append(f"{n / elapsed:,.0f} {name}/s" if elapsed > 0 else f"- {name}/s")
        parts.append(f"elapsed {format_duration(elapsed)}")
        if share is not None:
            parts.append(f"eta {format_duration(elapsed * (1 - share) / share) if share > 0 else '?'}")
        return " | ".join(parts)
