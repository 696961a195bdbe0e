"""Command line of the robustness protocol (see `benchmarks.robustness`)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from benchmarks import _common  # noqa: F401  (sets the Keras backend before likely loads)
from benchmarks.robustness import DATASETS, METHODS, Run, markdown, run

RESULTS = Path(__file__).resolve().parent.parent / "RESULTS-robustness.md"


def _command(args: argparse.Namespace) -> str:
    """The command line that reproduces the results (output paths left out)."""
    parts = ["python -m benchmarks.robustness"]
    if args.sets:
        parts.append("--sets " + " ".join(args.sets))
    if args.methods:
        parts.append("--methods " + " ".join(args.methods))
    if args.splits is not None:
        parts.append(f"--splits {args.splits}")
    if args.quick:
        parts.append("--quick")
    return " ".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.robustness",
        description="likely's defaults, NGBoost's and a constant Gaussian on many data sets.",
    )
    parser.add_argument("--sets", nargs="+", metavar="SET", help="default: every set (--list)")
    parser.add_argument("--methods", nargs="+", metavar="METHOD", choices=list(METHODS))
    parser.add_argument("--splits", type=int, default=None, help="at most this many per set")
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: tiny subsets, a few epochs / rounds"
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help=f"Markdown results (default {RESULTS.name} for a full run, none for --quick)",
    )
    parser.add_argument("--json", type=Path, default=None, help="also write every split's scores")
    parser.add_argument("--list", action="store_true", help="list the sets and methods, then exit")
    args = parser.parse_args(argv)
    if args.list:
        for name, d in DATASETS.items():
            print(f"{name:36s} {d.kind:9s} {d.source}; {d.split_protocol}")
        for name, m in METHODS.items():
            print(f"{name:36s} method    {m.description}")
        return 0
    unknown = [s for s in args.sets or [] if s not in DATASETS]
    if unknown:
        parser.error(f"unknown set(s) {', '.join(unknown)}; see --list")
    if args.splits is not None and args.splits < 1:
        parser.error("--splits must be at least 1")
    command = _command(args)
    output = args.output or (None if args.quick else RESULTS)

    def save(result: Run, final: bool = False) -> None:
        # Rewritten after every set, so a long run that stops keeps what it measured.
        if output is not None:
            note = "" if final else f"Partial: {len(result.sets)} sets so far."
            output.write_text(markdown(result, command, note))
        if args.json is not None:
            records = [dataclasses.asdict(r) for r in result.records]
            args.json.write_text(json.dumps(records, indent=1))

    result = run(args.sets, args.methods, args.splits, args.quick, after_set=save)
    save(result, final=True)
    if output is not None:
        print(f"wrote {output}")
    else:
        print(markdown(result, command))
    return 0


if __name__ == "__main__":
    sys.exit(main())
