"""Smoke run of benchmarks.head_cost: every head trains and predicts; the ratios are consistent."""

import pytest

from benchmarks import head_cost


def test_data_is_in_every_heads_support():
    _, y = head_cost.make_data(2_000)
    assert 0 < y.min() and y.max() < 4.0  # inside the spline flow's [0, 4]


@pytest.mark.slow
def test_two_heads_are_timed_against_the_mixture():
    heads = {
        k: head_cost.HEADS[k] for k in (head_cost.REFERENCE, "student_t", "spline_flow (16 bins)")
    }
    times = head_cost.run(rows=600, repeats=1, batch=128, heads=heads)
    result = head_cost.ratios(times)
    assert [row[0] for row in result] == list(heads)
    reference = result[0]
    assert reference[2] == pytest.approx(1.0) and reference[4] == pytest.approx(1.0)
    for _, train, train_ratio, predict, predict_ratio in result:
        assert train > 0 and predict > 0
        assert train_ratio == pytest.approx(train / reference[1])
        assert predict_ratio == pytest.approx(predict / reference[3])
    text = head_cost.table(600, result)
    assert "| spline_flow (16 bins) |" in text
