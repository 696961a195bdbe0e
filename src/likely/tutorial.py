"""The course practical, reproduced: `likely tutorial` or `python -m likely.tutorial`.

Three steps on the course's toy data:

1. an MSE network on D2: the course's 3-4-4-1 layer sizes on a one-dimensional
   input (1 -> 3 -> 4 -> 4 -> 1, tanh), which has 47 parameters;
2. a Gaussian head on D2, trained by negative log-likelihood, with its
   +-1 sigma / +-2 sigma bands and samples: it learns the heteroscedastic noise;
3. a 2-component mixture head on the bimodal D3, which covers both branches
   where the Gaussian head can only smear one wide band over them.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np

from likely import layers, losses
from likely.datasets import make_d2, make_d3
from likely.models import Predictive, predict_distribution


def mse_network() -> keras.Sequential:
    """The course's first network: Dense layers of 3, 4, 4 and 1 units on a 1-D input.

    Parameters: (1*3 + 3) + (3*4 + 4) + (4*4 + 4) + (4*1 + 1) = 47. (Counting
    the 3 as an input layer, a 3-4-4-1 network on three inputs has 41.)

    Example:
        >>> from likely.tutorial import mse_network
        >>> mse_network().count_params()
        47
    """
    return keras.Sequential(
        [
            keras.Input((1,)),
            keras.layers.Dense(3, activation="tanh"),
            keras.layers.Dense(4, activation="tanh"),
            keras.layers.Dense(4, activation="tanh"),
            keras.layers.Dense(1),
        ],
        name="course_mse",
    )


def probabilistic_network(head: str, hidden: tuple[int, ...] = (32, 32)) -> keras.Sequential:
    """A small MLP ending in a Gaussian (`head="normal"`) or 2-component mixture head."""
    if head == "normal":
        tail = [
            keras.layers.Dense(layers.IndependentNormal.params_size(1)),
            layers.IndependentNormal(1),
        ]
    elif head == "mixture":
        tail = [
            keras.layers.Dense(layers.MixtureNormal.params_size(2, 1)),
            layers.MixtureNormal(2, 1),
        ]
    else:
        raise ValueError(f"Argument `head` must be 'normal' or 'mixture'. Received: head={head!r}")
    return keras.Sequential(
        [keras.Input((1,)), *[keras.layers.Dense(u, activation="relu") for u in hidden], *tail],
        name=f"course_{head}",
    )


def fit_probabilistic(
    x: np.ndarray, y: np.ndarray, head: str, epochs: int = 200, seed: int = 0
) -> keras.Sequential:
    """Trains `probabilistic_network(head)` by NLL with Adam(1e-2), batch 64."""
    keras.utils.set_random_seed(seed)
    model = probabilistic_network(head)
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss=losses.nll)
    model.fit(x, y, batch_size=64, epochs=epochs, verbose=0)
    return model


def _band_axes(ax, x_data, y_data, grid, predictive: Predictive, title: str, seed: int = 0):
    x = grid[:, 0]
    mean, std = predictive.mean, predictive.stddev
    ax.fill_between(x, mean - 2 * std, mean + 2 * std, alpha=0.2, color="C0", lw=0, label="±2σ")
    ax.fill_between(x, mean - std, mean + std, alpha=0.35, color="C0", lw=0, label="±1σ")
    ax.scatter(x_data[:, 0], y_data, s=5, color="0.25", alpha=0.6, lw=0, label="data")
    samples = predictive.sample(3, seed=seed)
    for i, draw in enumerate(samples):
        ax.plot(x, draw, ".", ms=1.5, color="C3", label="samples" if i == 0 else None)
    ax.plot(x, mean, color="C0", lw=2, label="mean")
    ax.set(title=title, xlabel="x", ylabel="y")
    return ax


def _legend_below(fig, ax, ncols: int) -> None:
    """One legend under the panels, where it hides no data or band."""
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=ncols, frameon=False)


def run_tutorial(output_dir: str | Path = "likely-tutorial", epochs: int = 200) -> dict[str, Path]:
    """Runs the three steps and writes one PNG each; returns their paths."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import LogLocator, NullFormatter, ScalarFormatter

    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    grid = np.linspace(-1, 1, 300)[:, None]

    # 1. MSE on D2.
    x, y = make_d2(n=1000, seed=0)
    keras.utils.set_random_seed(0)
    model = mse_network()
    model.summary()
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
    history = model.fit(x, y, batch_size=32, epochs=epochs, validation_split=0.2, verbose=0)
    fig = Figure(figsize=(8, 3.6), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    ax1.plot(history.history["loss"], label="loss")
    ax1.plot(history.history["val_loss"], label="val_loss")
    ax1.set(title="MSE network: loss curves", xlabel="epoch", ylabel="MSE", yscale="log")
    ax1.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    ax1.yaxis.set_major_formatter(ScalarFormatter())
    ax1.yaxis.set_minor_formatter(NullFormatter())
    ax1.legend(frameon=False)
    ax2.scatter(x[:, 0], y, s=5, color="0.4", alpha=0.6, lw=0, label="data")
    ax2.plot(grid[:, 0], model.predict(grid, verbose=0)[:, 0], color="C1", lw=2, label="prediction")
    ax2.set(title=f"MSE on D2 ({model.count_params()} parameters)", xlabel="x", ylabel="y")
    ax2.legend(frameon=False, loc="lower left")
    paths["mse_d2"] = output_dir / "1_mse_d2.png"
    fig.savefig(paths["mse_d2"], dpi=110)

    # 2. Gaussian head on D2.
    model = fit_probabilistic(x, y, "normal", epochs=epochs)
    fig = Figure(figsize=(6.4, 4.8), layout="constrained")
    ax = _band_axes(
        fig.subplots(), x, y, grid, predict_distribution(model, grid), "Gaussian head on D2"
    )
    _legend_below(fig, ax, ncols=5)
    paths["gaussian_d2"] = output_dir / "2_gaussian_d2.png"
    fig.savefig(paths["gaussian_d2"], dpi=110)

    # 3. Gaussian vs 2-component mixture on D3.
    x3, y3 = make_d3(n=1000, seed=0)
    fig = Figure(figsize=(8, 4), layout="constrained")
    for ax, head in zip(fig.subplots(1, 2, sharey=True), ("normal", "mixture"), strict=True):
        model = fit_probabilistic(x3, y3, head, epochs=epochs)
        predictive = predict_distribution(model, grid)
        nll = float(-np.mean(predict_distribution(model, x3).log_prob(y3)))
        draws = predictive.sample(5, seed=1)
        ax.plot(np.tile(grid[:, 0], 5), draws.ravel(), ".", ms=1.5, color="C3", label="samples")
        ax.scatter(x3[:, 0], y3, s=4, color="0.25", alpha=0.5, lw=0, label="data")
        lo, hi = predictive.interval(0.95)
        ax.plot(grid[:, 0], lo, color="C0", lw=1.5, label="95% interval")
        ax.plot(grid[:, 0], hi, color="C0", lw=1.5)
        ax.set(title=f"{head} head on D3 (train NLL {nll:.2f})", xlabel="x")
    _legend_below(fig, ax, ncols=3)
    paths["mixture_d3"] = output_dir / "3_gaussian_vs_mixture_d3.png"
    fig.savefig(paths["mixture_d3"], dpi=110)
    return paths


if __name__ == "__main__":
    for name, path in run_tutorial().items():
        print(f"{name}: {path}")
