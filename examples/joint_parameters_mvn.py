"""Two parameters fitted jointly by a full-covariance normal head (the course's second practical).

The course estimated two cosmological parameters at once and let the
network predict their joint uncertainty, correlation included. Here the two
targets come from `likely.datasets.make_correlated_pair`, whose true
correlation changes with the input (`rho(x) = 0.9 x`), so one can see
whether the head learns it:

    Dense(MultivariateNormalTriL.params_size(2)) -> MultivariateNormalTriL(2)

and `compile(loss=likely.losses.nll)`, as with any likely head. The script
prints the recovered correlation against the truth, the energy score and a
calibration check of the joint predictive (the PIT of the Mahalanobis
distance), and writes `joint_parameters.png`: the predicted correlation
against x, and 1- and 2-sigma ellipses at three inputs over the test data.

Run:
    python examples/joint_parameters_mvn.py [OUTPUT_DIR] [--epochs 80]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import keras
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Ellipse
from scipy import stats

import likely


def build(seed: int) -> keras.Model:
    model = keras.Sequential(
        [
            keras.Input((1,)),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(likely.layers.MultivariateNormalTriL.params_size(2)),
            likely.layers.MultivariateNormalTriL(2),
        ]
    )
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss=likely.losses.nll)
    return model


def ellipse(mean: np.ndarray, cov: np.ndarray, k: float, **style) -> Ellipse:
    values, vectors = np.linalg.eigh(cov)
    angle = np.degrees(np.arctan2(vectors[1, -1], vectors[0, -1]))
    width, height = 2 * k * np.sqrt(values[::-1])
    return Ellipse(mean, width, height, angle=angle, fill=False, **style)


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output_dir", nargs="?", default="likely-output/joint-parameters")
    parser.add_argument("--epochs", type=int, default=80)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(args.seed)

    x, y, _ = likely.datasets.make_correlated_pair(4000, seed=args.seed)
    x_test, y_test, rho = likely.datasets.make_correlated_pair(4000, seed=args.seed + 1)
    model = build(args.seed)
    model.fit(x, y, epochs=args.epochs, batch_size=128, validation_split=0.15, verbose=0)
    p = likely.predict_distribution(model, x_test)
    correlation = np.asarray(p.distribution.correlation)[:, 0, 1]
    results = {
        "max |predicted - true correlation|": float(np.max(np.abs(correlation - rho))),
        "energy score": float(likely.metrics.energy_score(y_test, p, n_samples=500)),
        "Mahalanobis PIT KS": float(
            stats.kstest(likely.metrics.mahalanobis_pit(y_test, p), "uniform").statistic
        ),
    }
    for name, value in results.items():
        print(f"{name}: {value:.4f}")

    figure = Figure(figsize=(11, 4.6), layout="constrained")
    left, right = figure.subplots(1, 2)
    order = np.argsort(x_test[:, 0])
    left.plot(x_test[order, 0], rho[order], color="0.3", lw=2, label="true correlation")
    left.plot(x_test[order, 0], correlation[order], color="C0", lw=1.5, label="predicted")
    left.set(xlabel="x", ylabel="correlation of the two targets", ylim=(-1, 1))
    left.legend(frameon=False)
    right.scatter(y_test[:, 0], y_test[:, 1], s=3, color="0.75", lw=0, label="test data")
    covariance = np.asarray(p.distribution.covariance)
    for color, x0 in zip(("C0", "C1", "C2"), (-0.8, 0.0, 0.8), strict=True):
        i = int(np.argmin(np.abs(x_test[:, 0] - x0)))
        for k, style in ((1, "-"), (2, "--")):
            right.add_patch(ellipse(p.mean[i], covariance[i], k, color=color, ls=style, lw=1.5))
        right.plot(*p.mean[i], "o", color=color, label=f"x = {x0:+.1f}")
    right.set(xlabel="target 1", ylabel="target 2", title="1 and 2 sigma ellipses")
    right.legend(frameon=False, fontsize="small", loc="upper left")
    figure.savefig(out / "joint_parameters.png", dpi=110)
    print(f"wrote {out / 'joint_parameters.png'}")
    return results


if __name__ == "__main__":
    main()
