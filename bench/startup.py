"""Seconds from ``streamlit run dashboard/Home.py`` to the Home page's title shown in headless Chromium.
Owns time_to_title and the Chromium it drives (Debian's ``chromium``, through Playwright).

The browser is open before the server starts, as a user's is; each run starts a fresh server on a
free port and polls the page until its ``h1`` reads the app's name. The clock starts when the
server process is spawned, so it covers Python's start, Streamlit's, the page's imports and the
model load that the Home page's model card needs.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

from bench.common import REPO_ROOT

CHROMIUM = Path("/usr/bin/chromium")
TITLE = "Facial emotion recognition"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"]


def time_to_title(runs: int, timeout: float = 120) -> dict:
    """Median and each run's seconds from spawn to the title; ``status: skipped`` without Chromium or Playwright."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return {"status": "skipped", "reason": "playwright is not installed (requirements-dev.txt)"}
    if not CHROMIUM.exists():
        return {"status": "skipped", "reason": f"no Chromium at {CHROMIUM}"}
    seconds, serving = [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            for _ in range(runs):
                to_title, to_health = _one_start(browser.new_page(), timeout)
                seconds.append(to_title)
                serving.append(to_health)
        finally:
            browser.close()
    return {
        "runs": runs,
        "seconds": seconds,
        "seconds_median": float(np.median(seconds)),
        "server_ready_seconds_median": float(np.median(serving)),
        "note": "server ready: Streamlit answers its health check; the rest is the page's script up to its title",
    }


def _one_start(page, timeout: float) -> tuple[float, float]:
    """Seconds from spawn to the title, and to the server answering its health check."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}/"
    env = {key: value for key, value in os.environ.items() if key != "FER_MODEL_PATH"}
    command = [
        sys.executable, "-m", "streamlit", "run", "dashboard/Home.py", "--server.port", str(port),
        "--server.address", "127.0.0.1", "--server.headless", "true", "--server.fileWatcherType", "none",
    ]
    with tempfile.TemporaryFile() as log:
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_for_health(url, process, start + timeout)
            ready = time.perf_counter() - start
            _wait_for_title(page, url, start + timeout)
            return time.perf_counter() - start, ready
        finally:
            page.close()
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def _wait_for_health(url: str, process: subprocess.Popen, deadline: float) -> None:
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with {process.returncode} before it served")
        try:
            with urllib.request.urlopen(f"{url}_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:  # not listening yet
            pass
        if time.perf_counter() > deadline:
            raise RuntimeError(f"streamlit did not answer at {url} within the timeout")
        time.sleep(0.02)


def _wait_for_title(page, url: str, deadline: float) -> None:
    page.goto(url, timeout=max(1.0, deadline - time.perf_counter()) * 1e3)
    page.get_by_role("heading", name=TITLE).first.wait_for(timeout=max(1.0, deadline - time.perf_counter()) * 1e3)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
