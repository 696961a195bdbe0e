"""Cost of each distribution head relative to the normal mixture: training and inference.

For every family, the same MLP body (d -> 64 -> 64 -> head) on the same data
is timed, in one process and interleaved so that the heads share the
machine's load:

- one training epoch (`fit`, batch 256; the first epoch, with tracing and
  compilation, excluded);
- inference: the forward pass plus the predictive's summaries (mean, std and
  the 5%, 50% and 95% quantiles), as `likely predict` computes them.

Each time is the median over the timed repeats; the printed ratio is the
head's time over the 5-component normal mixture's (the default head of
`likely train`), so ratios below 1 are cheaper than the default.

Run:
    python -m benchmarks.head_cost                 # 50,000 rows, 3 repeats
    python -m benchmarks.head_cost --rows 5000 --repeats 1
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "jax")  # likely's default; keras is imported first

import keras  # noqa: E402
import numpy as np  # noqa: E402

import likely  # noqa: E402

REFERENCE = "mixture (K=5)"

HEADS: dict[str, dict[str, Any]] = {
    REFERENCE: {"head": "mixture", "num_components": 5},
    "normal": {"head": "normal"},
    "student_t": {"head": "student_t"},
    "laplace": {"head": "laplace"},
    "lognormal": {"head": "lognormal"},
    "spline_flow (16 bins)": {"head": "spline_flow", "head_options": {"low": 0.0, "high": 4.0}},
    "mixture_same_family (5 lognormal)": {
        "head": "mixture_same_family",
        "head_options": {"num_components": 5, "component": "lognormal"},
    },
}
"""Label -> `likely.models.mlp` keywords; all heads predict a positive scalar target."""

QUANTILES = (0.05, 0.5, 0.95)


def make_data(rows: int, dim: int = 8, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Positive, skewed targets in (0, 4) that every head here can fit."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, dim)).astype("float32")
    loc = 0.3 * np.tanh(x @ rng.normal(size=dim) / np.sqrt(dim))
    y = np.exp(loc + 0.25 * rng.normal(size=rows)).clip(1e-3, 3.9)
    return x, y.astype("float32")


def build(options: dict[str, Any], dim: int, seed: int = 0) -> keras.Model:
    model = likely.models.mlp(dim, hidden=(64, 64), seed=seed, **options)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=likely.losses.nll)
    return model


def summaries(model: keras.Model, x: np.ndarray, batch: int) -> None:
    """What a prediction table holds: the forward pass, mean, std and quantiles."""
    for start in range(0, len(x), batch):
        p = likely.predict_distribution(model, x[start : start + batch])
        _ = p.mean, p.stddev, p.quantile(np.asarray(QUANTILES).reshape(-1, 1))


def _timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run(
    rows: int = 50_000, repeats: int = 3, batch: int = 256, heads: dict | None = None
) -> dict[str, dict[str, list[float]]]:
    """Epoch and inference times of each head, interleaved over the repeats."""
    heads = HEADS if heads is None else heads
    x, y = make_data(rows)
    models = {label: build(options, x.shape[1]) for label, options in heads.items()}
    predict_batch = 16_384
    for model in models.values():  # tracing and compilation
        model.fit(x, y, batch_size=batch, epochs=1, verbose=0)
        summaries(model, x, predict_batch)
    times: dict[str, dict[str, list[float]]] = {
        label: {"train": [], "predict": []} for label in models
    }
    for _ in range(repeats):
        for label, model in models.items():
            times[label]["train"].append(
                _timed(lambda m=model: m.fit(x, y, batch_size=batch, epochs=1, verbose=0))
            )
            times[label]["predict"].append(_timed(lambda m=model: summaries(m, x, predict_batch)))
    return times


def ratios(
    times: dict[str, dict[str, list[float]]],
) -> list[tuple[str, float, float, float, float]]:
    """(label, epoch s, epoch ratio, inference s, inference ratio) against the reference."""
    med = {k: {p: statistics.median(v) for p, v in t.items()} for k, t in times.items()}
    ref = med[REFERENCE]
    return [
        (label, m["train"], m["train"] / ref["train"], m["predict"], m["predict"] / ref["predict"])
        for label, m in med.items()
    ]


def table(rows: int, result: list[tuple[str, float, float, float, float]]) -> str:
    lines = [
        f"{rows:,} rows, MLP 8-64-64-head, batch 256 (training) and 16,384 (prediction); "
        f"inference = forward + mean, std, quantiles {QUANTILES}; ratios to {REFERENCE}.",
        "",
        "| head | epoch (s) | epoch ratio | inference (s) | inference ratio |",
        "| --- | --- | --- | --- | --- |",
    ]
    for label, train, train_ratio, predict, predict_ratio in result:
        lines.append(
            f"| {label} | {train:.2f} | {train_ratio:.2f}x | {predict:.2f} | {predict_ratio:.2f}x |"
        )
    return "\n".join(lines)


def section(rows: int, times: dict[str, dict[str, list[float]]]) -> Any:
    """The RESULTS.md section (`python -m benchmarks`); no targets, the ratios are reported."""
    from benchmarks import _common

    return _common.Section("Head cost", table(rows, ratios(times)))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats after the first")
    args = parser.parse_args(argv)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"backend={keras.backend.backend()}  cpus={os.cpu_count()}  load={load:.1f}")
    print(table(args.rows, ratios(run(rows=args.rows, repeats=args.repeats))))


if __name__ == "__main__":
    main()
