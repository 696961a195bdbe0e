"""Smoke run of benchmarks.predict_throughput at a tiny size: structure and sanity, no timings."""

import math

import pytest

from benchmarks import predict_throughput


@pytest.mark.slow
def test_tiny_run_measures_every_path():
    result = predict_throughput.run(rows=3_000, rounds=1)
    assert [run.format for run in result.runs] == ["parquet", "qp"]
    assert all(t > 0 and math.isfinite(t) for t in result.in_memory)
    assert result.in_memory_shift_rate < min(result.in_memory_rate, result.shift_rate)
    parquet, qp = result.runs
    # each output against the in-memory rate of its own work (the table holds the shift score)
    assert result.reference_rate(parquet) == result.in_memory_shift_rate
    assert result.reference_rate(qp) == result.in_memory_rate
    assert all(run.seconds > 0 and 0.1 < run.peak_gb < 1.5 for run in result.runs)
    section = predict_throughput.section(result)
    assert "`likely predict`, qp out" in section.body
    assert [t.name for t in section.targets][::2] == [
        "`likely predict` (parquet) / in-memory rows/s of the same work",
        "`likely predict` (qp) / in-memory rows/s of the same work",
    ]
