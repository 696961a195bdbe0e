"""Screening candidate defaults on the first splits of protocol sets, before a full run.

Each config is a JSON object of `likely.ProbabilisticRegressor` arguments;
every config is fitted on the same splits (`DATASETS[name].splits`) with the
protocol's seeds and tracking off, scored by `_scoring.score_likely`, and one
line per config prints the mean NLL, RMSE, PIT KS, 68% coverage and seconds
per fit. Paired on the same splits, so differences between configs carry
less noise than the splits' spread. A screen is not the protocol: its
results go in `benchmarks/RESULTS-defaults-screen.md`, the decision is then
checked by `python -m benchmarks.robustness`.

Run:
    python -m benchmarks.robustness.screen concrete 6 '{"ensemble_size": 5}' \
        '{"ensemble_size": 5, "hidden": [128, 128]}'
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np

from benchmarks.robustness._data import DATASETS
from benchmarks.robustness._methods import likely_estimator
from benchmarks.robustness._scoring import score_likely

KEYS = ("nll", "rmse", "pit_ks", "cov68")


def main(argv: list[str]) -> None:
    if len(argv) < 3 or argv[0] not in DATASETS:
        raise SystemExit(f"usage: screen SET SPLITS CONFIG_JSON...; sets: {sorted(DATASETS)}")
    name, limit, configs = argv[0], int(argv[1]), [json.loads(a) for a in argv[2:]]
    splits = list(DATASETS[name].splits(limit, False))
    for config in configs:
        scores, seconds = [], []
        for split in splits:
            start = time.perf_counter()
            estimator = likely_estimator(split.index, False, **config)
            estimator.fit(split.x_train, split.y_train)
            predictive = estimator.predict_distribution(split.x_test)
            seconds.append(time.perf_counter() - start)
            scores.append(score_likely(predictive, split.y_test, None))
        means = {key: round(float(np.mean([s[key] for s in scores])), 4) for key in KEYS}
        print(name, len(splits), json.dumps(config), means, f"{np.mean(seconds):.1f} s/fit")


if __name__ == "__main__":
    main(sys.argv[1:])
