"""Helpers for tests that run on every Keras backend (imported by test modules)."""

from __future__ import annotations

import keras
import numpy as np


def to_numpy(x):
    return np.asarray(keras.ops.convert_to_numpy(x))


def gradient(fn, params: np.ndarray) -> np.ndarray:
    """d sum(fn(params)) / d params on the current backend, as NumPy."""
    params = np.asarray(params, dtype="float32")
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return np.asarray(jax.grad(lambda p: keras.ops.sum(fn(p)))(params))
    if backend == "torch":
        import torch

        p = torch.tensor(params, requires_grad=True)
        keras.ops.sum(fn(p)).backward()
        return p.grad.numpy()
    import tensorflow as tf

    p = tf.Variable(params)
    with tf.GradientTape() as tape:
        value = tf.reduce_sum(fn(p))
    return tape.gradient(value, p).numpy()


def head_nll_and_gradient(head, y, params):
    """(per-example NLL, its gradient w.r.t. the head's raw inputs), both NumPy."""
    y = np.asarray(y)
    loss = to_numpy(head.nll(y, keras.ops.convert_to_tensor(np.asarray(params, "float32"))))
    grad = gradient(lambda p: head.nll(y, p), params)
    return loss, grad


LEVELS = np.array([1e-12, 1e-6, 0.01, 0.3, 0.5, 0.8, 0.99, 1 - 1e-6])


def check_scalar_family_against_scipy(
    distribution,
    frozen,
    values,
    *,
    levels=LEVELS,
    quantile_rtol=2e-6,
    cdf_atol=2e-6,
    log_prob_rtol=2e-5,
    moments_rtol=1e-5,
    samples=20000,
    seed=0,
):
    """log_prob, cdf, mean, variance, quantile and sample moments against a scipy.stats law.

    `distribution` has batch shape (n,) and `frozen` is the scipy distribution
    with matching parameter arrays of shape (n,); `values` has shape (n,).
    """
    values = np.asarray(values, dtype=np.float64)
    np.testing.assert_allclose(
        to_numpy(distribution.log_prob(values)),
        frozen.logpdf(values),
        rtol=log_prob_rtol,
        atol=1e-5,
    )
    np.testing.assert_allclose(
        to_numpy(distribution.cdf(values)), frozen.cdf(values), atol=cdf_atol
    )
    np.testing.assert_allclose(to_numpy(distribution.mean), frozen.mean(), rtol=moments_rtol)
    np.testing.assert_allclose(
        to_numpy(distribution.variance), frozen.var(), rtol=moments_rtol * 10
    )
    grid = levels.reshape(-1, 1)
    got = to_numpy(distribution.quantile(grid))
    expected = frozen.ppf(grid)
    finite = np.isfinite(expected)
    np.testing.assert_allclose(got[finite], expected[finite], rtol=quantile_rtol, atol=1e-30)
    draws = to_numpy(distribution.sample(samples, seed=seed)).astype(np.float64)
    assert draws.shape == (samples,) + tuple(distribution.batch_shape)
    mean, std = frozen.mean(), frozen.std()
    finite_var = np.isfinite(std)
    standard_error = std / np.sqrt(samples)
    assert np.all(np.abs(draws.mean(axis=0) - mean)[finite_var] < 5 * standard_error[finite_var]), (
        draws.mean(axis=0),
        mean,
    )
    # Kolmogorov-Smirnov distance of the draws to the true CDF, per object.
    u = np.sort(frozen.cdf(draws), axis=0)
    ecdf = np.arange(1, samples + 1)[:, None] / samples
    assert np.max(np.abs(u - ecdf)) < 2.3 / np.sqrt(
        samples
    )  # KS at ~0.004%: many columns, families, backends


def run_parity_suite(backend: str, rootpath) -> None:
    """Runs the tests marked `backends` under `backend` in a fresh pytest process.

    Keras picks its backend once per process. A missing backend package skips
    the run locally and fails it in CI, where the extras are installed.
    """
    import importlib.util
    import os
    import subprocess
    import sys

    import pytest

    if importlib.util.find_spec(backend) is None:
        message = f"{backend} is not installed (pip install -e '.[{backend}]')"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    command = [sys.executable, "-m", "pytest", "-m", "backends", "-q", "-p", "no:cacheprovider",
               "-W", "ignore::DeprecationWarning", str(rootpath / "tests")]  # fmt: skip
    result = subprocess.run(command, env=env, capture_output=True, text=True, cwd=rootpath)
    tail = "\n".join(result.stdout.splitlines()[-30:])
    assert result.returncode == 0, f"{backend} backend run failed:\n{tail}\n{result.stderr[-3000:]}"
    assert " passed" in tail and "no tests ran" not in tail, tail
