"""TensorFlow Probability's "Probabilistic Layers Regression" cases 1-4, with likely.

The TFP tutorial fits a line to heteroscedastic data (`make_tfp_regression`)
four ways; its `tfp.layers` no longer run on Keras 3, so here is each case
with likely's layers:

1. no uncertainty: `Dense(1)` into a normal of fixed scale 1 (least squares);
2. aleatoric: `Dense(2)` into `IndependentNormal` (the noise is learned);
3. epistemic: `DenseVariational(1)` into a normal of fixed scale 1 (the
   line is uncertain, the noise is not learned);
4. both: `DenseVariational(2)` into `IndependentNormal`.

Each case writes one PNG (data, mean, and the bands or posterior draws),
plus an overview of the four, to the output folder.

Run:
    python examples/tfp_regression_cases.py [OUTPUT_DIR] [--epochs 1000]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import keras
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

import likely
from likely.layers import DenseVariational, DistributionLambda, IndependentNormal


@keras.saving.register_keras_serializable(package="tfp_cases")
def unit_scale_normal(t):
    """Head of cases 1 and 3: the one input is the location, the scale is 1 (as in TFP)."""
    return likely.distributions.Normal(loc=t[..., 0], scale=1.0)


def build(case: int, x: np.ndarray, seed: int) -> keras.Model:
    """The network of each TFP case: a linear model on x, as in the tutorial.

    x spans [-20, 60]; a `Normalization` layer standardizes it first (still a
    linear model), which lets Adam fit the scale as well as the location. The
    tutorial reached the same end by shrinking the scale input (`softplus(0.05 t)`).
    """
    n_train = len(x)
    layers: dict[int, list[keras.Layer]] = {
        1: [keras.layers.Dense(1), DistributionLambda(unit_scale_normal)],
        2: [keras.layers.Dense(2), IndependentNormal(1, min_scale=1e-3)],
        3: [DenseVariational(1, n_train=n_train, trainable_prior=True, seed=seed),
            DistributionLambda(unit_scale_normal)],
        4: [DenseVariational(2, n_train=n_train, trainable_prior=True, seed=seed),
            IndependentNormal(1, min_scale=1e-3)],
    }  # fmt: skip
    normalization = keras.layers.Normalization()
    normalization.adapt(x)
    model = keras.Sequential([keras.Input((1,)), normalization, *layers[case]], name=f"case_{case}")
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss=likely.losses.nll)
    return model


TITLES = {
    1: "Case 1: no uncertainty",
    2: "Case 2: aleatoric uncertainty",
    3: "Case 3: epistemic uncertainty",
    4: "Case 4: aleatoric and epistemic",
}


def draw(case: int, model: keras.Model, x, y, x_test, ax: Axes, seed: int) -> Axes:
    """Data, mean, and the case's uncertainty on `ax`."""
    ax.scatter(x[:, 0], y, s=8, color="0.55", label="data")
    grid = x_test[:, 0]
    if case in (1, 2):
        p = likely.predict_distribution(model, x_test)
        ax.plot(grid, p.mean, color="C0", lw=2, label="mean")
        if case == 2:
            for k, alpha in ((1, 0.35), (2, 0.2)):
                ax.fill_between(grid, p.mean - k * p.stddev, p.mean + k * p.stddev,
                                color="C0", alpha=alpha, lw=0, label=f"mean ± {k} sd")  # fmt: skip
    else:
        # One pass per posterior draw; the whole grid is one batch, so each
        # pass is one sampled line.
        n_draws = 100 if case == 3 else 15
        p = likely.predict_distribution(model, x_test, n_samples=n_draws, seed=seed)
        member_loc = np.asarray(p.distribution.loc)[..., 0]  # (n, S)
        member_scale = np.asarray(p.distribution.scale)[..., 0]
        for s in range(n_draws):
            label = "posterior draws" if s == 0 else None
            ax.plot(grid, member_loc[:, s], color="C3", lw=0.6, alpha=0.35, label=label)
            if case == 4:
                for sign in (-2, 2):
                    ax.plot(grid, member_loc[:, s] + sign * member_scale[:, s],
                            color="C2", lw=0.5, alpha=0.35,
                            label="draw ± 2 sd" if s == 0 and sign == 2 else None)  # fmt: skip
        ax.plot(grid, p.mean, color="C0", lw=2, label="predictive mean")
        epistemic = np.sqrt(p.epistemic_variance)
        ax.fill_between(grid, p.mean - 2 * epistemic, p.mean + 2 * epistemic, color="C3",
                        alpha=0.2, lw=0, label="± 2 epistemic sd")  # fmt: skip
    ax.set(title=TITLES[case], xlabel="x", ylabel="y", ylim=(-10, 30))
    ax.legend(loc="upper left", fontsize=7)
    return ax


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="TFP regression cases 1-4 with likely.")
    parser.add_argument("output_dir", nargs="?", default="likely-output/tfp-regression")
    parser.add_argument("--epochs", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(args.seed)

    x, y, x_test = likely.datasets.make_tfp_regression()
    overview = Figure(figsize=(12, 9), layout="constrained")
    axes = overview.subplots(2, 2).ravel()
    for case in (1, 2, 3, 4):
        model = build(case, x, seed=args.seed)
        history = model.fit(x, y, epochs=args.epochs, batch_size=32, verbose=0)
        print(f"case {case}: final loss {history.history['loss'][-1]:.3f}")
        figure = Figure(figsize=(6, 4.5), layout="constrained")
        draw(case, model, x, y, x_test, figure.add_subplot(), args.seed)
        figure.savefig(out / f"case{case}.png", dpi=120)
        draw(case, model, x, y, x_test, axes[case - 1], args.seed)
    overview.savefig(out / "cases.png", dpi=110)
    print(f"wrote {out}/case1.png ... case4.png and cases.png")


if __name__ == "__main__":
    main()
