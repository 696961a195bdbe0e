"""Data-parallel training over 2 (forced) CPU devices through keras.distribution.DataParallel."""

import json
import os
import subprocess
import sys
import textwrap

import keras
import pytest

from likely.distributed import data_parallel
from likely.errors import ConfigError

# Runs in a fresh interpreter: XLA_FLAGS must be set before jax is imported.
SCRIPT = textwrap.dedent(
    """
    import json, pathlib, sys
    import numpy as np, pandas as pd, keras
    from likely.distributed import data_parallel
    from likely.distributed._parallel import distribution_scope
    from likely.errors import ConfigError
    from likely.experiment import parse_config
    from likely.experiment._pipeline import train

    folder = pathlib.Path(sys.argv[1])
    rng = np.random.default_rng(0)
    for name, n in [("train", 400), ("test", 50)]:
        x1, x2 = rng.normal(size=(2, n))
        y = x1 + 0.5 * x2**2 + rng.normal(size=n) * (0.2 + 0.2 * np.abs(x1))
        pd.DataFrame({"x1": x1, "x2": x2, "y": y}).to_parquet(folder / f"{name}.parquet")

    def run(devices):
        config = parse_config({
            "data": {"train": str(folder / "train.parquet"), "test": str(folder / "test.parquet"),
                     "features": ["x1", "x2"], "target": "y", "validation_fraction": 0.2},
            "model": {"hidden": [16], "head": "mixture", "num_components": 2, "ensemble_size": 1},
            "training": {"epochs": 4, "batch_size": 64, "devices": devices},
            "tracking": {"enabled": False},
        })
        result = train(config, folder / f"run-{devices}", progress=False)
        kernel = result.model.trainable_variables[0].value
        return result.history, len(kernel.sharding.device_set), result.report

    distribution = data_parallel("all")
    layout = distribution.get_data_layout((64, 3))
    batch = keras.distribution.distribute_tensor(np.zeros((64, 3), "float32"), layout)
    try:
        with distribution_scope(2, batch_size=63):
            pass
        batch_error = None
    except ConfigError as error:
        batch_error = str(error)
    two, two_devices, two_report = run("all")
    one, one_devices, one_report = run(None)
    print(json.dumps({
        "devices": [str(d) for d in distribution.device_mesh.devices.ravel()],
        "mesh_axes": list(distribution.device_mesh.axis_names),
        "shards": [list(s.data.shape) for s in batch.addressable_shards],
        "shard_devices": sorted(str(s.device) for s in batch.addressable_shards),
        "batch_error": batch_error,
        "two": two, "one": one, "two_devices": two_devices, "one_devices": one_devices,
        "two_report": two_report, "one_report": one_report,
    }))
    """
)


@pytest.fixture(scope="module")
def two_device_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("data_parallel")
    env = {
        **os.environ,
        "XLA_FLAGS": "--xla_force_host_platform_device_count=2",
        "KERAS_BACKEND": "jax",
        "TF_CPP_MIN_LOG_LEVEL": "3",
    }
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(folder)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_batch_is_split_evenly_between_two_devices(two_device_run):
    assert len(two_device_run["devices"]) == 2
    assert two_device_run["mesh_axes"] == ["batch"]
    assert two_device_run["shards"] == [[32, 3], [32, 3]]
    assert len(set(two_device_run["shard_devices"])) == 2
    assert "multiple of the number of devices (2)" in two_device_run["batch_error"]


@pytest.mark.slow
def test_two_devices_give_the_one_device_losses(two_device_run):
    two, one = two_device_run["two"], two_device_run["one"]
    assert two_device_run["two_devices"] == 2 and two_device_run["one_devices"] == 1
    assert len(two["loss"]) == len(one["loss"]) == 4
    assert two["loss"][0] != pytest.approx(two["loss"][-1], abs=1e-3)  # it did train
    assert two["loss"] == pytest.approx(one["loss"], rel=1e-4, abs=1e-5)
    assert two["val_loss"] == pytest.approx(one["val_loss"], rel=1e-4, abs=1e-5)
    for name, value in two_device_run["one_report"].items():  # test-set scores
        assert two_device_run["two_report"][name] == pytest.approx(value, rel=1e-3, abs=1e-5)


@pytest.mark.skipif(keras.backend.backend() != "jax", reason="device list of the jax backend")
def test_data_parallel_arguments(monkeypatch):
    assert data_parallel(None) is None
    available = len(keras.distribution.list_devices())
    with pytest.raises(ConfigError, match="device"):
        data_parallel(available + 1)
    with pytest.raises(ConfigError, match="positive integer"):
        data_parallel(0)
    with pytest.raises(ConfigError, match="positive integer"):
        data_parallel("two")
    monkeypatch.setattr(keras.backend, "backend", lambda: "torch")
    with pytest.raises(ConfigError, match="jax backend"):
        data_parallel("all")
