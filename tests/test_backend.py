"""`import likely`: light, registers likely's Keras objects in either order, no idle TensorFlow."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest

import likely
from likely.experiment import FeaturePipeline

HEAVY = {"keras", "jax", "tensorflow", "torch", "mlflow", "matplotlib"}


def _python(code: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


def test_import_likely_loads_no_deep_learning_stack() -> None:
    result = _python(
        """
        import json, sys
        import likely
        likely.__version__, dir(likely)
        print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
        """
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert HEAVY.isdisjoint(json.loads(result.stdout))


def test_dir_lists_every_public_name_and_each_resolves() -> None:
    names = dir(likely)
    assert set(likely.__all__) <= set(names)
    lazy = {*likely._SUBMODULES, *likely._NAMES, "__version__"}
    assert sorted(lazy) == sorted(likely.__all__)
    for name in likely.__all__:
        assert getattr(likely, name) is not None, name
    assert likely.predict_distribution is likely.models.predict_distribution
    assert likely.Predictive is likely.models.Predictive
    assert likely.load_model is likely.tracking.load_model
    assert likely.ProbabilisticRegressor is likely.estimators.ProbabilisticRegressor
    with pytest.raises(AttributeError, match="no attribute 'not_a_name'"):
        likely.not_a_name  # noqa: B018


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """A model with a likely feature pipeline, head and loss, saved with its predictions."""
    folder = tmp_path_factory.mktemp("saved")
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((2,)),
            FeaturePipeline(["a", "b"]),
            keras.layers.Dense(4, activation="tanh"),
            keras.layers.Dense(likely.layers.MixtureNormal.params_size(2, 1)),
            likely.layers.MixtureNormal(2, 1),
        ]
    )
    model.compile(optimizer="adam", loss=likely.losses.nll)
    x = np.random.default_rng(0).normal(size=(16, 2)).astype("float32")
    paths = folder / "model.keras", folder / "x.npy", folder / "y.npy"
    model.save(paths[0])
    np.save(paths[1], x)
    np.save(paths[2], model.predict(x, verbose=0))
    return paths


_LOAD = """
import sys
import numpy as np
{imports}
model = keras.saving.load_model(sys.argv[1])
np.testing.assert_allclose(model.predict(np.load(sys.argv[2]), verbose=0), np.load(sys.argv[3]))
print(type(model.layers[-1]).__name__, type(model.layers[0]).__name__, model.loss.__name__)
"""


@pytest.mark.parametrize(
    "imports",
    [
        "import likely, keras",
        "import keras, likely",
        "import likely\nimport likely.metrics\nimport keras",  # Keras imported by likely itself
        "import likely\nfrom likely.layers import MixtureNormal\nimport keras",
        "import likely\nimport keras.ops\nimport keras",
    ],
)
def test_saved_model_loads_in_a_fresh_process(saved_model, imports: str) -> None:
    result = _python(_LOAD.format(imports=imports), *map(str, saved_model))
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split() == ["MixtureNormal", "FeaturePipeline", "nll"]


def test_without_likely_the_model_does_not_load(saved_model) -> None:
    """The control: Keras alone cannot find likely's classes, so the test above means something."""
    result = _python(_LOAD.format(imports="import keras"), *map(str, saved_model))
    assert result.returncode != 0
    assert "likely" in result.stderr and "Could not locate" in result.stderr


# A stand-in TensorFlow that records being imported and seeded, so that the test
# means the same whether or not the real one is installed.
_FAKE_TENSORFLOW = """
import os
with open(os.environ["FAKE_TF_LOG"], "a") as log:
    log.write("imported\\n")
class TensorShape: pass
class DType: pass
class TypeSpec: pass
class _Random:
    @staticmethod
    def set_seed(seed):
        with open(os.environ["FAKE_TF_LOG"], "a") as log:
            log.write(f"seed {seed}\\n")
random = _Random()
"""

_SAVE_AND_SEED = """
import sys
{imports}
model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(2)])
keras.utils.set_random_seed(1)
model.save(sys.argv[1])
keras.saving.load_model(sys.argv[1])
if "import tensorflow" in sys.argv[2]:
    import tensorflow
    keras.utils.set_random_seed(2)
"""


@pytest.mark.parametrize(
    ("imports", "then", "log"),
    [
        ("import keras", "", ["imported", "seed 1"]),  # Keras alone imports TensorFlow
        ("import likely, keras", "", []),
        ("import keras, likely", "", []),
        ("import likely, keras", "import tensorflow", ["imported", "seed 2"]),  # seeded once there
    ],
)
def test_tensorflow_is_imported_only_when_used(
    tmp_path: Path, imports: str, then: str, log: list[str]
) -> None:
    (tmp_path / "tensorflow").mkdir()
    (tmp_path / "tensorflow" / "__init__.py").write_text(_FAKE_TENSORFLOW)
    env = {
        **os.environ,
        "KERAS_BACKEND": "jax",
        "FAKE_TF_LOG": str(tmp_path / "tf.log"),
        "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]),
    }
    code = _SAVE_AND_SEED.format(imports=imports)
    result = _python(code, str(tmp_path / "m.keras"), then, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    written = tmp_path / "tf.log"
    assert (written.read_text().splitlines() if written.exists() else []) == log
