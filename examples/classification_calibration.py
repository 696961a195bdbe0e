"""A probabilistic classifier, its calibration, and temperature scaling.

The course's lecture taught softmax outputs and cross-entropy; in likely a
classifier is one more distribution family at the end of the network:

    Dense(OneHotCategorical.params_size(3)) -> OneHotCategorical(3)

trained with `likely.losses.nll` (the categorical cross-entropy). A network
trained long on a small set becomes over-confident; the script scores it
(log loss, Brier score, expected calibration error), fits
`likely.calibration.TemperatureScaling` on held-out rows, and writes the
reliability diagrams before and after to `classification_calibration.png`.

Run:
    python examples/classification_calibration.py [OUTPUT_DIR] [--epochs 300]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import keras
import numpy as np
from matplotlib.figure import Figure

import likely


def three_classes(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Three overlapping Gaussian blobs in 2-D."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, size=n)
    centres = np.array([[0.0, 1.0], [-0.9, -0.5], [0.9, -0.5]])
    return (centres[labels] + 0.75 * rng.normal(size=(n, 2))).astype("float32"), labels


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output_dir", nargs="?", default="likely-output/classification")
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(args.seed)

    x, y = three_classes(600, args.seed)  # a small training set: over-confidence follows
    x_cal, y_cal = three_classes(2000, args.seed + 1)
    x_test, y_test = three_classes(4000, args.seed + 2)
    model = keras.Sequential(
        [
            keras.Input((2,)),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(likely.layers.OneHotCategorical.params_size(3)),
            likely.layers.OneHotCategorical(3),
        ]
    )
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss=likely.losses.nll)
    model.fit(x, keras.ops.one_hot(y, 3), epochs=args.epochs, batch_size=64, verbose=0)

    raw = likely.predict_distribution(model, x_test)
    scaler = likely.calibration.TemperatureScaling().fit(
        likely.predict_distribution(model, x_cal), y_cal
    )
    calibrated = scaler.transform(raw)
    results = {"temperature": scaler.temperature_}
    for name, p in (("raw", raw), ("temperature-scaled", calibrated)):
        results[f"{name} log loss"] = likely.metrics.log_loss(y_test, p)
        results[f"{name} Brier score"] = likely.metrics.brier_score(y_test, p)
        results[f"{name} ECE"] = likely.metrics.expected_calibration_error(y_test, p)
    for name, value in results.items():
        print(f"{name}: {value:.4f}")

    figure = Figure(figsize=(9, 4.4), layout="constrained")
    for ax, (title, p) in zip(figure.subplots(1, 2), (("raw", raw), ("calibrated", calibrated)),
                              strict=True):  # fmt: skip
        likely.plots.plot_classification_reliability(y_test, p, ax=ax, label=title)
        ax.set_title(title)
    figure.savefig(out / "classification_calibration.png", dpi=110)
    print(f"wrote {out / 'classification_calibration.png'}")
    return results


if __name__ == "__main__":
    main()
