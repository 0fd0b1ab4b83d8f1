"""Parsing the full FER-2013 CSV with ``core.data.load_dataset``, where the time goes, and its peak memory."""

from __future__ import annotations

import cProfile
import gzip
import pstats
import subprocess
import sys
import time
from pathlib import Path

from bench.common import REPO_ROOT


def parse_csv(path: Path, breakdown: bool = True):
    """(dataset, report): wall seconds of one ``load_dataset`` call.

    With ``breakdown``, a second call runs under cProfile (few Python calls, so little
    overhead) and the report lists the heaviest steps, plus gunzip alone for ``.gz`` files;
    a third, in a child process, gives the peak resident memory (:func:`_peak_memory`).
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
        report["memory"] = _peak_memory(path)
    return data, report


_PEAK = """
import sys
from core.data import load_dataset

def mib(key):
    return next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith(key)) / 1024

before = mib("VmRSS:")
load_dataset(sys.argv[1])
print(mib("VmHWM:"), before)
"""


def _peak_memory(path: Path) -> dict | None:
    """The child's peak resident memory (VmHWM, MiB), its growth over the parse and that growth per MiB of text.

    None without Linux's /proc. The growth includes the modules the parse imports (pandas' readers).
    """
    if not Path("/proc/self/status").exists():
        return None
    done = subprocess.run(
        [sys.executable, "-c", _PEAK, str(path)], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    peak, before = (float(value) for value in done.stdout.split())
    with gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb") as handle:
        text_mb = sum(len(block) for block in iter(lambda: handle.read(1 << 24), b"")) / 2**20
    growth = peak - before
    return {"peak_rss_mb": peak, "growth_mb": growth, "text_mb": text_mb, "growth_per_text": growth / text_mb}


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
