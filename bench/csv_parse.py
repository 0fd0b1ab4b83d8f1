"""Parsing the full FER-2013 CSV with ``core.data.load_dataset``, and where the time goes."""

from __future__ import annotations

import cProfile
import gzip
import pstats
import time
from pathlib import Path


def parse_csv(path: Path, breakdown: bool = True):
    """(dataset, report): wall seconds of one ``load_dataset`` call.

    With ``breakdown``, a second call runs under cProfile (few Python calls, so little
    overhead) and the report lists the heaviest steps, plus gunzip alone for ``.gz`` files.
    """
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
        report["breakdown"] = _profile(path)
    return data, report


def _profile(path: Path) -> dict:
    from core.data import load_dataset

    profiler = cProfile.Profile()
    profiler.runcall(load_dataset, path)
    stats = pstats.Stats(profiler).stats  # {(file, line, name): (calls, primitive, tottime, cumtime, callers)}
    by_name: dict[str, list[float]] = {}
    for (file, _, name), (_, _, tottime, cumtime, _) in stats.items():
        label = name if file == "~" else f"{Path(file).stem}.{name}"
        entry = by_name.setdefault(label, [0.0, 0.0])
        entry[0] += tottime
        entry[1] += cumtime
    total = max(cumtime for _, cumtime in by_name.values())
    parts = {"profiled_total_s": total}
    for label in ("fer_csv._read_table", "fer_csv._parse_pixels", "<built-in method numpy.fromstring>"):
        if label in by_name:
            parts[f"cum {label}"] = by_name[label][1]
    for label, (tottime, _) in sorted(by_name.items(), key=lambda item: -item[1][0])[:4]:
        parts[f"self {label}"] = tottime
    if path.suffix == ".gz":
        start = time.perf_counter()
        with gzip.open(path, "rb") as handle:
            while handle.read(1 << 24):
                pass
        parts["gunzip alone"] = time.perf_counter() - start
    return parts
