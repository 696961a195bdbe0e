"""benchmarks.gpu refuses, with one error line and nothing written, where JAX sees no GPU."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # benchmarks/ is a folder of the repository


def test_refuses_without_a_gpu(tmp_path):
    out = tmp_path / "RESULTS-gpu.md"
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}  # no GPU, even on a machine that has one
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.gpu", "--output", str(out)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: no GPU")
    assert "[cuda" in lines[0] and "nothing was written" in lines[0]
    assert not out.exists() and done.stdout == ""
