from importlib import resources

import pytest
import yaml

from likely.errors import ConfigError
from likely.experiment import Config, load_config, parse_config

MINIMAL = {"data": {"train": "t.csv", "features": ["x"], "target": "y"}}


def test_example_config_is_valid_and_complete():
    text = (resources.files("likely.experiment") / "dc2_photoz.yaml").read_text()
    config = parse_config(yaml.safe_load(text))
    assert config.data.photometry is not None and config.data.photometry.bands[0] == "u"
    # The example writes every field, so it documents the whole schema.
    written = yaml.safe_load(text)
    for section, fields in Config.model_validate(MINIMAL).model_dump().items():
        if section == "data":
            continue
        assert set(written[section]) == set(fields), section


def test_defaults_fill_missing_sections():
    config = parse_config(MINIMAL)
    assert config.model.head == "mixture"
    assert config.training.backend is None  # KERAS_BACKEND, else jax
    assert config.tracking.enabled is True


@pytest.mark.parametrize(
    ("patch", "fragments"),
    [
        ({"model": {"head": "gauss"}}, ["model.head", "'student_t'", "'gauss'"]),
        ({"model": {"hidden": [64, 0]}}, ["model.hidden", "[64, 0]"]),
        ({"training": {"learning_rate": -1}}, ["training.learning_rate", "-1"]),
        ({"training": {"epochs": "many"}}, ["training.epochs", "'many'"]),
        ({"model": {"hiden": [1]}}, ["model.hiden", "unknown field"]),
        ({"evaluation": {"quantiles": [0.5, 1.5]}}, ["evaluation.quantiles", "(0, 1)"]),
        ({"data": {"train": "t.csv", "target": "y"}}, ["data.features", "photometry"]),
        ({"data": {"features": ["x"], "target": "y"}}, ["data.train", "required"]),
        (
            {"model": {"head": "spline_flow", "head_options": {"lowx": 0.0}}},
            ["model", "spline_flow", "'lowx'", "'low'"],
        ),
        ({"model": {"input_clip_margin": -0.1}}, ["model.input_clip_margin", "-0.1"]),
    ],
)
def test_invalid_values_name_field_value_and_allowed(patch, fragments):
    data = {**MINIMAL, **patch}
    with pytest.raises(ConfigError) as info:
        parse_config(data, source="run.yaml")
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("run.yaml")
    for fragment in fragments:
        assert fragment in message


def test_auto_weight_decay_falls_as_one_over_the_training_rows():
    from likely.experiment._config import TrainingConfig, resolved_training

    assert TrainingConfig().weight_decay == "auto"  # the estimator's default too
    resolved = [resolved_training(TrainingConfig(), n).weight_decay for n in (50, 2_000, 8_000)]
    assert resolved == pytest.approx([4e-3, 4e-3, 1e-3])
    fixed = TrainingConfig(weight_decay=0.01, batch_size=64)
    assert resolved_training(fixed, 100_000) is fixed  # explicit values are kept
    assert parse_config({**MINIMAL, "training": {"weight_decay": 0}}).training.weight_decay == 0
    with pytest.raises(ConfigError, match="training.weight_decay"):
        parse_config({**MINIMAL, "training": {"weight_decay": "large"}})


def test_load_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("data: [unclosed\n")
    with pytest.raises(ConfigError, match="cannot read config"):
        load_config(bad)
    listy = tmp_path / "list.yaml"
    listy.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_config(listy)
