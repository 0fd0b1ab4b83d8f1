"""Seconds from ``streamlit run dashboard/Home.py`` to the Home page's title shown in headless Chromium.
Owns time_to_title.

The browser is open before the server starts, as a user's is; each run starts a fresh server and
opens the page as soon as the server answers, then waits for its ``h1`` to read the app's name.
The clock starts when the server process is spawned, so it covers Python's start, Streamlit's,
and the page's imports up to its title.
"""

from __future__ import annotations

import time

import numpy as np

from bench.browser import CHROMIUM, CHROMIUM_ARGS, streamlit_server

TITLE = "Facial emotion recognition"


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
                page = browser.new_page()
                with streamlit_server(timeout=timeout) as server:
                    page.goto(server.url, timeout=timeout * 1e3)
                    page.get_by_role("heading", name=TITLE).first.wait_for(timeout=timeout * 1e3)
                    seconds.append(time.perf_counter() - server.started)
                    serving.append(server.ready_seconds)
                page.close()
        finally:
            browser.close()
    return {
        "runs": runs,
        "seconds": seconds,
        "seconds_median": float(np.median(seconds)),
        "server_ready_seconds_median": float(np.median(serving)),
        "note": "server ready: Streamlit answers its health check; the rest is the page's script up to its title",
    }
