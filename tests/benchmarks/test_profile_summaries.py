"""benchmarks.profile_summaries: attribution of py-spy samples to the pipeline's parts."""

from benchmarks import profile_summaries

RAW = "\n".join(
    [
        # warm-up and set-up samples: outside the timed rounds, ignored
        "<module> (x.py:1);workload (profile_summaries.py:50);fit (trainer.py:1) 40",
        "<module> (x.py:1);timed_rounds (profile_summaries.py:60);<lambda> (p.py:1);"
        "JAXTrainer.predict (keras/src/backend/jax/trainer.py:500) 30",
        "<module> (x.py:1);timed_rounds (profile_summaries.py:60);summarize (_predict.py:45);"
        "Predictive.quantiles (_predictive.py:191);solve_rows (_solve.py:80);"
        "solve_rows.<locals>.<listcomp> (_solve.py:100) 50",
        "<module> (x.py:1);timed_rounds (profile_summaries.py:60);summarize (_predict.py:45);"
        "Predictive.mode (_predictive.py:180);solve_rows (_solve.py:80);_pad (_solve.py:380) 20",
    ]
)


def test_samples_are_attributed_to_parts_inside_the_timed_rounds_only():
    parts, solver, total = profile_summaries.attribute(RAW)
    assert total == 100
    assert parts["forward pass (Keras predict)"] == 30
    assert parts["5 quantiles (safeguarded Halley)"] == 50
    assert parts["mode (two climbs: safeguarded Newton)"] == 20
    assert solver["waiting for a block's results (XLA compute)"] == 50
    assert solver["padding a block's rows (NumPy)"] == 20
    text = profile_summaries.report(parts, solver, total, rows=10, rounds=1)
    assert "| 5 quantiles (safeguarded Halley) | 50% |" in text
