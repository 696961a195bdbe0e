"""`ClipToRange`: per-feature clipping, its validation and its round trip."""

import keras
import numpy as np
import pytest

import likely
from likely.layers import ClipToRange

pytestmark = pytest.mark.backends


def test_clips_each_feature_to_its_own_bounds_and_leaves_the_inside_alone():
    layer = ClipToRange([-1.0, 0.0, 2.0], [1.0, 0.0, 5.0])
    x = np.array([[0.5, 0.0, 3.0], [-7.0, 4.0, 9.0], [3.0, -2.0, -1.0]], "float32")
    out = keras.ops.convert_to_numpy(layer(x))
    np.testing.assert_array_equal(out, [[0.5, 0.0, 3.0], [-1.0, 0.0, 5.0], [1.0, 0.0, 2.0]])


def test_adapt_to_widens_the_observed_range_by_the_margin():
    values = np.array([[0.0, 5.0], [2.0, 5.0], [1.0, 5.0]])
    layer = ClipToRange.adapt_to(values, margin=0.25)
    np.testing.assert_allclose(layer.lower, [-0.5, 5.0])  # a constant feature stays constant
    np.testing.assert_allclose(layer.upper, [2.5, 5.0])


@pytest.mark.parametrize(
    ("lower", "upper", "match"),
    [
        ([0.0, 1.0], [1.0], "same length"),
        ([], [], "non-empty"),
        ([2.0], [1.0], "feature 0 has lower=2.0 > upper=1.0"),
        ([np.nan], [1.0], "finite"),
    ],
)
def test_bad_bounds_are_refused(lower, upper, match):
    with pytest.raises(ValueError, match=match):
        ClipToRange(lower, upper)


def test_an_input_of_the_wrong_width_is_refused():
    with pytest.raises(ValueError, match="bounds for 2 features; its input has 3"):
        ClipToRange([0.0, 0.0], [1.0, 1.0])(np.zeros((4, 3), "float32"))


def test_saved_and_reloaded(tmp_path):
    model = keras.Sequential([keras.Input((2,)), ClipToRange([0.0, -1.0], [1.0, 1.0])])
    model.save(tmp_path / "clip.keras")
    again = keras.saving.load_model(tmp_path / "clip.keras")
    x = np.array([[3.0, -3.0]], "float32")
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(again(x)), [[1.0, -1.0]])
    assert isinstance(again.layers[0], likely.layers.ClipToRange)
