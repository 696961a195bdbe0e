"""Multi-device data-parallel training through Keras' distribution API (JAX backend)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, Literal

from likely.errors import ConfigError


def data_parallel(devices: Literal["all"] | int | None) -> Any:
    """A `keras.distribution.DataParallel` over the first `devices` accelerators, or None.

    Variables are replicated on every device and each batch is split evenly
    between them (the batch size must be a multiple of the number of
    devices). Only the JAX backend is supported.

    Args:
        devices: "all" (every device of the default platform), a count, or
            None (no distribution: returns None).

    Raises:
        ConfigError: The backend is not JAX, `devices` is not "all" or a
            positive integer, or more devices are asked than exist.

    Example:
        >>> from likely.distributed import data_parallel
        >>> distribution = data_parallel(1)
        >>> distribution.device_mesh.devices.size
        1
        >>> data_parallel(None) is None
        True
    """
    if devices is None:
        return None
    import keras

    if devices != "all" and (
        isinstance(devices, bool) or not isinstance(devices, int) or devices < 1
    ):
        raise ConfigError(f'training.devices must be "all" or a positive integer, got {devices!r}')
    backend = keras.backend.backend()
    if backend != "jax":
        raise ConfigError(
            "training.devices (data-parallel training) needs the jax backend; "
            f"the Keras backend is {backend!r}"
        )
    available = keras.distribution.list_devices()
    if devices == "all":
        chosen = available
    elif devices > len(available):
        raise ConfigError(
            f"training.devices is {devices} but only {len(available)} device(s) exist: "
            f"{', '.join(available)}"
        )
    else:
        chosen = available[:devices]
    return keras.distribution.DataParallel(devices=chosen)


@contextlib.contextmanager
def distribution_scope(devices: Literal["all"] | int | None, batch_size: int) -> Iterator[Any]:
    """Build, compile and fit a model inside it to train on `devices` (no-op when None).

    `likely train` does this when `training.devices` is set. Variables are
    created replicated on the devices, so the model must be built inside the
    scope, not only fitted there.

    Args:
        devices: "all", a count, or None (see `data_parallel`).
        batch_size: The training batch size; must split evenly over the devices.

    Yields:
        The `DataParallel` distribution, or None.

    Raises:
        ConfigError: As `data_parallel`, or `batch_size` is not a multiple of
            the device count.

    Example:
        >>> import numpy as np, likely
        >>> from likely.distributed import distribution_scope
        >>> with distribution_scope("all", batch_size=32) as distribution:
        ...     model = likely.models.mlp(1, hidden=(4,), seed=0)
        ...     model.compile(optimizer="adam", loss=likely.losses.nll)
        ...     history = model.fit(np.zeros((64, 1)), np.zeros(64), batch_size=32, verbose=0)
        >>> len(history.history["loss"])
        1
    """
    distribution = data_parallel(devices)
    if distribution is None:
        yield None
        return
    count = int(distribution.device_mesh.devices.size)
    if batch_size % count:
        raise ConfigError(
            f"training.batch_size ({batch_size}) must be a multiple of the number of devices "
            f"({count}) for data-parallel training"
        )
    with distribution.scope():
        yield distribution


def device_count() -> int:
    """Devices of the active Keras distribution (1 when there is none)."""
    import keras

    distribution = keras.distribution.distribution()
    if distribution is None:
        return 1
    return int(distribution.device_mesh.devices.size)
