"""The course's stack: tf_keras 2.21 + TensorFlow Probability 0.25, in its own virtual env.

The course trains Keras 2 models (`TF_USE_LEGACY_KERAS=1`) ending in
`tfp.layers.IndependentNormal`. Those versions cannot share an environment
with Keras 3, so the benchmark runs them in a separate virtual environment
that it creates once, on request (it sees this Python's packages, so an
installed TensorFlow 2.21 is reused; tf_keras and TFP go into the venv only):

    python -m benchmarks.course_stack --setup        # creates the venv (downloads TF)
    python -m benchmarks.course_stack                # times the course's MLP alone

The venv lives in `$LIKELY_COURSE_VENV`, default `~/.cache/likely-benchmarks/course-venv`.
Without it, `python -m benchmarks` skips this comparison and says why.
The timed model is the training-speed benchmark's (16 -> 128 -> 128 -> 2,
ReLU, Adam 1e-3, batch 256, Gaussian NLL) on the same synthetic rows.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REQUIREMENTS = ("tensorflow==2.21.*", "tf_keras==2.21.*", "tensorflow-probability==0.25.*")


def venv_path() -> Path:
    """Where the course's virtual environment lives."""
    default = Path.home() / ".cache" / "likely-benchmarks" / "course-venv"
    return Path(os.environ.get("LIKELY_COURSE_VENV", default))


def venv_python() -> Path:
    return venv_path() / "bin" / "python"


def setup() -> None:
    """Creates the venv and installs the course's stack into it."""
    path = venv_path()
    # System site packages: a TensorFlow 2.21 already installed here is reused, not downloaded
    # again; tf_keras and TFP go into the venv only, never beside likely's Keras 3.
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(path)], check=True)
    subprocess.run(
        [str(venv_python()), "-m", "pip", "install", "--quiet", "numpy", *REQUIREMENTS],
        check=True,
    )
    print(f"course stack installed in {path}")


def run_if_available(
    rows: int, epochs: int, timeout: float = 900.0
) -> tuple[dict | None, str | None]:
    """Times the course's stack in its venv; (None, reason) when it cannot run."""
    python = venv_python()
    if not python.is_file():
        return None, (
            "no course venv ($LIKELY_COURSE_VENV, default ~/.cache/likely-benchmarks/"
            "course-venv); create it with `python -m benchmarks.course_stack --setup`"
        )
    env = {**os.environ, "TF_USE_LEGACY_KERAS": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.pop("KERAS_BACKEND", None)
    root = Path(__file__).resolve().parent.parent
    try:
        done = subprocess.run(
            [str(python), "-m", "benchmarks.course_stack", "--worker"]
            + ["--rows", str(rows), "--epochs", str(epochs)],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return None, f"the course stack ran past {timeout:.0f} s"
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return None, f"the course stack failed: {last}"
    return json.loads(done.stdout.strip().splitlines()[-1]), None


def worker(rows: int, epochs: int) -> dict:
    """Runs inside the course venv: epoch times of the tf_keras + TFP model."""
    from importlib import metadata

    import numpy as np
    import tensorflow as tf
    import tensorflow_probability as tfp

    keras = tf.keras  # tf_keras, because TF_USE_LEGACY_KERAS=1
    rng = np.random.default_rng(0)  # the same rows as benchmarks.training_speed.make_data
    x = rng.normal(size=(rows, 16)).astype("float32")
    y = (np.sin(x @ rng.normal(size=16)) + 0.3 * rng.normal(size=rows)).astype("float32")
    tf.keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.layers.InputLayer(input_shape=(16,)),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(tfp.layers.IndependentNormal.params_size(1)),
            tfp.layers.IndependentNormal(1),
        ]
    )
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=lambda y, d: -d.log_prob(y))
    times = []
    for _ in range(epochs + 1):
        start = time.perf_counter()
        model.fit(x, y[:, None], batch_size=256, epochs=1, shuffle=True, verbose=0)
        times.append(time.perf_counter() - start)
    return {
        "first": times[0],
        "median": float(np.median(times[1:])),
        "epochs": times[1:],
        "versions": f"tensorflow {tf.__version__}, tf_keras {metadata.version('tf_keras')}, "
        f"tensorflow-probability {tfp.__version__}",
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--setup", action="store_true", help="create the course venv")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--epochs", type=int, default=7)
    args = parser.parse_args(argv)
    if args.setup:
        setup()
    elif args.worker:
        print(json.dumps(worker(args.rows, args.epochs)))
    else:
        result, reason = run_if_available(args.rows, args.epochs)
        print(json.dumps(result) if result is not None else f"skipped: {reason}")


if __name__ == "__main__":
    main()
