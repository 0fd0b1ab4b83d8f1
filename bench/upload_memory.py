"""``python -m bench.upload_memory [PIXEL]``: the dashboard server's memory while it takes the largest CSV upload.
Owns csv_bomb and upload_peak_memory.

The upload is a decompression bomb within the limits: one valid row repeated up to 500 MiB of text
or 99,999 rows, whichever comes first, gzip-compressed to well under a megabyte. Chromium uploads
it to the Dataset explorer of a fresh ``streamlit run``; the report is the server process's resident
memory before, after and at its peak (``VmHWM``). ``PIXEL`` is the repeated pixel value: ``255``
(the default) makes the most text per row, ``0`` the most rows.
"""

from __future__ import annotations

import gzip
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from bench.browser import CHROMIUM, CHROMIUM_ARGS, streamlit_server

TEXT_LIMIT = 500 * 2**20
ROW_LIMIT = 99_999


def csv_bomb(path: Path, pixel: str = "255") -> int:
    """Write the bomb to ``path`` (.csv.gz); the number of rows."""
    row = ("3," + " ".join([pixel] * 2304) + ",Training\n").encode()
    rows = min(ROW_LIMIT, TEXT_LIMIT // len(row))
    with gzip.open(path, "wb", compresslevel=9) as out:
        out.write(b"emotion,pixels,Usage\n")
        for _ in range(rows):
            out.write(row)
    return rows


def _vm_mb(pid: int, key: str) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def upload_peak_memory(pixel: str = "255", timeout_s: float = 300) -> dict:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as folder:
        bomb = Path(folder) / "bomb.csv.gz"
        rows = csv_bomb(bomb, pixel)
        env = {key: value for key, value in os.environ.items() if key != "FER2013_PATH"}
        with sync_playwright() as playwright, streamlit_server(env) as server:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.goto(f"{server.url}Dataset_explorer")
            page.get_by_role("heading", name="Dataset explorer").first.wait_for(timeout=timeout_s * 1e3)
            time.sleep(3)
            pid = server.process.pid
            before = _vm_mb(pid, "VmRSS")
            page.get_by_text("Upload").first.click()
            page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(str(bomb))
            page.get_by_text(f"{rows:,} faces").first.wait_for(timeout=timeout_s * 1e3)
            time.sleep(5)
            report = {
                "rows": rows,
                "gzip_mb": round(bomb.stat().st_size / 2**20, 2),
                "rss_before_mb": round(before),
                "rss_after_mb": round(_vm_mb(pid, "VmRSS")),
                "peak_rss_mb": round(_vm_mb(pid, "VmHWM")),
            }
            browser.close()
    return report


if __name__ == "__main__":
    from bench.common import run_quietly

    run_quietly(lambda: print(json.dumps(upload_peak_memory(sys.argv[1] if len(sys.argv) > 1 else "255"), indent=2)))
