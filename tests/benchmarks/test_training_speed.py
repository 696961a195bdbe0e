"""Smoke run of benchmarks.training_speed at a tiny size: structure and sanity, no timings."""

import math

import numpy as np
import pytest

from benchmarks import course_stack, training_speed


def test_tiny_run_reports_every_setup_and_the_targets(monkeypatch, tmp_path):
    monkeypatch.setenv("LIKELY_COURSE_VENV", str(tmp_path / "absent"))
    result = training_speed.run(rows=1_000, epochs=2, course=True)
    assert set(result.epoch_times) == set(training_speed.SETUPS)
    for times in result.epoch_times.values():
        assert len(times) == 2 and all(t > 0 and math.isfinite(t) for t in times)
    assert result.ratio("jax") == pytest.approx(1.0)
    assert result.course is None and "--setup" in result.course_reason
    section = training_speed.section(result)
    assert "| hand-written JAX + optax (jitted step) |" in section.body
    assert "| hand-written JAX + optax (epoch in one lax.scan) |" in section.body
    targets = {t.name: t for t in section.targets}
    assert targets["course stack / likely default path"].met is None  # not measured
    assert "likely default path / JAX epoch in one lax.scan" in targets


@pytest.mark.parametrize("make_epoch", [training_speed.jax_epoch, training_speed.jax_scan_epoch])
def test_jax_reference_loops_learn(make_epoch):
    x, y = training_speed.make_data(2_000)
    epoch = make_epoch(x, y)
    losses = [epoch() for _ in range(6)]
    # Gaussian NLL of the raw target under N(0, 1) is about 1.2; training must beat it.
    baseline = float(np.mean(0.5 * y**2 + 0.5 * np.log(2 * np.pi)))
    assert losses[-1] < losses[0] and losses[-1] < baseline


def test_scan_epoch_takes_the_same_steps_as_the_jitted_loop():
    # Same data, seed and batches (the same permutation key): the same parameters.
    x, y = training_speed.make_data(1_000)
    step_loop, scan_loop = training_speed.jax_epoch(x, y), training_speed.jax_scan_epoch(x, y)
    for _ in range(2):
        assert scan_loop() == pytest.approx(step_loop(), rel=1e-4)


def test_course_stack_skips_with_a_reason_without_its_venv(monkeypatch, tmp_path):
    monkeypatch.setenv("LIKELY_COURSE_VENV", str(tmp_path / "absent"))
    result, reason = course_stack.run_if_available(rows=10, epochs=1)
    assert result is None
    assert "python -m benchmarks.course_stack --setup" in reason
