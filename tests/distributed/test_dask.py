"""Dask catalog prediction: identical to the local engine, survives a killed worker, resumes."""

import os
import signal

import numpy as np
import pandas as pd
import pytest

from likely import io
from likely.distributed import predict_catalog
from likely.distributed._dask import _model_load_counts
from likely.experiment import FeaturePipeline, predict_table
from likely.models import mlp

distributed = pytest.importorskip("distributed")

PARTITIONS = 6
ROWS = 2000


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    """A 2-column catalog in PARTITIONS Parquet files and an untrained mixture model."""
    folder = tmp_path_factory.mktemp("catalog")
    rng = np.random.default_rng(0)
    for i in range(PARTITIONS):
        n = ROWS  # one shape: one compilation per process
        frame = pd.DataFrame(
            {
                "object_id": np.arange(n) + 100_000 * i,
                "a": rng.normal(size=n),
                "b": rng.uniform(-1, 1, size=n),
            }
        )
        frame.to_parquet(folder / f"part-{i:02d}.parquet")
    features = FeaturePipeline(["a", "b"], id_column="object_id")
    model = mlp(2, hidden=(16,), head="mixture", num_components=3, normalizer=features, seed=0)
    model.save(folder / "model.keras")
    return folder


@pytest.fixture(scope="module")
def reference(catalog, tmp_path_factory):
    """The single-machine engine's output, one file per partition."""
    import keras

    model = keras.saving.load_model(catalog / "model.keras")
    out = tmp_path_factory.mktemp("reference")
    for path in sorted(catalog.glob("part-*.parquet")):
        predict_table(model, path, out / path.name, ["a", "b"], id_column="object_id")
    return out


@pytest.fixture(scope="module")
def client():
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            silence_logs=50,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


def assert_same_tables(folder, reference):
    names = sorted(p.name for p in reference.glob("*.parquet"))
    assert sorted(p.name for p in folder.glob("*.parquet")) == names
    assert not list(folder.glob(".*partial*"))
    for name in names:
        got, expected = io.read_table(folder / name), io.read_table(reference / name)
        assert list(got.columns) == list(expected.columns)
        assert len(got) == len(expected) > 0
        np.testing.assert_array_equal(got["object_id"], expected["object_id"])
        np.testing.assert_allclose(
            got.drop(columns="object_id").to_numpy(),
            expected.drop(columns="object_id").to_numpy(),
            rtol=1e-6,
            atol=1e-6,
        )


@pytest.mark.slow
def test_local_cluster_matches_local_engine(catalog, reference, tmp_path):
    seen = []
    result = predict_catalog(
        catalog / "model.keras",
        str(catalog / "part-*.parquet"),
        tmp_path / "out",
        workers=2,
        on_partition=lambda path, rows: seen.append((path.name, rows)),
    )
    assert_same_tables(tmp_path / "out", reference)
    total = ROWS * PARTITIONS
    assert result.rows_written == total == sum(rows for _, rows in seen)
    assert sorted(name for name, _ in seen) == [p.name for p in result.outputs]
    assert result.skipped == []


def _kill_worker_at(partition, marker):
    """On a worker: the first task that starts on `partition` kills its own worker process."""
    from likely.distributed import _dask

    predict = _dask._predict_partition

    def predict_or_die(model, source, target, options, stamp=None):
        if os.path.basename(target) == partition and not os.path.exists(marker):
            with open(marker, "w") as f:
                f.write(str(os.getpid()))
            os.kill(os.getpid(), signal.SIGKILL)
        return predict(model, source, target, options, stamp)

    _dask._predict_partition = predict_or_die


@pytest.mark.slow
def test_killed_worker_job_completes(catalog, reference, client, tmp_path):
    # Deterministic: the worker that starts partition 3 dies at that moment,
    # whatever the speed of the machine; its tasks are rerun elsewhere.
    marker = tmp_path / "killed-pid"
    pids_before = set(client.run(os.getpid).values())
    client.run(_kill_worker_at, "part-03.parquet", str(marker))
    result = predict_catalog(
        catalog / "model.keras",
        [str(p) for p in sorted(catalog.glob("part-*.parquet"))],
        tmp_path / "out",
        scheduler=client,
    )
    killed = int(marker.read_text())
    assert killed in pids_before
    assert len(result.predicted) == PARTITIONS
    assert_same_tables(tmp_path / "out", reference)
    client.wait_for_workers(2, timeout=60)  # the nanny restarted it
    assert killed not in set(client.run(os.getpid).values())


def test_resume_skips_complete_and_redoes_partial(catalog, reference, client, tmp_path):
    out = tmp_path / "out"
    inputs = str(catalog / "part-*.parquet")
    first = predict_catalog(catalog / "model.keras", inputs, out, scheduler=client)
    assert len(first.predicted) == PARTITIONS
    # An interrupted run: one output never renamed (only its temporary file is
    # there), one final file cut short (as if copied partially).
    missing, truncated = out / "part-01.parquet", out / "part-04.parquet"
    missing.rename(out / ".part-01.parquet.partial-12345")
    io.read_table(truncated).head(10).to_parquet(truncated)
    untouched = {p: p.stat().st_mtime_ns for p in out.glob("*.parquet") if p != truncated}

    second = predict_catalog(catalog / "model.keras", inputs, out, scheduler=client)
    assert second.predicted == [missing, truncated]
    assert sorted(second.skipped) == sorted(untouched)
    assert second.rows_written == 2 * ROWS
    assert {p: p.stat().st_mtime_ns for p in untouched} == untouched
    assert_same_tables(out, reference)

    third = predict_catalog(catalog / "model.keras", inputs, out, scheduler=client, resume=False)
    assert len(third.predicted) == PARTITIONS and third.skipped == []
    # Each worker process loaded the model once for all these tasks.
    counts = client.run(_model_load_counts)
    loads = [c.get(str((catalog / "model.keras").resolve()), 0) for c in counts.values()]
    assert sum(loads) >= 1 and max(loads) == 1, counts


def test_cli_dask_engine(catalog, reference, client, tmp_path):
    from click.testing import CliRunner

    from likely.cli import main

    args = ["predict", str(catalog / "model.keras"), str(catalog / "part-*.parquet")]
    args += ["-o", str(tmp_path / "out"), "--engine", "dask", "--scheduler"]
    result = CliRunner().invoke(main, [*args, client.scheduler.address])
    assert result.exit_code == 0, result.output
    assert f"wrote {ROWS * PARTITIONS} rows in {PARTITIONS} partitions" in result.output
    assert_same_tables(tmp_path / "out", reference)
    bad = CliRunner().invoke(main, ["predict", *args[1:4], "out.parquet", "--workers", "2"])
    assert bad.exit_code == 2 and "--engine dask" in bad.output


def test_bad_arguments(catalog, tmp_path):
    from likely.errors import InputError

    parts = str(catalog / "part-*.parquet")

    with pytest.raises(InputError, match="no input file matches"):
        predict_catalog(catalog / "model.keras", str(tmp_path / "*.parquet"), tmp_path)
    with pytest.raises(ValueError, match="workers"):
        predict_catalog(catalog / "model.keras", parts, tmp_path, workers=0)
    with pytest.raises(InputError, match="does not exist"):
        predict_catalog(tmp_path / "nope.keras", parts, tmp_path)
    with pytest.raises(InputError, match="unique"):
        predict_catalog(
            catalog / "model.keras",
            [catalog / "part-00.parquet", catalog / "part-00.parquet"],
            tmp_path,
        )


def test_worker_cache_reloads_a_model_saved_again(catalog, tmp_path):
    from likely.distributed._dask import _model_stamp, _worker_model

    path = tmp_path / "model.keras"
    path.write_bytes((catalog / "model.keras").read_bytes())
    before = _model_load_counts().get(str(path), 0)
    first = _worker_model(str(path), _model_stamp(str(path)))
    assert _worker_model(str(path), _model_stamp(str(path))) is first
    os.utime(path, ns=(0, 0))  # as if written again
    assert _worker_model(str(path), _model_stamp(str(path))) is not first
    assert _model_load_counts()[str(path)] == before + 2
