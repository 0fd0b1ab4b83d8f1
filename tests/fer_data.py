"""Where the tests find FER-2013, the way a user gives it to the app: ``FER2013_PATH`` first.
Owns FER_CSV, find_fer_csv, DATA_SKIP (in every skip reason for missing data) and data_skip_summary.

Looked for in order: ``$FER2013_PATH`` (Kaggle's ``fer2013.csv`` or ``.csv.gz``, or a folder holding one),
``~/fer-data/fer2013.csv.gz`` or ``.csv`` (the README's place), and ``../shared/fer2013/fer2013.csv.gz``
beside the checkout. Tests that need real faces skip without it, with a reason that starts with DATA_SKIP,
and the run's summary counts them.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATA_ENV_VAR = "FER2013_PATH"
NAMES = ("fer2013.csv.gz", "fer2013.csv")
DATA_SKIP = "FER-2013 not found"
MISSING_HINT = (
    f"set {DATA_ENV_VAR} to Kaggle's fer2013.csv or fer2013.csv.gz (or put it in ~/fer-data/) "
    "to run them; see the README's data section"
)


def _candidates() -> list[Path]:
    found: list[Path] = []
    configured = os.environ.get(DATA_ENV_VAR, "").strip()
    if configured:
        path = Path(configured).expanduser()
        found += [path / name for name in NAMES] if path.is_dir() else [path]
    found += [Path("~/fer-data").expanduser() / name for name in NAMES]
    found.append(REPO.parent / "shared" / "fer2013" / "fer2013.csv.gz")
    return found


def find_fer_csv() -> Path:
    """The first candidate that is a file, else the first candidate (which does not exist)."""
    candidates = _candidates()
    return next((path for path in candidates if path.is_file()), candidates[0])


FER_CSV = find_fer_csv()
"""The FER-2013 file the tests use; ``FER_CSV.is_file()`` is False when there is none."""


def _skip_reason(report) -> str:
    longrepr = report.longrepr
    return longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)


def data_skip_summary(skipped_reports, looked_at: Path | None = None) -> str | None:
    """The summary's line on the skipped test reports whose reason is missing data; None when there are none."""
    count = sum(DATA_SKIP in _skip_reason(report) for report in skipped_reports)
    if not count:
        return None
    return (f"{count} test{'s' if count != 1 else ''} skipped for lack of FER-2013 "
            f"(looked at {looked_at or FER_CSV}): {MISSING_HINT}.")
