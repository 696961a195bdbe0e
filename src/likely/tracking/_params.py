"""What a run records about a Keras model and its training: params, data fingerprint, plots."""

from __future__ import annotations

import hashlib
import importlib.metadata
import inspect
import platform
from typing import Any

import keras
import numpy as np

_SKIPPED_CONFIG = {"name", "trainable", "dtype", "seed"}
_FIT_PARAMS = ("batch_size", "epochs", "validation_split", "shuffle", "initial_epoch")


def _scalar_items(config: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v
        for k, v in config.items()
        if k not in _SKIPPED_CONFIG and isinstance(v, bool | int | float | str)
    }


def _describe_layer(layer: keras.Layer) -> str:
    name = type(layer).__name__
    if isinstance(layer, keras.layers.Dense):
        activation = getattr(layer.activation, "__name__", str(layer.activation))
        return f"{name}({layer.units}, {activation})"
    if type(layer).__module__.startswith("likely."):
        items = _scalar_items(layer.get_config())
        return f"{name}({', '.join(f'{k}={v}' for k, v in items.items())})"
    return name


def _is_head(layer: keras.Layer) -> bool:
    from likely.layers import DistributionHead

    return isinstance(layer, DistributionHead)


def architecture_params(model: keras.Model) -> dict[str, Any]:
    """Layers, units, activations, head and every likely layer's settings, as flat params.

    Example:
        >>> import keras, likely
        >>> from likely.tracking._params import architecture_params
        >>> model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(8, "relu"),
        ...     keras.layers.Dense(6), likely.layers.MixtureNormal(2)])
        >>> p = architecture_params(model)
        >>> p["arch.hidden_units"], p["arch.head"], p["arch.head.num_components"]
        ('8', 'MixtureNormal', 2)
    """
    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    params: dict[str, Any] = {
        "arch.model_class": type(model).__name__,
        "arch.layers": " > ".join(_describe_layer(layer) for layer in layers),
        "arch.num_layers": len(layers),
        "arch.trainable_params": int(sum(int(np.prod(w.shape)) for w in model.trainable_weights)),
    }
    heads = [layer for layer in layers if _is_head(layer)]
    dense = [layer for layer in layers if isinstance(layer, keras.layers.Dense)]
    # Hidden layers: Dense layers except the one feeding the head.
    hidden = dense[:-1] if heads and dense else dense
    params["arch.hidden_units"] = ",".join(str(layer.units) for layer in hidden)
    activations = {getattr(layer.activation, "__name__", "") for layer in hidden}
    params["arch.activation"] = ",".join(sorted(a for a in activations if a))
    if heads:
        head = heads[-1]
        params["arch.head"] = type(head).__name__
        params["arch.head.family"] = head.family or type(head).__name__
        params["arch.head.num_components"] = head.options.get("num_components", 1)
        for key, value in _scalar_items(head.get_config()).items():
            params.setdefault(f"arch.head.{key}", value)
    for layer in layers:
        if type(layer).__module__.startswith("likely.") and not _is_head(layer):
            for key, value in _scalar_items(layer.get_config()).items():
                params[f"arch.{layer.name}.{key}"] = value
    members = [getattr(layer, "num_members", None) for layer in layers]
    members = [m for m in members if isinstance(m, int)]
    if members:
        params["arch.ensemble_size"] = max(members)
    return params


def optimizer_params(model: keras.Model) -> dict[str, Any]:
    """Optimizer class, learning rate (or its schedule) and scalar settings; the loss name."""
    params: dict[str, Any] = {}
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None:
        params["optimizer"] = type(optimizer).__name__
        config = optimizer.get_config()
        rate = config.get("learning_rate")
        if isinstance(rate, dict):
            params["optimizer.learning_rate_schedule"] = rate.get("class_name", "schedule")
            rate = _schedule_initial_rate(rate)
        if rate is not None:
            params["learning_rate"] = float(rate)
        for key, value in _scalar_items(config).items():
            if key != "learning_rate":
                params[f"optimizer.{key}"] = value
    loss = getattr(model, "loss", None)
    if loss is not None:
        params["loss"] = getattr(loss, "__name__", None) or getattr(
            loss, "name", type(loss).__name__
        )
    return params


def _schedule_initial_rate(config: dict[str, Any]) -> float | None:
    inner = config.get("config", {})
    for key in ("initial_learning_rate", "learning_rate"):
        if isinstance(inner.get(key), int | float):
            return float(inner[key])
    return None


def environment_params() -> dict[str, Any]:
    """Keras backend and the versions of the libraries a run depends on."""
    backend = keras.backend.backend()
    params: dict[str, Any] = {"keras_backend": backend, "version.python": platform.python_version()}
    packages = ["likely", "keras", "numpy", "mlflow"]
    packages += {"jax": ["jax"], "torch": ["torch"], "tensorflow": ["tensorflow"]}.get(backend, [])
    for name in packages:
        try:
            params[f"version.{name}"] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            params[f"version.{name}"] = "unknown"
    return params


def global_seed() -> int | None:
    """The seed given to `keras.utils.set_random_seed`, if any."""
    try:
        from keras.src.backend.common import global_state
        from keras.src.utils.rng_utils import GLOBAL_RANDOM_SEED

        seed = global_state.get_global_attribute(GLOBAL_RANDOM_SEED)
    except (ImportError, AttributeError):  # private Keras API moved: the seed is unknown
        return None
    return int(seed) if isinstance(seed, int | np.integer) else None


def fit_arguments(model: keras.Model) -> dict[str, Any]:
    """Arguments of the `model.fit` call that is running, read from its frame (empty if none).

    Keras does not pass the batch size or the data to callbacks; the running
    `fit` frame has them (after `validation_split`, `x`/`y` are the training part).
    """
    frame = inspect.currentframe()
    try:
        while frame is not None:
            if frame.f_code.co_name == "fit" and frame.f_locals.get("self") is model:
                return dict(frame.f_locals)
            frame = frame.f_back
        return {}
    finally:
        del frame


def fit_params(arguments: dict[str, Any], callback_params: dict[str, Any]) -> dict[str, Any]:
    params = {k: arguments[k] for k in _FIT_PARAMS if arguments.get(k) is not None}
    if "batch_size" not in params and _as_array(arguments.get("x")) is not None:
        params["batch_size"] = 32  # Keras' default for arrays
    if "epochs" in callback_params:
        params["epochs"] = callback_params["epochs"]
    if callback_params.get("steps") is not None:
        params["steps_per_epoch"] = callback_params["steps"]
    return params


def _as_array(data: Any) -> np.ndarray | None:
    if data is None:
        return None
    if hasattr(data, "to_numpy"):
        data = data.to_numpy()
    if isinstance(data, np.ndarray) or hasattr(data, "__array__"):
        try:
            return np.asarray(data)
        except (TypeError, ValueError):
            return None
    return None


def fingerprint(x: Any, y: Any = None) -> dict[str, Any] | None:
    """Shapes, dtypes and a SHA-256 of training arrays (None when they are not arrays).

    Example:
        >>> import numpy as np
        >>> from likely.tracking._params import fingerprint
        >>> fp = fingerprint(np.zeros((4, 2)), np.ones(4))
        >>> fp["n_samples"], fp["x_shape"], len(fp["sha256"])
        (4, [4, 2], 64)
    """
    xa, ya = _as_array(x), _as_array(y)
    if xa is None:
        return None
    digest = hashlib.sha256()
    result: dict[str, Any] = {"n_samples": int(xa.shape[0]) if xa.ndim else 1}
    for name, array in (("x", xa), ("y", ya)):
        if array is None:
            continue
        array = np.ascontiguousarray(array)
        digest.update(f"{name}{array.shape}{array.dtype.str}".encode())
        digest.update(array.tobytes())
        result[f"{name}_shape"] = list(array.shape)
        result[f"{name}_dtype"] = str(array.dtype)
    result["sha256"] = digest.hexdigest()
    return result


def model_summary(model: keras.Model) -> str:
    lines: list[str] = []
    model.summary(print_fn=lambda text, *args, **kwargs: lines.append(str(text)))
    return "\n".join(lines)


def loss_curve_figure(history: dict[str, list[tuple[int, float]]]) -> Any:
    """Figure of every `*loss` series against the epoch (matplotlib, no pyplot state)."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(6, 4))
    ax = figure.add_subplot()
    for key in sorted(k for k in history if k.endswith("loss")):
        steps, values = zip(*history[key], strict=True)
        ax.plot(np.asarray(steps) + 1, values, marker="o", markersize=3, label=key)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title("Training curve")
    ax.grid(alpha=0.3)
    ax.legend()
    return figure


def prediction_figure(model: keras.Model, x: np.ndarray, y: np.ndarray) -> Any:
    """For one input feature and one target: data, predictive mean and 68%/90% bands."""
    from matplotlib.figure import Figure

    from likely.models import predict_distribution

    grid = np.linspace(float(x.min()), float(x.max()), 200, dtype=np.float32)[:, None]
    predictive = predict_distribution(model, grid)
    figure = Figure(figsize=(6, 4))
    ax = figure.add_subplot()
    ax.scatter(x[:, 0], y.reshape(len(y)), s=8, color="0.4", label="training data")
    lo90, hi90 = predictive.interval(0.90)
    lo68, hi68 = predictive.interval(0.68)
    ax.fill_between(grid[:, 0], lo90, hi90, alpha=0.2, color="C0", label="90% interval")
    ax.fill_between(grid[:, 0], lo68, hi68, alpha=0.35, color="C0", label="68% interval")
    ax.plot(grid[:, 0], predictive.mean, color="C1", label="predictive mean")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title("Predictive distribution")
    ax.legend(fontsize="small")
    return figure
