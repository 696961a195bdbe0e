"""The DC2 pipeline with non-detections in both conventions, missing bands and error draws."""

import os
import subprocess
import sys

import keras
import numpy as np
import pandas as pd
import pytest

from likely.datasets import dc2_path, read_dc2_hdf5
from likely.demo import demo_config
from likely.errors import ConfigError, DataError
from likely.experiment import evaluate, run_prediction, train
from likely.experiment._pipeline import load_table

BANDS = "ugrizy"
MAGS = [f"mag_{b}_lsst" for b in BANDS]
ERRS = [f"mag_err_{b}_lsst" for b in BANDS]


def small_config(**photometry):
    return demo_config(
        data={
            "test": None,
            "photometry": {**demo_config().data.photometry.model_dump(), **photometry},
        },
        model={"hidden": [32], "num_components": 3, "ensemble_size": 1},
        training={"epochs": 2},
        tracking={"enabled": False},
    )


def rubin(frame):
    """The 99 non-detections of a DC2 table as NaN magnitude and NaN error."""
    frame = frame.copy()
    for mag, err in zip(MAGS, ERRS, strict=True):
        missing = frame[mag] >= 99.0
        frame.loc[missing, [mag, err]] = np.nan
    return frame


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dc2_tables")
    sentinel = read_dc2_hdf5(dc2_path("validation"))
    sentinel.to_parquet(folder / "sentinel.parquet")
    nan = rubin(sentinel)
    assert nan[MAGS].isna().sum().sum() == (sentinel[MAGS] >= 99).sum().sum() > 1000
    nan.to_parquet(folder / "nan.parquet")
    rows = np.sort(np.random.default_rng(0).choice(len(nan), 3000, replace=False))
    sentinel.iloc[rows].to_parquet(folder / "sentinel_3k.parquet")
    nan.iloc[rows].to_parquet(folder / "nan_3k.parquet")
    return folder


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return train(small_config(), tmp_path_factory.mktemp("dc2_model"), progress=False).model


def test_nan_non_detections_predict_as_the_99_convention(model, tables, tmp_path):
    outputs = {}
    for name in ("sentinel", "nan"):
        rows = run_prediction(
            model,
            tables / f"{name}.parquet",
            tmp_path / f"{name}.parquet",
            chunk_rows=8000,
            progress=False,
        )
        assert rows == 20449
        outputs[name] = pd.read_parquet(tmp_path / f"{name}.parquet")
    pd.testing.assert_frame_equal(outputs["nan"], outputs["sentinel"], check_exact=True)
    assert outputs["nan"][["mean", "std", "q0.5"]].notna().all().all()
    reports = [
        evaluate(model, str(tables / f"{name}_3k.parquet")).report for name in ("sentinel", "nan")
    ]
    assert reports[0] == reports[1]


def test_a_band_missing_entirely_is_refused(model, tables, tmp_path):
    frame = pd.read_parquet(tables / "nan.parquet")
    frame.drop(columns=["mag_u_lsst"]).to_parquet(tmp_path / "no_u.parquet")
    with pytest.raises(DataError, match=r"column 'mag_u_lsst'"):  # the reader names it
        run_prediction(model, tmp_path / "no_u.parquet", tmp_path / "out.parquet", progress=False)
    frame.assign(mag_u_lsst=np.nan).to_parquet(tmp_path / "nan_u.parquet")
    with pytest.raises(DataError, match=r"mag_u_lsst.*NaN in every row.*write them as 99"):
        run_prediction(model, tmp_path / "nan_u.parquet", tmp_path / "out.parquet", progress=False)
    assert not (tmp_path / "out.parquet").exists()


def test_non_detection_in_a_band_without_limit_is_refused_or_dropped(model, tables):
    frame = pd.read_parquet(tables / "nan.parquet").iloc[:50]
    frame.loc[[3, 7], "mag_r_lsst"] = np.nan  # r had no non-detection in training
    frame.loc[9, "mag_z_lsst"] = 99.0
    from likely.experiment import find_feature_pipeline

    features = find_feature_pipeline(model)
    with pytest.raises(DataError, match=r"'mag_r_lsst' 2 rows, 'mag_z_lsst' 1 row.*limits"):
        features.check_table(frame)
    checked, dropped = features.check_table(frame, policy="drop")
    assert dropped == 3 and list(checked.index) == [i for i in range(50) if i not in (3, 7, 9)]
    # An infinite magnitude, or a NaN error of a detected magnitude, is invalid.
    bad = pd.read_parquet(tables / "nan.parquet").iloc[:20]
    bad.loc[2, "mag_i_lsst"] = np.inf
    bad.loc[4, "mag_err_r_lsst"] = np.nan
    with pytest.raises(DataError, match=r"'mag_i_lsst' 1 row, 'mag_err_r_lsst' 1 row"):
        features.check_table(bad)


def test_training_on_nan_non_detections_needs_limits(tables, tmp_path):
    config = small_config()
    config.data.train = str(tables / "nan.parquet")
    with pytest.raises(ConfigError, match=r"mag_u_lsst.*data.photometry.limits"):
        train(config, tmp_path, progress=False)
    limits = {"u": 26.620825, "g": 28.322212}
    with_limits = small_config(limits=limits)
    with_limits.data.train = str(tables / "nan.parquet")
    frame = load_table(with_limits.data, with_limits.data.train)
    sentinel = small_config(limits=limits)
    sentinel.data.train = str(tables / "sentinel.parquet")
    reference = load_table(sentinel.data, sentinel.data.train)
    from likely.experiment._pipeline import make_feature_pipeline

    a = make_feature_pipeline(with_limits.data, frame)
    b = make_feature_pipeline(sentinel.data, reference)
    x_nan = frame[a.input_columns].to_numpy("float32")
    x_99 = reference[b.input_columns].to_numpy("float32")
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(a.transform(x_nan)),
        keras.ops.convert_to_numpy(b.transform(x_99)),
    )


@pytest.mark.slow
def test_error_sampling_model_predicts_a_seeded_mixture_in_a_fresh_process(tables, tmp_path):
    import likely

    result = train(small_config(convolve_errors=True, error_samples=4), tmp_path, progress=False)
    model = result.model
    assert likely.models.is_stochastic(model)
    report = evaluate(model, str(tables / "nan_3k.parquet"), kind="photoz")
    assert report.predictive.num_members == 4
    assert (
        report.report == evaluate(model, str(tables / "sentinel_3k.parquet"), kind="photoz").report
    )
    first = tmp_path / "a.parquet"
    run_prediction(model, tables / "nan_3k.parquet", first, chunk_rows=1000, progress=False)
    code = (
        "import pandas as pd, keras, likely\n"
        "from likely.experiment import run_prediction\n"
        f"m = keras.saving.load_model({str(tmp_path / 'model.keras')!r})\n"
        f"run_prediction(m, {str(tables / 'nan_3k.parquet')!r}, {str(tmp_path / 'b.parquet')!r},"
        " chunk_rows=1000, progress=False)\n"
    )
    env = {**os.environ, "KERAS_BACKEND": keras.backend.backend()}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
    pd.testing.assert_frame_equal(pd.read_parquet(first), pd.read_parquet(tmp_path / "b.parquet"))
