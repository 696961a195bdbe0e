"""The entry point writes RESULTS.md with the machine, the targets and each section."""

from benchmarks import __main__ as suite


def test_quick_training_speed_writes_results(tmp_path, monkeypatch):
    monkeypatch.setenv("LIKELY_COURSE_VENV", str(tmp_path / "absent"))
    out = tmp_path / "RESULTS.md"
    suite.main(["--quick", "--only", "training_speed", "--output", str(out)])
    text = out.read_text()
    for heading in ("# likely benchmarks", "## Machine", "## Targets", "## Training speed"):
        assert heading in text
    assert "load average" in text and "keras " in text and "jax " in text
    assert "likely default path / hand-written JAX" in text
