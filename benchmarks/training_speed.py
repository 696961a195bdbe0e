"""Training speed: likely's default paths against a hand-written JAX + optax loop.

The same Gaussian-NLL MLP (16 -> 128 -> 128 -> 2, ReLU, Adam 1e-3, batch 256)
trains on the same synthetic rows (200,000 by default) in one process with

- likely as a user gets it: the network, optimizer and `fit` that
  `ProbabilisticRegressor` and `likely train` build (`build_network`,
  `compile_model`, `fit_model`; AdamW + cosine schedule, standardization
  layer; no validation split so that every set-up does the same work);
- plain Keras with likely's head and loss: `likely.models.mlp` compiled with
  `keras.optimizers.Adam(1e-3)` and `likely.losses.nll`, `model.fit`;
- a hand-written JAX + optax loop: one jitted update step per batch, data on
  the device, reshuffled every epoch;
- the same loop with the whole epoch (shuffle, every batch) in ONE compiled
  call, a `lax.scan` over the batches: the practical limit of JAX here, since
  no Python runs between steps.

The course's stack (tf_keras + TensorFlow Probability) runs in its own virtual
environment: see `benchmarks.course_stack`.

The first epoch (tracing, compilation) is reported separately; the set-ups
then train one epoch each in turn, so that they share the machine's load, and
each steady-state time is the median of the timed epochs.

Run:
    python -m benchmarks.training_speed
    python -m benchmarks.training_speed --rows 20000 --epochs 2
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass

from benchmarks import _common

INPUT_DIM = 16
HIDDEN = (128, 128)
BATCH_SIZE = 256
LEARNING_RATE = 1e-3
TARGET_VS_JAX = 1.25
TARGET_VS_SCAN = 1.1
TARGET_VS_COURSE = 2.0


@dataclass
class TrainingSpeed:
    """Per-set-up epoch times (seconds) and the derived ratios."""

    rows: int
    epoch_times: dict[str, list[float]]
    first_epoch: dict[str, float]
    course: dict[str, float] | None  # {"first": s, "median": s} of the course's stack
    course_reason: str | None

    @property
    def medians(self) -> dict[str, float]:
        return {name: _common.median(t) for name, t in self.epoch_times.items()}

    def ratio(self, name: str, reference: str = "jax") -> float:
        return self.medians[name] / self.medians[reference]


def make_data(rows: int, seed: int = 0):
    """Synthetic regression rows: x (rows, 16), y = sin(x @ w) + 0.3 noise."""
    import numpy as np

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, INPUT_DIM)).astype("float32")
    y = np.sin(x @ rng.normal(size=INPUT_DIM)) + 0.3 * rng.normal(size=rows)
    return x, y.astype("float32")


def likely_default_epoch(x, y) -> Callable[[], object]:
    """One epoch of the estimator's / `likely train`'s training path."""
    import keras

    import likely
    from likely.experiment._config import resolved_training
    from likely.experiment._training import build_network, compile_model, fit_model, steps_per_epoch

    regressor = likely.ProbabilisticRegressor(
        hidden=HIDDEN,
        ensemble_size=1,  # the hand-written loops train one network
        head="normal",  # the hand-written loops' Gaussian head
        learning_rate=LEARNING_RATE,
        batch_size=BATCH_SIZE,
        validation_fraction=0.0,
    )
    model_config, training = regressor._configs()
    training = resolved_training(training, len(x)).model_copy(update={"epochs": 1})
    keras.utils.set_random_seed(0)
    normalization = keras.layers.Normalization(name="standardize")
    normalization.adapt(x)
    model = build_network(model_config, x.shape[1], [normalization], n_train=len(x), seed=0)
    compile_model(model, training, steps_per_epoch(len(x), training, 0.0))
    return lambda: fit_model(model, x, y, training, 0.0, None, progress=None)


def keras_epoch(x, y) -> Callable[[], object]:
    """One epoch of plain Keras `fit` with likely's head and loss."""
    import keras

    import likely

    model = likely.models.mlp(INPUT_DIM, hidden=HIDDEN, seed=0)
    model.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE), loss=likely.losses.nll)
    return lambda: model.fit(x, y, batch_size=BATCH_SIZE, epochs=1, shuffle=True, verbose=0)


def _jax_model(seed: int):
    """Glorot-initialized MLP parameters, the Gaussian NLL, Adam and one update step."""
    import jax
    import jax.numpy as jnp
    import optax

    sizes = (INPUT_DIM, *HIDDEN, 2)
    keys = jax.random.split(jax.random.PRNGKey(seed), len(sizes) - 1)
    params = []
    for key, fan_in, fan_out in zip(keys, sizes[:-1], sizes[1:], strict=True):
        limit = (6.0 / (fan_in + fan_out)) ** 0.5  # Glorot uniform, as Keras' Dense
        w = jax.random.uniform(key, (fan_in, fan_out), minval=-limit, maxval=limit)
        params.append((w, jnp.zeros(fan_out)))
    optimizer = optax.adam(LEARNING_RATE)

    def loss_fn(params, xb, yb):
        h = xb
        for w, b in params[:-1]:
            h = jax.nn.relu(h @ w + b)
        w, b = params[-1]
        out = h @ w + b
        loc, scale = out[:, 0], jax.nn.softplus(out[:, 1]) + 1e-6
        z = (yb - loc) / scale
        return jnp.mean(0.5 * z**2 + jnp.log(scale) + 0.5 * jnp.log(2 * jnp.pi))

    def update(params, opt_state, xb, yb):
        loss, grads = jax.value_and_grad(loss_fn)(params, xb, yb)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    return params, optimizer, update


def jax_epoch(x, y, seed: int = 0) -> Callable[[], object]:
    """One epoch of a hand-written JAX + optax loop with a jitted update step."""
    import jax
    import jax.numpy as jnp

    params, optimizer, update = _jax_model(seed)

    @jax.jit
    def step(params, opt_state, xs, ys, start):  # the batch is sliced inside the jit
        xb = jax.lax.dynamic_slice_in_dim(xs, start, BATCH_SIZE)
        yb = jax.lax.dynamic_slice_in_dim(ys, start, BATCH_SIZE)
        return update(params, opt_state, xb, yb)

    last_step = jax.jit(update)  # the final, smaller batch

    @jax.jit
    def shuffled(key, x, y):
        order = jax.random.permutation(key, x.shape[0])
        return x[order], y[order]

    state = {"params": params, "opt": optimizer.init(params), "key": jax.random.PRNGKey(seed + 1)}
    x_dev, y_dev = jnp.asarray(x), jnp.asarray(y)
    n = len(x)

    def epoch() -> float:
        state["key"], key = jax.random.split(state["key"])
        xs, ys = shuffled(key, x_dev, y_dev)
        p, o = state["params"], state["opt"]
        loss = None
        full = n // BATCH_SIZE * BATCH_SIZE
        for start in range(0, full, BATCH_SIZE):
            p, o, loss = step(p, o, xs, ys, start)
        if full < n:
            p, o, loss = last_step(p, o, xs[full:], ys[full:])
        state["params"], state["opt"] = p, o
        return float(loss)  # blocks until the epoch's work is done

    return epoch


def jax_scan_epoch(x, y, seed: int = 0) -> Callable[[], object]:
    """One epoch as ONE compiled call: shuffle, `lax.scan` over the batches, the last batch.

    The practical limit of JAX on this machine: no Python between steps.
    """
    import jax
    import jax.numpy as jnp

    params, optimizer, update = _jax_model(seed)
    n = len(x)
    full = n // BATCH_SIZE * BATCH_SIZE

    @jax.jit
    def epoch_fn(params, opt_state, key, x, y):
        order = jax.random.permutation(key, n)
        xs, ys = x[order], y[order]

        def body(carry, batch):
            params, opt_state = carry
            params, opt_state, loss = update(params, opt_state, *batch)
            return (params, opt_state), loss

        batches = (
            xs[:full].reshape(-1, BATCH_SIZE, INPUT_DIM),
            ys[:full].reshape(-1, BATCH_SIZE),
        )
        (params, opt_state), losses = jax.lax.scan(body, (params, opt_state), batches)
        if full < n:  # the last, smaller batch, inside the same computation
            params, opt_state, loss = update(params, opt_state, xs[full:], ys[full:])
            return params, opt_state, loss
        return params, opt_state, losses[-1]

    state = {"params": params, "opt": optimizer.init(params), "key": jax.random.PRNGKey(seed + 1)}
    x_dev, y_dev = jnp.asarray(x), jnp.asarray(y)

    def epoch() -> float:
        state["key"], key = jax.random.split(state["key"])
        state["params"], state["opt"], loss = epoch_fn(
            state["params"], state["opt"], key, x_dev, y_dev
        )
        return float(loss)  # blocks until the epoch's work is done

    return epoch


SETUPS = {
    "likely defaults (estimator / likely train)": likely_default_epoch,
    "Keras fit + likely head and loss": keras_epoch,
    "jax": jax_epoch,
    "jax_scan": jax_scan_epoch,
}
LABELS = {
    "jax": "hand-written JAX + optax (jitted step)",
    "jax_scan": "hand-written JAX + optax (epoch in one lax.scan)",
}


def run(rows: int = 200_000, epochs: int = 7, course: bool = True) -> TrainingSpeed:
    """Times every set-up; `course` also runs the course's stack when its venv exists."""
    x, y = make_data(rows)
    calls = {name: make(x, y) for name, make in SETUPS.items()}
    times, first = _common.interleaved_times(calls, rounds=epochs)
    course_times, reason = None, "not requested"
    if course:
        from benchmarks import course_stack

        course_times, reason = course_stack.run_if_available(rows=rows, epochs=epochs)
    return TrainingSpeed(rows, times, first, course_times, reason)


def section(result: TrainingSpeed) -> _common.Section:
    """The RESULTS.md section of a run."""
    med = result.medians
    rows = []
    for name in result.epoch_times:
        rows.append(
            (
                LABELS.get(name, name),
                f"{result.first_epoch[name]:.2f}",
                f"{med[name]:.2f}",
                " ".join(f"{t:.2f}" for t in result.epoch_times[name]),
                f"{result.ratio(name):.2f}x",
                f"{result.ratio(name, 'jax_scan'):.2f}x",
            )
        )
    if result.course is not None:
        rows.append(
            (
                "course stack: tf_keras + TFP IndependentNormal (own venv)",
                f"{result.course['first']:.2f}",
                f"{result.course['median']:.2f}",
                " ".join(f"{t:.2f}" for t in result.course["epochs"]),
                f"{result.course['median'] / med['jax']:.2f}x",
                f"{result.course['median'] / med['jax_scan']:.2f}x",
            )
        )
    table = _common.markdown_table(
        [
            "set-up",
            "first epoch (s)",
            "median epoch (s)",
            "timed epochs (s)",
            "vs JAX step",
            "vs JAX scan",
        ],
        rows,
    )
    body = (
        f"16 -> 128 -> 128 -> 2 Gaussian-NLL MLP, Adam(W) 1e-3, batch {BATCH_SIZE}, "
        f"{result.rows:,} rows; set-ups interleaved epoch by epoch.\n\n{table}"
    )
    if result.course is None:
        body += f"\n\nCourse stack not run: {result.course_reason}."
    else:
        body += (
            f"\n\nCourse stack ({result.course.get('versions', '')}) runs after the others, "
            "in its own process, so it does not share their load epoch by epoch."
        )
    default = "likely defaults (estimator / likely train)"
    keras_name = "Keras fit + likely head and loss"
    targets = [
        _common.Target(
            "likely default path / hand-written JAX",
            f"<= {TARGET_VS_JAX}x",
            f"{result.ratio(default):.2f}x (plain Keras path {result.ratio(keras_name):.2f}x)",
            result.ratio(default) <= TARGET_VS_JAX,
        ),
        _common.Target(
            "likely default path / JAX epoch in one lax.scan",
            f"<= {TARGET_VS_SCAN}x",
            f"{result.ratio(default, 'jax_scan'):.2f}x",
            result.ratio(default, "jax_scan") <= TARGET_VS_SCAN,
        ),
    ]
    if result.course is not None:
        speedup = result.course["median"] / med[default]
        targets.append(
            _common.Target(
                "course stack / likely default path",
                f">= {TARGET_VS_COURSE}x",
                f"{speedup:.2f}x",
                speedup >= TARGET_VS_COURSE,
            )
        )
    else:
        targets.append(
            _common.Target(
                "course stack / likely default path",
                f">= {TARGET_VS_COURSE}x",
                f"skipped: {result.course_reason}",
                None,
            )
        )
    return _common.Section("Training speed", body, targets)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--epochs", type=int, default=7, help="timed epochs after the first")
    parser.add_argument("--no-course", action="store_true", help="skip the course's stack")
    args = parser.parse_args(argv)
    result = run(args.rows, args.epochs, course=not args.no_course)
    out = section(result)
    print(out.body)
    print(_common.targets_table(out.targets))


if __name__ == "__main__":
    main()
