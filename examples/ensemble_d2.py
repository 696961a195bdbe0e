"""The course's deep ensemble on D2: aleatoric and epistemic uncertainty side by side.

Five networks 1 -> 50 -> 50 -> (loc, scale) are trained on D2
(`y = 0.1 x + sin(5 x) + N(0, 0.45 |x|)`, x in [-1, 1]) — not in a Python
loop as in the course, but as ONE Keras model (`likely.models.mlp(...,
ensemble_size=5)`) trained by one `fit`. The predictive is extrapolated to
x in [-2, 2] and its variance split by the law of total variance:

- aleatoric (mean of the members' variances): the noise, which the
  members learn where there is data (compare with the true 0.45 |x|);
- epistemic (variance of the members' means): small where the members
  saw data, growing outside [-1, 1] where they disagree.

Writes `ensemble_d2.png` to the output folder.

Run:
    python examples/ensemble_d2.py [OUTPUT_DIR] [--epochs 300] [--members 5]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import keras
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

import likely


def band(ax: Axes, x, mean, std, color: str, label: str) -> Axes:
    """Mean with 1 and 2 standard-deviation bands."""
    ax.fill_between(x, mean - 2 * std, mean + 2 * std, color=color, alpha=0.18, lw=0)
    ax.fill_between(x, mean - std, mean + std, color=color, alpha=0.3, lw=0, label=label)
    ax.plot(x, mean, color=color, lw=1.8)
    return ax


def training_range(ax: Axes) -> Axes:
    ax.axvspan(-2, -1, color="0.93", zorder=0)
    ax.axvspan(1, 2, color="0.93", zorder=0)
    ax.set_xlim(-2, 2)
    return ax


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="5-member deep ensemble on D2.")
    parser.add_argument("output_dir", nargs="?", default="likely-output/ensemble-d2")
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--members", type=int, default=5)
    parser.add_argument("--n", type=int, default=100, help="training points (the course: 100)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)

    x, y = likely.datasets.make_d2(n=args.n, seed=args.seed)
    model = likely.models.mlp(1, hidden=(50, 50), ensemble_size=args.members, seed=args.seed)
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss=likely.losses.nll)
    model.fit(x, y, epochs=args.epochs, batch_size=32, verbose=0)

    grid = np.linspace(-2, 2, 401)
    p = likely.predict_distribution(model, grid[:, None])
    aleatoric, epistemic = np.sqrt(p.aleatoric_variance), np.sqrt(p.epistemic_variance)
    member_means = np.asarray(p.distribution.loc)[..., 0]  # (n, M): one component per member
    truth = 0.1 * grid + np.sin(5 * grid)
    inside, outside = np.abs(grid) < 0.8, np.abs(grid) >= 1.5
    x_test, y_test = likely.datasets.make_d2(n=2000, seed=args.seed + 1)
    test_nll = -likely.predict_distribution(model, x_test).log_prob(y_test).mean()
    print(
        f"test NLL {test_nll:.3f}; mean epistemic sd: |x| < 0.8 {epistemic[inside].mean():.3f}, "
        f"1.5 <= |x| <= 2 {epistemic[outside].mean():.3f} "
        f"(ratio {epistemic[outside].mean() / epistemic[inside].mean():.1f})"
    )

    figure = Figure(figsize=(15, 4.6), layout="constrained")
    left, middle, right = figure.subplots(1, 3, sharex=True)
    for ax in (left, middle):
        training_range(ax)
        ax.scatter(x[:, 0], y, s=7, color="0.45", zorder=3, label="training data")
        ax.plot(grid, truth, color="k", lw=0.8, ls="--", label="true mean")
        ax.set(xlabel="x", ylabel="y", ylim=(-4, 4))
    band(left, grid, p.mean, aleatoric, "C0", "± 1, 2 aleatoric sd")
    true_sd = likely.datasets.d2_noise_std(grid)
    left.plot(grid, truth + 2 * true_sd, color="C0", lw=0.8, ls=":", label="true ± 2 noise sd")
    left.plot(grid, truth - 2 * true_sd, color="C0", lw=0.8, ls=":")
    left.set_title("Aleatoric: the noise in the data")
    band(middle, grid, p.mean, epistemic, "C3", "± 1, 2 epistemic sd")
    for m in range(member_means.shape[1]):
        middle.plot(grid, member_means[:, m], color="C3", lw=0.7, alpha=0.6,
                    label="member means" if m == 0 else None)  # fmt: skip
    middle.set_title(f"Epistemic: disagreement of {args.members} members")
    training_range(right)
    right.plot(grid, aleatoric, color="C0", label="aleatoric sd")
    right.plot(grid, epistemic, color="C3", label="epistemic sd")
    right.plot(grid, p.stddev, color="k", lw=1.2, label="total sd")
    right.plot(grid, true_sd, color="C0", ls=":", label="true noise sd 0.45|x|")
    right.set(xlabel="x", ylabel="standard deviation", ylim=(0, None),
              title="The split (shaded: outside the training range)")  # fmt: skip
    for ax in (left, middle, right):
        ax.legend(loc="upper left", fontsize=7)
    path = out / "ensemble_d2.png"
    figure.savefig(path, dpi=110)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
