"""Summaries of a run: per-set means, the success criteria of the protocol, Markdown."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from benchmarks import _common
from benchmarks.robustness._methods import METHODS
from benchmarks.robustness._run import TRUTH, Record, Run, SetInfo
from benchmarks.robustness._scoring import METRICS, TRUTH_POINTS

CALIBRATION_ROWS = 2_000
PIT_KS_MAX = 0.03
COVERAGE_TOLERANCE = 0.02
NGBOOST_SHARE = 0.8
CANDIDATES = ("likely", "likely-single", "ngboost")
"""Methods the criteria are evaluated for (NGBoost for reference)."""

HEADERS = {
    "nll": "NLL",
    "crps": "CRPS",
    "rmse": "RMSE",
    "pit_ks": "PIT KS",
    "cov68": "cov 68",
    "cov95": "cov 95",
    "ks_truth": "KS truth",
}


@dataclass
class Summary:
    """One method on one set: mean and standard error of each metric over the splits."""

    dataset: str
    method: str
    splits: int
    failed: int
    errors: list[str]
    mean: dict[str, float]
    se: dict[str, float]
    fit_s: float
    n_test: int

    @property
    def ok(self) -> bool:
        return self.failed == 0 and self.splits > 0


def summarize(run: Run) -> dict[tuple[str, str], Summary]:
    """Per (set, method): means and standard errors (ddof 1) over the scored splits."""
    groups: dict[tuple[str, str], list[Record]] = {}
    for record in run.records:
        groups.setdefault((record.dataset, record.method), []).append(record)
    out = {}
    for key, records in groups.items():
        scored = [r for r in records if r.scores is not None and r.error is None]
        mean, se = {}, {}
        for metric in METRICS:
            values = np.array([r.scores[metric] for r in scored]) if scored else np.array([])
            mean[metric] = float(values.mean()) if values.size else math.nan
            se[metric] = (
                float(values.std(ddof=1) / math.sqrt(values.size)) if values.size > 1 else math.nan
            )
        out[key] = Summary(
            key[0],
            key[1],
            len(records),
            len(records) - len(scored),
            sorted({r.error for r in records if r.error}),
            mean,
            se,
            float(sum(r.fit_s for r in records) / max(len(records), 1)),
            records[0].n_test,
        )
    return out


@dataclass
class Verdicts:
    """Per candidate method: the sets that pass or fail each criterion."""

    beats_constant: dict[str, dict[str, bool]]
    nll_vs_ngboost: dict[str, dict[str, bool]]
    calibrated: dict[str, dict[str, bool]]


def verdicts(run: Run, summaries: dict[tuple[str, str], Summary]) -> Verdicts:
    """The three criteria, set by set (a failed fit fails every criterion it enters)."""
    beats: dict[str, dict[str, bool]] = {}
    versus: dict[str, dict[str, bool]] = {}
    calibrated: dict[str, dict[str, bool]] = {}
    for method in CANDIDATES:
        if method not in run.methods:
            continue
        beats[method], versus[method], calibrated[method] = {}, {}, {}
        for name, info in run.sets.items():
            own = summaries.get((name, method))
            const = summaries.get((name, "constant"))
            ngb = summaries.get((name, "ngboost"))
            if own is None:
                continue
            if const is not None and const.ok:
                beats[method][name] = (
                    own.ok
                    and own.mean["nll"] < const.mean["nll"]
                    and own.mean["crps"] < const.mean["crps"]
                )
            if method != "ngboost" and ngb is not None and ngb.ok:
                versus[method][name] = own.ok and own.mean["nll"] <= ngb.mean["nll"]
            if info.n_test >= CALIBRATION_ROWS:
                calibrated[method][name] = (
                    own.ok
                    and own.mean["pit_ks"] <= PIT_KS_MAX
                    and abs(own.mean["cov68"] - 0.68) <= COVERAGE_TOLERANCE
                )
    return Verdicts(beats, versus, calibrated)


def _number(value: float) -> str:
    if math.isnan(value):
        return "–"
    size = abs(value)
    if size >= 10_000:
        return f"{value:,.0f}"
    if size >= 100:
        return f"{value:.1f}"
    if size >= 1:
        return f"{value:.3f}"
    return f"{value:.4f}"


def _cell(summary: Summary, metric: str) -> str:
    mean, se = summary.mean[metric], summary.se[metric]
    if metric in ("pit_ks", "cov68", "cov95", "ks_truth"):
        text = "–" if math.isnan(mean) else f"{mean:.3f}"
        return text if math.isnan(se) else f"{text} ± {se:.3f}"
    text = _number(mean)
    return text if math.isnan(se) else f"{text} ± {_number(se)}"


def results_table(run: Run, summaries: dict[tuple[str, str], Summary]) -> str:
    """One wide table: a row per set and method, mean ± standard error over the splits."""
    rows = []
    for name, info in run.sets.items():
        methods = [m for m in run.methods] + ([TRUTH] if (name, TRUTH) in summaries else [])
        best = min(
            (
                summaries[(name, m)].mean["nll"]
                for m in run.methods
                if (name, m) in summaries and summaries[(name, m)].ok
            ),
            default=math.nan,
        )
        for method in methods:
            s = summaries.get((name, method))
            if s is None:
                continue
            label = f"{name} ({info.splits})" if method == methods[0] else ""
            if not s.ok:
                rows.append(
                    [label, method, f"**failed {s.failed}/{s.splits}**: {'; '.join(s.errors)}"]
                    + [""] * (len(METRICS) - 1)
                    + [f"{s.fit_s:.1f}"]
                )
                continue
            cells = [_cell(s, m) for m in METRICS]
            if method != TRUTH and s.mean["nll"] == best:
                cells[0] = f"**{cells[0]}**"
            fit = "" if method == TRUTH else f"{s.fit_s:.1f}"
            rows.append([label, "truth (oracle)" if method == TRUTH else method, *cells, fit])
    return _common.markdown_table(
        ["set (splits)", "method", *[HEADERS[m] for m in METRICS], "fit s"], rows
    )


def criteria_lines(run: Run, v: Verdicts) -> list[str]:
    """One summary line per success criterion and candidate method."""
    lines = []
    for method, sets in v.beats_constant.items():
        failed = [s for s, ok in sets.items() if not ok]
        lines.append(
            f"- **beats the constant baseline on every set** (NLL and CRPS), {method}: "
            f"{len(sets) - len(failed)}/{len(sets)} sets"
            + (f" — **missed** on {', '.join(failed)}" if failed else " — met")
        )
    for method, sets in v.nll_vs_ngboost.items():
        if method == "ngboost" or not sets:
            continue
        wins = sum(sets.values())
        share = wins / len(sets) if sets else math.nan
        verdict = "met" if share >= NGBOOST_SHARE else "**missed**"
        lines.append(
            f"- **NLL at or below NGBoost's on >= {NGBOOST_SHARE:.0%} of sets**, {method}: "
            f"{wins}/{len(sets)} ({share:.0%}) — {verdict}"
        )
    for method, sets in v.calibrated.items():
        failed = [s for s, ok in sets.items() if not ok]
        if not sets:
            lines.append(
                f"- **calibration on sets with >= {CALIBRATION_ROWS:,} test rows**, {method}: "
                "not measured (no such set in this run)"
            )
            continue
        lines.append(
            f"- **PIT KS <= {PIT_KS_MAX} and 68% coverage within {COVERAGE_TOLERANCE} of 0.68 "
            f"on sets with >= {CALIBRATION_ROWS:,} test rows**, {method}: "
            f"{len(sets) - len(failed)}/{len(sets)} sets"
            + (f" — **missed** on {', '.join(failed)}" if failed else " — met")
        )
    return lines


def verdict_table(run: Run, v: Verdicts) -> str:
    """Per set and candidate: the three criteria as yes/no."""
    methods = [m for m in CANDIDATES if m in v.beats_constant]

    def mark(table: dict[str, dict[str, bool]], method: str, name: str) -> str:
        value = table.get(method, {}).get(name)
        return "" if value is None else ("yes" if value else "**no**")

    header = ["set", "test rows"]
    for m in methods:
        header += [f"{m}: beats constant"]
        header += [] if m == "ngboost" else [f"{m}: NLL <= NGBoost"]
        header += [f"{m}: calibrated"]
    rows = []
    for name, info in run.sets.items():
        row = [name, f"{info.n_test:,}"]
        for m in methods:
            row.append(mark(v.beats_constant, m, name))
            if m != "ngboost":
                row.append(mark(v.nll_vs_ngboost, m, name))
            row.append(mark(v.calibrated, m, name))
        rows.append(row)
    return _common.markdown_table(header, rows)


def failures(run: Run) -> list[str]:
    """Every failed fit, with the command that reproduces it."""
    from benchmarks.robustness._run import reproduction

    lines = []
    for r in run.records:
        if r.error:
            lines.append(
                f"- {r.dataset}, split {r.split}, {r.method}: `{r.error}` — reproduce with "
                f"`{reproduction(r.dataset, r.method, r.split, run.quick)}`"
            )
    return lines


def agreement_line(run: Run) -> str:
    """The largest difference between likely.metrics and the independent scores."""
    if not run.agreement:
        return "No NGBoost predictive was scored, so the two scorers were not compared."
    worst = {}
    for diffs in run.agreement.values():
        for k, d in diffs.items():
            worst[k] = max(worst.get(k, 0.0), d)
    parts = ", ".join(f"{HEADERS[k]} {d:.1e}" for k, d in worst.items())
    return (
        f"On NGBoost's normal predictive of every scored split ({len(run.agreement)}), "
        "`likely.metrics` (on `likely.Predictive(likely.distributions.Normal(loc, scale))`) "
        "and the independent SciPy implementation agree; the largest difference, "
        f"`|a - b| / max(1, |a|)`, per metric: {parts}."
    )


def _protocol(info: SetInfo) -> str:
    if info.dataset.split_protocol.startswith("random"):
        count = "one split" if info.splits == 1 else f"{info.splits} splits"
        return f"random 80/20, {count} (numpy default_rng(0) permutations)"
    return info.dataset.split_protocol


def _versions() -> dict[str, str]:
    from importlib import metadata

    found = {}
    for name in ("ngboost", "scikit-learn", "scoringrules"):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "absent"
    return found


def markdown(run: Run, command: str, status: str = "") -> str:
    """The whole RESULTS-robustness.md text (`status`: a note after the first line)."""
    summaries = summarize(run)
    v = verdicts(run, summaries)
    set_rows = [
        (
            name,
            info.dataset.source,
            info.dataset.target,
            f"{info.n_train:,}",
            f"{info.n_test:,}",
            info.inputs,
            _protocol(info),
            info.notes,
            f"{info.seconds:.0f} / {info.cpu_seconds:.0f}",
        )
        for name, info in run.sets.items()
    ]
    method_rows = [(m, METHODS[m].description) for m in run.methods]
    quick = (
        " **Quick mode: tiny subsets and a few epochs — NOT the defaults.**" if run.quick else ""
    )
    fail = failures(run)
    note = f" **{status}**" if status else ""
    parts = [
        "# Robustness protocol: likely's defaults on many data sets",
        "",
        f"Written by `{command}`.{quick}{note} Every method fitted on the raw inputs and the raw "
        "target of the same splits, in one process; scores in the target's own units "
        "(NLL in nats of the raw target), mean ± standard error over the splits where there "
        "are several. The numbers measure the defaults of the likely version below; the "
        "protocol itself is `benchmarks/robustness` (see its docstring).",
        "",
        "## Machine",
        "",
        _common.machine_markdown(),
        "- also: " + ", ".join(f"{k} {v}" for k, v in _versions().items()),
        f"- source: {run.source}",
        f"- load average (1 / 5 / 15 min): {run.load_before} at start, {run.load_after} at "
        f"end; protocol wall time {run.seconds / 60:.1f} min, process CPU time "
        f"{run.cpu_seconds / 60:.1f} min (the CPU time of all its threads)",
        "",
        "## Success criteria (issue 13)",
        "",
        *criteria_lines(run, v),
        "",
        verdict_table(run, v),
        "",
        "## Results",
        "",
        "Bold: the lowest NLL among the methods of a set. `truth (oracle)`: the true "
        "conditional of a synthetic set, scored alike (the floor). `KS truth`: mean over test "
        "rows of sup_y |F(y|x) − F_true(y|x)|, on "
        f"{TRUTH_POINTS} true quantiles per row (within {1 / TRUTH_POINTS:.3f} of the "
        "supremum). `fit s`: mean wall time of one fit (and prediction) on the shared machine.",
        "",
        results_table(run, summaries),
        "",
        "## Failures",
        "",
        *(fail or ["None: every method produced finite scores on every split."]),
        "",
        "## Scorer agreement",
        "",
        agreement_line(run),
        "",
        "## Methods",
        "",
        _common.markdown_table(["method", "what"], method_rows),
        "",
        "## Data sets",
        "",
        _common.markdown_table(
            [
                "set",
                "source",
                "target (raw units)",
                "train rows",
                "test rows",
                "inputs",
                "splits",
                "preparation",
                "wall / CPU s",
            ],
            set_rows,
        ),
    ]
    return "\n".join(parts) + "\n"
