"""Runs every benchmark and writes benchmarks/RESULTS.md.

    python -m benchmarks                 # the full suite (about 40 minutes on 2 cores)
    python -m benchmarks --quick         # tiny sizes: checks that everything runs
    python -m benchmarks --only training_speed inference

Each benchmark also runs alone: `python -m benchmarks.training_speed`,
`benchmarks.ensemble_cost`, `benchmarks.head_cost`, `benchmarks.inference`,
`benchmarks.predict_throughput`, `benchmarks.accuracy`,
`benchmarks.survey_cost` (it writes RESULTS-survey-cost.md, alone or in the suite),
`benchmarks.course_stack` (the course's tf_keras + TFP stack, in its own venv:
`python -m benchmarks.course_stack --setup` creates it once).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks import _common

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def training_speed(quick: bool) -> _common.Section:
    from benchmarks import training_speed as bench

    rows, epochs = (5_000, 1) if quick else (200_000, 7)
    return bench.section(bench.run(rows=rows, epochs=epochs, course=True))


def ensemble_cost(quick: bool) -> _common.Section:
    import dataclasses

    from benchmarks import ensemble_cost as bench

    rows = []
    targets = []
    for key, regime in bench.REGIMES.items():
        if quick:
            regime = dataclasses.replace(regime, rows=min(regime.rows, 2_000))
        times = bench.run(regime, ensemble_size=5, epochs=1 if quick else 3)
        med = {name: _common.median(t) for name, t in times.items()}
        ratio, speedup = med["ensemble"] / med["single"], med["loop"] / med["ensemble"]
        target = regime.target_ratio * (5 if regime.per_member else 1)
        rows.append(
            (
                regime.name,
                f"{med['single']:.2f}",
                f"{med['ensemble']:.2f}",
                f"{med['loop']:.2f}",
                f"{ratio:.2f}x",
                f"{speedup:.2f}x",
            )
        )
        targets.append(
            _common.Target(
                f"regime {key}: ensemble / one member",
                f"<= {target:.1f}x",
                f"{ratio:.2f}x",
                ratio <= target,
            )
        )
        if regime.target_loop_speedup is not None:
            targets.append(
                _common.Target(
                    f"regime {key}: Python loop of 5 / ensemble",
                    f">= {regime.target_loop_speedup:.1f}x",
                    f"{speedup:.2f}x",
                    speedup >= regime.target_loop_speedup,
                )
            )
    body = (
        "`benchmarks.ensemble_cost`, 5 members, median steady-state epoch (s), set-ups "
        "interleaved.\n\n"
        + _common.markdown_table(
            [
                "regime",
                "one member",
                "5-member ensemble",
                "loop of 5",
                "ensemble / one",
                "loop / ensemble",
            ],
            rows,
        )
    )
    return _common.Section("Ensemble cost", body, targets)


def inference(quick: bool) -> _common.Section:
    from benchmarks import inference as bench

    if quick:
        return bench.section(bench.run(rows=5_000, rounds=1, predict_rows=5_000))
    # `likely predict` on 2,000,000 rows (time, peak memory) is predict_throughput's
    return bench.section(bench.run(rows=1_000_000, rounds=5, predict_rows=0))


def predict_throughput(quick: bool) -> _common.Section:
    from benchmarks import predict_throughput as bench

    if quick:
        return bench.section(bench.run(rows=5_000, rounds=1))
    return bench.section(bench.run(rows=2_000_000, rounds=3))


def survey_cost(quick: bool) -> _common.Section:
    from benchmarks import survey_cost as bench

    if quick:
        return bench.section(bench.run(rows=5_000, rounds=1))
    result = bench.run()
    bench.RESULTS.write_text(bench.render(result))  # the docs' page of the same run
    return bench.section(result)


def accuracy(quick: bool) -> _common.Section:
    from benchmarks import accuracy as bench

    if quick:
        return bench.section(bench.run(splits=2, dc2_epochs=1))
    return bench.section(bench.run(splits=20))


def head_cost(quick: bool) -> _common.Section:
    from benchmarks import head_cost as bench

    rows = 5_000 if quick else 50_000
    return bench.section(rows, bench.run(rows=rows, repeats=1 if quick else 3))


BENCHMARKS: dict[str, Callable[[bool], _common.Section]] = {
    "training_speed": training_speed,
    "ensemble_cost": ensemble_cost,
    "head_cost": head_cost,
    "inference": inference,
    "predict_throughput": predict_throughput,
    "survey_cost": survey_cost,
    "accuracy": accuracy,
}


def render(sections: list[_common.Section], seconds: float, load_before: str, quick: bool) -> str:
    """The RESULTS.md text."""
    targets = [t for s in sections for t in s.targets]
    parts = [
        "# likely benchmarks",
        "",
        "Written by `python -m benchmarks`" + (" --quick (tiny sizes)" if quick else "") + ". "
        "Speed is reported as ratios against references measured in the same run; "
        "absolute times depend on the machine and its load.",
        "",
        "## Machine",
        "",
        _common.machine_markdown(),
        f"- load average (1 / 5 / 15 min): {load_before} before, {_common.load_average()} after; "
        f"suite wall time {seconds / 60:.1f} min",
        "",
        "## Targets",
        "",
        _common.targets_table(targets),
    ]
    for s in sections:
        parts += ["", f"## {s.title}", "", s.body]
    return "\n".join(parts) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke run)")
    parser.add_argument("--only", nargs="+", choices=sorted(BENCHMARKS), default=None)
    parser.add_argument("--output", type=Path, default=RESULTS, help="default: RESULTS.md")
    args = parser.parse_args(argv)
    load_before = _common.load_average()
    start = time.perf_counter()
    sections = []
    for name in args.only or list(BENCHMARKS):
        print(f"== {name}", flush=True)
        section = BENCHMARKS[name](args.quick)
        print(section.body + "\n", flush=True)
        sections.append(section)
    text = render(sections, time.perf_counter() - start, load_before, args.quick)
    args.output.write_text(text)
    print(_common.targets_table([t for s in sections for t in s.targets]))
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
