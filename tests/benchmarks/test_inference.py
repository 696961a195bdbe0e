"""Smoke run of benchmarks.inference at tiny sizes: structure and sanity, no timings."""

import math

import pytest

from benchmarks import inference


def test_tiny_throughput_run_has_both_paths():
    result = inference.run(rows=2_000, rounds=1, predict_rows=None)
    assert len(result.forward) == len(result.summaries) == 1
    assert all(t > 0 and math.isfinite(t) for t in result.forward + result.summaries)
    section = inference.section(result)
    assert "bare forward pass" in section.body
    assert [t.name for t in section.targets] == ["forward + summaries / forward"]
    assert len(result.breakdown) == 4 and all(v >= 0 for v in result.breakdown.values())
    assert "5 quantiles" in section.body


def test_bimodal_data_has_two_branches():
    _, y = inference.make_data(4_000)
    # The two branches sit about +-1 around a bounded signal: few values near 0.
    assert (abs(y) < 0.1).mean() < 0.1


@pytest.mark.slow
def test_likely_predict_peak_memory_on_a_small_file():
    seconds, peak_gb = inference.predict_peak_memory(5_000)
    assert seconds > 0
    # A Python process with JAX and Keras loaded: more than 100 MB, less than the target.
    assert 0.1 < peak_gb < inference.TARGET_PEAK_GB
