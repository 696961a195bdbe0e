"""Runs the protocol: every method on every split of every chosen set, in one process."""

from __future__ import annotations

import math
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from benchmarks import _common
from benchmarks.robustness import _scoring
from benchmarks.robustness._data import DATASETS, DataSet, Split
from benchmarks.robustness._methods import METHODS, Method

TRUTH = "truth"
"""The name of the reference row of synthetic sets: the true conditional, scored alike."""


@dataclass
class Record:
    """The scores of one method on one split (or why there are none)."""

    dataset: str
    method: str
    split: int
    n_train: int
    n_test: int
    scores: dict[str, float] | None
    error: str | None = None
    fit_s: float = 0.0
    score_s: float = 0.0


@dataclass
class SetInfo:
    """What a set turned out to be in this run."""

    dataset: DataSet
    n_train: int
    n_test: int
    splits: int
    inputs: int
    notes: str
    seconds: float
    cpu_seconds: float = 0.0


@dataclass
class Run:
    """Everything one invocation measured."""

    records: list[Record] = field(default_factory=list)
    sets: dict[str, SetInfo] = field(default_factory=dict)
    agreement: dict[str, dict[str, float]] = field(default_factory=dict)
    methods: list[str] = field(default_factory=list)
    quick: bool = False
    split_limit: int | None = None
    load_before: str = ""
    load_after: str = ""
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    source: str = ""


def source_tree() -> str:
    """The git commit of the tree that ran (and whether it had uncommitted changes)."""
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "not a git checkout"
    return f"git commit {commit}" + (" with uncommitted changes" if dirty else "")


def reproduction(dataset: str, method: str, split: int, quick: bool) -> str:
    """The command that reruns one method on the splits of one set up to `split`."""
    quick_flag = " --quick" if quick else ""
    return (
        f"python -m benchmarks.robustness --sets {dataset} --methods {method} "
        f"--splits {split + 1}{quick_flag}"
    )


def _fit_and_score(
    dataset: str, method: Method, split: Split, seed: int, quick: bool
) -> tuple[Record, object]:
    """(the record, the prediction or None): errors are recorded, never raised."""
    record = Record(dataset, method.name, split.index, len(split.y_train), len(split.y_test), None)
    start = time.perf_counter()
    try:
        prediction = method.fit_predict(split.x_train, split.y_train, split.x_test, seed, quick)
        record.fit_s = time.perf_counter() - start
        start = time.perf_counter()
        if method.family == "likely":
            record.scores = _scoring.score_likely(prediction, split.y_test, split.truth)
        else:
            record.scores = _scoring.score_normal(prediction, split.y_test, split.truth)
        record.score_s = time.perf_counter() - start
    except Exception as error:  # recorded and reported; the protocol goes on
        record.fit_s = record.fit_s or time.perf_counter() - start
        record.error = f"{type(error).__name__}: {error}".splitlines()[0][:300]
        traceback.print_exc(file=sys.stderr)
        return record, None
    bad = [k for k, v in record.scores.items() if k != "ks_truth" and not math.isfinite(v)]
    if bad:
        record.error = f"non-finite {', '.join(bad)}"
    return record, prediction


def run(
    sets: Sequence[str] | None = None,
    methods: Sequence[str] | None = None,
    split_limit: int | None = None,
    quick: bool = False,
    progress: bool = True,
    after_set: Callable[[Run], None] | None = None,
) -> Run:
    """Runs the chosen methods (default all) on the chosen sets (default all).

    Args:
        sets: Names in `DATASETS`.
        methods: Names in `METHODS`.
        split_limit: Use at most this many splits per set.
        quick: Tiny subsets and a few epochs / rounds (a smoke run, not the defaults).
        progress: Print a line per fit.
        after_set: Called with the run so far after each set (to save partial results).
    """
    names = list(sets or DATASETS)
    chosen = list(methods or METHODS)
    for name in names:
        if name not in DATASETS:
            raise ValueError(f"unknown data set {name!r}; choose from {sorted(DATASETS)}")
    for name in chosen:
        if name not in METHODS:
            raise ValueError(f"unknown method {name!r}; choose from {list(METHODS)}")
    result = Run(methods=chosen, quick=quick, split_limit=split_limit, source=source_tree())
    result.load_before = _common.load_average()
    begin, cpu_begin = time.perf_counter(), time.process_time()
    for name in names:
        dataset = DATASETS[name]
        set_start, cpu_start = time.perf_counter(), time.process_time()
        info = None
        for split in dataset.splits(split_limit, quick):
            if info is None:
                info = SetInfo(
                    dataset,
                    len(split.y_train),
                    len(split.y_test),
                    0,
                    split.x_train.shape[1],
                    split.notes,
                    0.0,
                )
            info.splits += 1
            for method_name in chosen:
                record, prediction = _fit_and_score(
                    name, METHODS[method_name], split, split.index, quick
                )
                if method_name == "ngboost" and prediction is not None:
                    result.agreement[f"{name}/{split.index}"] = _scoring.agreement(
                        prediction, split.y_test, split.truth
                    )
                result.records.append(record)
                if progress:
                    _print(record)
            if split.truth is not None:
                start = time.perf_counter()
                scores = _scoring.score_truth(split.truth, split.y_test)
                result.records.append(
                    Record(
                        name,
                        TRUTH,
                        split.index,
                        len(split.y_train),
                        len(split.y_test),
                        scores,
                        score_s=time.perf_counter() - start,
                    )
                )
        if info is not None:
            info.seconds = time.perf_counter() - set_start
            info.cpu_seconds = time.process_time() - cpu_start
            result.sets[name] = info
            if progress:
                load = _common.load_average()
                print(f"== {name}: {info.seconds:.0f} s wall (load {load})", flush=True)
        if after_set is not None:
            result.seconds = time.perf_counter() - begin
            result.cpu_seconds = time.process_time() - cpu_begin
            result.load_after = _common.load_average()
            after_set(result)
    result.seconds = time.perf_counter() - begin
    result.cpu_seconds = time.process_time() - cpu_begin
    result.load_after = _common.load_average()
    return result


def _print(record: Record) -> None:
    head = f"{record.dataset} split {record.split} {record.method}: fit {record.fit_s:.1f} s"
    if record.error:
        print(f"{head}, ERROR {record.error}", flush=True)
    elif record.scores is not None:
        s = record.scores
        print(
            f"{head}, NLL {s['nll']:.4g} CRPS {s['crps']:.4g} RMSE {s['rmse']:.4g} "
            f"PIT KS {s['pit_ks']:.3f} cov68 {s['cov68']:.3f}"
            + ("" if math.isnan(s["ks_truth"]) else f" KS truth {s['ks_truth']:.3f}"),
            flush=True,
        )
