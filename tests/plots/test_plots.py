"""Every plot renders to PNG, draws the numbers it should, and leaves global state alone."""

import matplotlib
import numpy as np
import pytest
from matplotlib.axes import Axes
from scipy import stats

import likely
from likely import plots
from likely.distributions import MixtureNormal, Normal


@pytest.fixture(autouse=True)
def untouched_global_state():
    """No plot may change rcParams or open pyplot figures."""
    import matplotlib.pyplot as plt

    before = dict(matplotlib.rcParams)
    figures = plt.get_fignums()
    yield
    assert dict(matplotlib.rcParams) == before
    assert plt.get_fignums() == figures


def save_png(ax_or_fig, path):
    figure = getattr(ax_or_fig, "figure", ax_or_fig)
    figure.savefig(path, dpi=60)
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 2_000
    return path


@pytest.fixture(scope="module")
def toy():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, 300)
    mu, sigma = np.sin(3 * x), 0.05 + 0.3 * np.abs(x)
    y = mu + sigma * rng.normal(size=300)
    return x, y, likely.Predictive(Normal(mu.astype(np.float32), sigma.astype(np.float32)))


@pytest.fixture(scope="module")
def photoz():
    rng = np.random.default_rng(1)
    n = 4_000
    z = rng.uniform(0.05, 2.8, n)
    zp = z + 0.03 * (1 + z) * rng.normal(size=n)
    zp[:200] = rng.uniform(0, 3, 200)  # 5% catastrophic failures
    logits = np.log(np.stack([np.full(n, 0.8), np.full(n, 0.2)], 1))
    loc = np.stack([zp, zp + 0.8], 1)
    scale = np.stack([0.03 * (1 + zp), np.full(n, 0.1)], 1)
    d = MixtureNormal(*(a.astype(np.float32) for a in (logits, loc, scale)))
    return z, zp, likely.Predictive(d)


def test_plot_history(tmp_path):
    history = {"loss": [3.0, 2.0, 1.5, 1.4], "val_loss": [3.1, 2.5, 2.2, 2.3], "mae": [1, 1, 1, 1]}
    ax = plots.plot_history(history)
    assert isinstance(ax, Axes)
    lines = ax.get_lines()
    assert [line.get_label() for line in lines] == ["loss", "val_loss"]
    np.testing.assert_array_equal(lines[1].get_xdata(), [1, 2, 3, 4])
    np.testing.assert_array_equal(lines[1].get_ydata(), history["val_loss"])

    class FakeHistory:  # what keras' model.fit returns: an object with .history
        history = {"loss": [1.0, 0.5]}

    assert len(plots.plot_history(FakeHistory(), log_scale=True).get_lines()) == 1
    with pytest.raises(ValueError, match="mse"):
        plots.plot_history(history, keys=["mse"])
    save_png(ax, tmp_path / "history.png")


def test_plot_prediction_bands(toy, tmp_path):
    x, y, p = toy
    ax = plots.plot_prediction_bands(x, p, y, n_samples=3, seed=1)
    order = np.argsort(x)
    mean_line = next(line for line in ax.get_lines() if line.get_label() == "predictive mean")
    np.testing.assert_allclose(mean_line.get_ydata(), p.mean[order], rtol=1e-6)
    two_sigma = ax.collections[0].get_paths()[0].vertices[:, 1]
    top = p.mean[order] + 2 * p.stddev[order]
    assert two_sigma.max() == pytest.approx(top.max(), rel=1e-5)
    draws = ax.collections[2].get_offsets()
    assert draws.shape == (3 * x.size, 2)
    save_png(ax, tmp_path / "bands.png")

    ax = plots.plot_prediction_bands(x[:, None], p, band="interval")
    upper95 = ax.collections[0].get_paths()[0].vertices[:, 1].max()
    hi = stats.norm.ppf(0.975, p.mean, p.stddev).max()
    assert upper95 == pytest.approx(hi, rel=1e-4)
    with pytest.raises(ValueError, match="1-D input"):
        plots.plot_prediction_bands(np.zeros((300, 2)), p)


def test_plot_mdn_components(tmp_path):
    x = np.linspace(-1, 1, 100)
    logits, loc = np.stack([5 * x, -5 * x], 1), np.stack([x, 1 - x], 1)
    d = MixtureNormal(logits, loc, np.full((100, 2), 0.1))
    ax = plots.plot_mdn_components(x, d, y=loc[:, 0])
    first = ax.collections[0]
    np.testing.assert_allclose(first.get_segments()[0][:, 1], loc[:2, 0], rtol=1e-6)
    widths = first.get_linewidths()
    assert widths[-1] > widths[0]  # component 1 dominates at large x
    save_png(ax, tmp_path / "components.png")


def test_plot_pit_histogram(toy, tmp_path):
    x, y, p = toy
    ax = plots.plot_pit_histogram(y, p, bins=10)
    heights = [bar.get_height() for bar in ax.containers[0]]
    expected, _ = np.histogram(
        stats.norm.cdf(y, p.mean, p.stddev), bins=10, range=(0, 1), density=True
    )
    np.testing.assert_allclose(heights, expected, atol=1e-9)
    (patch,) = [p for p in ax.patches if p.get_label() == "95% band if calibrated"]
    band = patch.get_patch_transform().transform(patch.get_path().vertices)[:, 1]
    low, high = stats.binom.ppf([0.025, 0.975], 300, 0.1) / 30
    assert band.min() == pytest.approx(low) and band.max() == pytest.approx(high)
    # Readable: the band is drawn over the bars, and the bars' outline over the band.
    (outline,) = [p for p in ax.patches if type(p).__name__ == "StepPatch"]
    np.testing.assert_allclose(outline.get_data().values, expected, atol=1e-9)
    assert ax.containers[0][0].get_zorder() < patch.get_zorder() < outline.get_zorder()
    save_png(ax, tmp_path / "pit.png")


def test_plot_reliability_on_shared_axes(toy, tmp_path):
    x, y, p = toy
    ax = plots.plot_reliability(y, p, label="true")
    wide = likely.Predictive(Normal(p.mean, 2 * p.stddev))
    same = plots.plot_reliability(y, wide, label="wide", ax=ax)
    assert same is ax
    curves = [line for line in ax.get_lines() if line.get_label() != "ideal"]
    assert len(curves) == 2 and sum(line.get_label() == "ideal" for line in ax.get_lines()) == 1
    nominal, observed = likely.metrics.calibration_curve(y, wide, kind="interval")
    np.testing.assert_allclose(curves[1].get_ydata(), observed)
    assert np.mean(curves[1].get_ydata() - nominal) > 0.1  # too wide: above the diagonal
    save_png(ax, tmp_path / "reliability.png")


def test_plot_zz(photoz, tmp_path):
    z, zp, p = photoz
    ax = plots.plot_zz(z, p)
    hexes = ax.collections[0]
    mode = likely.metrics.point_estimate(p)
    low, top = ax.get_xlim()
    inside = np.sum((z >= low) & (z <= top) & (mode >= low) & (mode <= top))
    # Every visible object is in a cell (hexbin's edge cells also take points just outside).
    assert inside <= hexes.get_array().sum() <= z.size
    assert inside > 0.99 * z.size
    labelled = {line.get_label(): line for line in ax.get_lines()}
    rail = likely.metrics.outlier_threshold(z, mode)
    line = labelled[f"RAIL outliers: |ez| > {rail:.3f}"]
    xs, ys = line.get_xdata(), line.get_ydata()
    np.testing.assert_allclose(ys, xs + rail * (1 + xs))
    line = labelled["catastrophic: |ez| > 0.15"]
    np.testing.assert_allclose(line.get_ydata(), line.get_xdata() * 1.15 + 0.15)
    assert len(ax.figure.axes) == 2  # the colour bar of a standalone figure
    save_png(ax, tmp_path / "zz.png")


def test_plot_pdf_grid(photoz, tmp_path):
    z, _, p = photoz
    axes = plots.plot_pdf_grid(z, p, count=7, ncols=3)
    assert axes.shape == (3, 3)
    assert sum(ax.axison for ax in axes.flat) == 7
    first = axes[0, 0]
    index = int(first.get_title().split()[-1])
    curve = first.get_lines()[0]
    np.testing.assert_allclose(curve.get_ydata(), p.pdf_grid(curve.get_xdata())[index], rtol=1e-5)
    truth = first.get_lines()[1]
    assert truth.get_xdata()[0] == pytest.approx(z[index])
    save_png(axes.flat[0].figure, tmp_path / "pdfs.png")

    recalibrated = likely.calibration.IsotonicRecalibrator().fit(p, z).transform(p)
    axes = plots.plot_pdf_grid(z, recalibrated, indices=[3, 5], grid=np.linspace(0, 3, 301))
    np.testing.assert_allclose(
        axes[0, 1].get_lines()[0].get_ydata(),
        recalibrated.pdf_grid(np.linspace(0, 3, 301))[5],
        rtol=1e-10,
    )
    with pytest.raises(ValueError, match="indices"):
        plots.plot_pdf_grid(z, p, indices=[z.size])


def test_plot_shift_score(tmp_path):
    rng = np.random.default_rng(3)
    score = rng.lognormal(-0.5, 0.6, 4000)
    error = 0.01 * score * rng.lognormal(0.0, 0.5, 4000)
    ax = plots.plot_shift_score(score, error, threshold=1.0, bins=4)
    save_png(ax, tmp_path / "shift.png")
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    median, upper, threshold = ax.get_lines()
    # The running median is that of each quarter of the objects sorted by score.
    quarters = np.array_split(np.argsort(score), 4)
    np.testing.assert_allclose(median.get_xdata(), [np.median(score[q]) for q in quarters])
    np.testing.assert_allclose(median.get_ydata(), [np.median(error[q]) for q in quarters])
    np.testing.assert_allclose(upper.get_ydata(), [np.percentile(error[q], 84) for q in quarters])
    assert threshold.get_xdata()[0] == 1.0
    outside = np.mean(score > 1)
    assert f"{outside:.1%} outside" in ax.get_legend().get_texts()[2].get_text()
    with pytest.raises(ValueError, match="same length"):
        plots.plot_shift_score(score, error[:10])
    with pytest.raises(ValueError, match="positive"):
        plots.plot_shift_score(-score, error)
