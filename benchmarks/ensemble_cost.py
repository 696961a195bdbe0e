"""Cost of a vectorized deep ensemble: one `fit` epoch of M members in one model.

Compares, in one process and on the same data, the steady-state time of one
training epoch of

- a single member (`likely.models.mlp(..., ensemble_size=1)`),
- the M-member ensemble as ONE model (`ensemble_size=M`, `EnsembleDense`),
- a Python loop training M separate single models, one epoch each
  (the course's way),

and prints the ratios ensemble / single and loop / ensemble, in two regimes:

(a) course-sized, overhead-bound: 1 -> 50 -> 50 -> 2, batch 32, 5,000 rows
    (targets: ensemble <= 2.0x one member, and >= 2x faster than the loop);
(b) compute-bound: 16 -> 128 -> 128 -> 2, batch 256, 200,000 rows
    (the FLOPs grow M times, so the floor is about Mx; target <= 1.1 M x).

The first epoch (tracing and compilation) is excluded; the three set-ups then
train epoch by epoch in turn, so that they share the machine's load, and each
timing is the median over the timed epochs.

Run:
    python -m benchmarks.ensemble_cost              # both regimes
    python -m benchmarks.ensemble_cost --regime a --epochs 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from dataclasses import dataclass

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "jax")  # likely's default; keras is imported first

import keras  # noqa: E402
import numpy as np  # noqa: E402

import likely  # noqa: E402


@dataclass(frozen=True)
class Regime:
    name: str
    input_dim: int
    hidden: tuple[int, ...]
    batch_size: int
    rows: int
    target_ratio: float  # ensemble / single; for compute-bound regimes, per member
    per_member: bool
    target_loop_speedup: float | None


REGIMES = {
    "a": Regime("a: 1-50-50-2, batch 32, 5k rows", 1, (50, 50), 32, 5_000, 2.0, False, 2.0),
    "b": Regime(
        "b: 16-128-128-2, batch 256, 200k rows", 16, (128, 128), 256, 200_000, 1.1, True, None
    ),
}


def make_data(regime: Regime, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(regime.rows, regime.input_dim)).astype("float32")
    signal = np.sin(x @ rng.normal(size=regime.input_dim))
    y = (signal + 0.3 * rng.normal(size=regime.rows)).astype("float32")
    return x, y


def compiled_mlp(regime: Regime, ensemble_size: int, seed: int) -> keras.Model:
    model = likely.models.mlp(
        regime.input_dim, hidden=regime.hidden, ensemble_size=ensemble_size, seed=seed
    )
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=likely.losses.nll)
    return model


def one_epoch(models: list[keras.Model], x: np.ndarray, y: np.ndarray, batch: int) -> float:
    """Wall time of one epoch in which every model in `models` trains once."""
    start = time.perf_counter()
    for model in models:
        model.fit(x, y, batch_size=batch, epochs=1, shuffle=True, verbose=0)
    return time.perf_counter() - start


def run(regime: Regime, ensemble_size: int, epochs: int) -> dict[str, list[float]]:
    """Epoch times of the three set-ups, interleaved so that they share the machine's load."""
    x, y = make_data(regime)
    setups = {
        "single": [compiled_mlp(regime, 1, 0)],
        "ensemble": [compiled_mlp(regime, ensemble_size, 0)],
        "loop": [compiled_mlp(regime, 1, m) for m in range(ensemble_size)],
    }
    for models in setups.values():  # first epoch: tracing and compilation
        one_epoch(models, x, y, regime.batch_size)
    times: dict[str, list[float]] = {name: [] for name in setups}
    for _ in range(epochs):
        for name, models in setups.items():
            times[name].append(one_epoch(models, x, y, regime.batch_size))
    return times


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regime", choices=["a", "b", "both"], default="both")
    parser.add_argument("--members", type=int, default=5, help="ensemble size M")
    parser.add_argument("--epochs", type=int, default=5, help="timed epochs after the first")
    args = parser.parse_args(argv)
    print(f"backend={keras.backend.backend()}  members={args.members}  cpus={os.cpu_count()}")
    names = ["a", "b"] if args.regime == "both" else [args.regime]
    for name in names:
        regime = REGIMES[name]
        target = regime.target_ratio * (args.members if regime.per_member else 1)
        times = run(regime, args.members, args.epochs)
        med = {name: statistics.median(t) for name, t in times.items()}
        ratio, speedup = med["ensemble"] / med["single"], med["loop"] / med["ensemble"]
        per_epoch = [e / s for e, s in zip(times["ensemble"], times["single"], strict=True)]
        print(f"\n({regime.name})")
        print(
            f"  median epoch: single {med['single']:.3f}s  ensemble {med['ensemble']:.3f}s  "
            f"loop of {args.members} {med['loop']:.3f}s"
        )
        print(f"  ensemble / single per epoch: {' '.join(f'{q:.2f}' for q in per_epoch)}")
        best = min(times["ensemble"]) / min(times["single"])
        print(f"  fastest epochs: ensemble / single = {best:.2f}x (least disturbed by other load)")
        verdict = "ok" if ratio <= target else "MISSED"
        print(f"  ensemble / single = {ratio:.2f}x   (target <= {target:.1f}x: {verdict})")
        line = f"  loop / ensemble   = {speedup:.2f}x"
        if regime.target_loop_speedup is not None:
            ok = "ok" if speedup >= regime.target_loop_speedup else "MISSED"
            line += f"   (target >= {regime.target_loop_speedup:.1f}x: {ok})"
        print(line)


if __name__ == "__main__":
    main()
