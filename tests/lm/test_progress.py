"""Progress while training (issue 10): one log line per evaluation, train_log.csv growing as the
run goes, and neither changing what is trained."""

from __future__ import annotations

import csv
import logging
import re
from pathlib import Path

import numpy as np

from idscaling.corpus.tokens import load_token_file
from idscaling.lm.progress import peak_flops, progress_line
from idscaling.lm.settings import TrainSettings
from idscaling.lm.train import train
from idscaling.runlog import Progress, format_duration

SHAPE = {"n_layer": 1, "n_head": 2, "n_embd": 32}
LINE = re.compile(
    r"step (\d+)/(\d+) \| train [\d.]+ \| select [\d.]+ \(best [\d.]+ @ (\d+)\) \| [\d,]+ tok/s "
    r"\| elapsed \d+:\d\d:\d\d \| eta \d+:\d\d:\d\d$"
)


def test_format_duration():
    assert format_duration(0) == "0:00:00"
    assert format_duration(62.4) == "0:01:02"
    assert format_duration(59.6) == "0:01:00"  # rounded
    assert format_duration(3 * 3600 + 5 * 60 + 7) == "3:05:07"
    assert format_duration(30 * 3600) == "30:00:00"  # hours are not wrapped at a day
    assert format_duration(-1) == format_duration(float("nan")) == format_duration(float("inf")) == "?"


def test_progress_line_and_peak_table():
    line = progress_line(
        250,
        800,
        train_loss=3.4123,
        selection_loss=3.5011,
        best_loss=3.4979,
        best_step=225,
        tokens_per_s=41234.4,
        mfu=0.3121,
        elapsed_s=62,
        eta_s=137,
    )
    assert line == (
        "step 250/800 | train 3.412 | select 3.501 (best 3.498 @ 225) | 41,234 tok/s | mfu 31.2% "
        "| elapsed 0:01:02 | eta 0:02:17"
    )
    assert "mfu" not in progress_line(
        1, 2, train_loss=1, selection_loss=1, best_loss=1, best_step=1, tokens_per_s=1, mfu=None, elapsed_s=1, eta_s=1
    )
    assert peak_flops("NVIDIA H100 80GB HBM3") == 989e12
    assert peak_flops("NVIDIA H100 PCIe") == 756e12
    assert peak_flops("NVIDIA A100-SXM4-80GB") == 312e12
    assert peak_flops("NVIDIA L40S") == 362e12 and peak_flops("NVIDIA L4") == 121e12
    assert peak_flops("NVIDIA GeForce GTX 1080") is None


def test_progress_logs_at_each_tenth_only_after_the_gap(caplog):
    """A fake clock: 1 s per item, 100 items. Lines at 10%, 20%, ... but at most one per 5 s
    (min_gap_s) and none at all for a loop faster than that."""
    now = [0.0]
    progress = Progress(
        logging.getLogger("idscaling.test"), "tokenize x", total=100, min_gap_s=5, max_gap_s=1000, clock=lambda: now[0]
    )
    with caplog.at_level(logging.INFO, logger="idscaling.test"):
        for done in range(1, 101):
            now[0] = done * 1.0
            progress.update(done, documents=done, tokens=10 * done)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 10 and progress.lines == 10
    assert lines[0] == "tokenize x: 10% | 10 documents, 100 tokens | 1 documents/s | elapsed 0:00:10 | eta 0:01:30"
    assert lines[-1].startswith("tokenize x: 100% |") and lines[-1].endswith("eta 0:00:00")

    fast = Progress(logging.getLogger("idscaling.test"), "fast", total=100, clock=lambda: 0.0)
    for done in range(1, 101):
        fast.update(done, items=done)
    assert fast.lines == 0


def test_progress_without_total_is_time_based(caplog):
    now = [0.0]
    progress = Progress(logging.getLogger("idscaling.test"), "read corpus", max_gap_s=60, clock=lambda: now[0])
    with caplog.at_level(logging.INFO, logger="idscaling.test"):
        for done in range(1, 301):
            now[0] = float(done)
            progress.update(done, documents=done)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 5  # at 60, 120, ..., 300 s
    assert lines[0] == "read corpus | 60 documents | 1 documents/s | elapsed 0:01:00"


class _CsvAtEachLine(logging.Handler):
    """At every progress line, read train_log.csv as it is on disk at that moment."""

    def __init__(self, csv_path: Path) -> None:
        super().__init__(logging.INFO)
        self.csv_path = csv_path
        self.seen: list[tuple[str, list[dict]]] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith("step "):
            self.seen.append((message, list(csv.DictReader(open(self.csv_path)))))


def _tokens(small_corpus):
    root = small_corpus["root"]
    return (
        np.asarray(load_token_file(root / "train.bin").tokens)[:20000],
        np.asarray(load_token_file(root / "select.bin").tokens),
    )


def _settings(**kw) -> TrainSettings:
    base = dict(
        block_size=32,
        batch_size=8,
        max_steps=42,
        lr=1e-2,
        min_lr=1e-3,
        warmup_steps=5,
        eval_interval=5,
        selection_tokens=2048,
        threads=1,
    )
    return TrainSettings(**(base | kw))


def _train(small_corpus, out_dir: Path, **kw) -> dict:
    tokens, sel = _tokens(small_corpus)
    return train(tokens, sel, shape=SHAPE, vocab_size=512, eot_id=0, settings=_settings(**kw), seed=2, out_dir=out_dir)


def test_a_line_per_evaluation_and_the_csv_grows(small_corpus, tmp_path):
    out = tmp_path / "m"
    watcher = _CsvAtEachLine(out / "train_log.csv")
    logger = logging.getLogger("idscaling.lm.train")
    logger.addHandler(watcher)
    old_level = logger.level
    logger.setLevel(logging.INFO)
    try:
        summary = _train(small_corpus, out)
    finally:
        logger.removeHandler(watcher)
        logger.setLevel(old_level)
    steps = [int(LINE.search(message).group(1)) for message, _ in watcher.seen]
    assert steps == [5, 10, 15, 20, 25, 30, 35, 40, 42]  # every eval_interval, and the last step
    assert all(LINE.search(message).group(2) == "42" for message, _ in watcher.seen)
    best_steps = [int(LINE.search(message).group(3)) for message, _ in watcher.seen]
    assert best_steps[-1] == summary["best_step"]
    # while training ran, the file on disk held the header and exactly the steps so far
    for step, (_, rows) in zip(steps, watcher.seen):
        assert [int(r["step"]) for r in rows] == list(range(1, step + 1))
        assert rows[-1]["selection_loss"] != "" and rows[-1]["train_loss"] != ""
    final = list(csv.DictReader(open(out / "train_log.csv")))
    assert watcher.seen[-1][1] == final  # the live file ended as the saved one
    # the logged train loss is the mean of the steps since the previous line
    mean = np.mean([float(r["train_loss"]) for r in final[35:40]])
    assert f"train {mean:.3f}" in watcher.seen[7][0]


def test_early_stop_between_evaluations_completes_the_live_csv(small_corpus, tmp_path):
    """patience stops the run at min_steps = 23, not an evaluation step: rows 21..23 still reach
    the file, which ends as the saved log."""
    out = tmp_path / "m"
    summary = _train(
        small_corpus, out, max_steps=400, lr=0.3, warmup_steps=1, eval_interval=2, patience=1, min_steps=23
    )
    assert summary["stopped_early"] and summary["steps_run"] == 23
    rows = list(csv.DictReader(open(out / "train_log.csv")))
    assert [int(r["step"]) for r in rows] == list(range(1, 24))


def test_logging_does_not_change_the_run(small_corpus, tmp_path):
    """The same run silent (logger at WARNING) and logging its progress: identical weights and
    identical log rows except the wall time."""
    from safetensors.numpy import load_file

    logger = logging.getLogger("idscaling.lm.train")
    old_level = logger.level
    try:
        logger.setLevel(logging.WARNING)
        _train(small_corpus, tmp_path / "quiet", max_steps=20)
        logger.setLevel(logging.INFO)
        _train(small_corpus, tmp_path / "loud", max_steps=20)
    finally:
        logger.setLevel(old_level)
    a, b = (
        load_file(str(tmp_path / "quiet" / "model.safetensors")),
        load_file(str(tmp_path / "loud" / "model.safetensors")),
    )
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)

    def strip(path):
        return [{k: v for k, v in r.items() if k != "wall_time_s"} for r in csv.DictReader(open(path))]

    assert strip(tmp_path / "quiet" / "train_log.csv") == strip(tmp_path / "loud" / "train_log.csv")


# ------------------------------------------------------------------ TensorBoard (issue 17)
def _scalars(folder: Path) -> dict[str, list[tuple[int, float]]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(folder))
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def _tb_run(small_corpus, out_dir, **kw):
    root = small_corpus["root"]
    s = TrainSettings(block_size=32, batch_size=4, max_steps=20, lr=1e-2, min_lr=1e-3, warmup_steps=2,
                      eval_interval=5, selection_tokens=1024, **kw)  # fmt: skip
    tokens = np.asarray(load_token_file(root / "train.bin").tokens)[:20000]
    sel = np.asarray(load_token_file(root / "select.bin").tokens)
    return train(tokens, sel, shape=SHAPE, vocab_size=512, eot_id=0, settings=s, seed=0, out_dir=out_dir)


def test_tensorboard_events_hold_the_logs_numbers(small_corpus, tmp_path):
    out = tmp_path / "m"
    _tb_run(small_corpus, out)
    rows = list(csv.DictReader(open(out / "train_log.csv")))
    scalars = _scalars(out)
    assert set(scalars) == {"loss/train", "loss/selection", "lr", "speed/tokens_per_s"}  # no MFU on a CPU
    assert [s for s, _ in scalars["loss/train"]] == list(range(1, 21))
    np.testing.assert_allclose([v for _, v in scalars["loss/train"]], [float(r["train_loss"]) for r in rows], rtol=1e-6)
    np.testing.assert_allclose([v for _, v in scalars["lr"]], [float(r["lr"]) for r in rows], rtol=1e-6)
    evals = [(int(r["step"]), float(r["selection_loss"])) for r in rows if r["selection_loss"]]
    assert [s for s, _ in scalars["loss/selection"]] == [s for s, _ in evals] == [5, 10, 15, 20]
    np.testing.assert_allclose([v for _, v in scalars["loss/selection"]], [v for _, v in evals], rtol=1e-6)
    assert [s for s, _ in scalars["speed/tokens_per_s"]] == [5, 10, 15, 20]
    assert all(v > 0 for _, v in scalars["speed/tokens_per_s"])
    # a fresh run in the same folder replaces the old event files instead of mixing with them
    first = sorted(out.glob("events.out.tfevents.*"))
    _tb_run(small_corpus, out)
    assert len(list(out.glob("events.out.tfevents.*"))) == 1 and sorted(out.glob("events.out.tfevents.*")) != first


def test_tensorboard_off_writes_no_events_and_trains_the_same_weights(small_corpus, tmp_path):
    from safetensors.numpy import load_file

    on, off = _tb_run(small_corpus, tmp_path / "on"), _tb_run(small_corpus, tmp_path / "off", tensorboard=False)
    assert not list((tmp_path / "off").glob("events.out.tfevents.*"))
    assert on["best_selection_loss"] == off["best_selection_loss"]
    a, b = load_file(str(tmp_path / "on" / "model.safetensors")), load_file(str(tmp_path / "off" / "model.safetensors"))
    assert all(np.array_equal(a[k], b[k]) for k in a)
