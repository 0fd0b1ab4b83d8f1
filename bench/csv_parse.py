"""Parsing the full FER-2013 CSV with ``core.data.load_dataset``, and where the time goes."""

from __future__ import annotations

import gzip
import time
from pathlib import Path


def parse_csv(path: Path, breakdown: bool = True):
    """(dataset, report): seconds for ``load_dataset``; with ``breakdown`` also gunzip and pandas alone."""
    import pandas as pd

    from core.data import load_dataset

    start = time.perf_counter()
    data = load_dataset(path)
    seconds = time.perf_counter() - start
    report = {
        "path": str(path),
        "rows": len(data),
        "seconds": seconds,
        "rows_per_s": len(data) / seconds,
        "splits": {name: int((data.usage == name).sum()) for name in data.splits},
    }
    if breakdown:
        parts = {}
        if path.suffix == ".gz":
            start = time.perf_counter()
            with gzip.open(path, "rb") as handle:
                while handle.read(1 << 24):
                    pass
            parts["gunzip_s"] = time.perf_counter() - start
        start = time.perf_counter()
        pd.read_csv(path, dtype={"pixels": str, "Usage": str}, engine="c")
        parts["pandas_read_csv_s"] = time.perf_counter() - start
        parts["pixels_and_checks_s"] = max(seconds - parts["pandas_read_csv_s"], 0.0)
        report["breakdown"] = parts
    return data, report
