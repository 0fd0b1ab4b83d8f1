"""The live page in a real browser: the frame rate it keeps with a 30 frames/s camera showing one face.
Owns live_page_frame_rate.

Chromium's fake camera plays a 640x480, 30 frames/s clip of one PublicTest face swaying sideways
(so every frame differs); the page runs its whole path (WebRTC decode, detection, tracking,
classification, drawing, encode back). The figure is the page's own "Frames per second" metric
(frames analysed per second over the last 30), read every half second once faces are labelled.
"""

from __future__ import annotations

import re
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.browser import CHROMIUM, CHROMIUM_ARGS, WEBRTC_IFRAME, streamlit_server, write_y4m
from bench.frames import frame_with_faces

CAMERA_FPS = 30
CLIP_SECONDS = 4
LABELLED = re.compile(r"Current face: \w+")


def camera_clip(path: Path, face: np.ndarray) -> Path:
    """The fake camera's clip: one face swaying 40 px left and right once per clip."""
    still = frame_with_faces([face])
    frames = CAMERA_FPS * CLIP_SECONDS
    shifts = (40 * np.sin(2 * np.pi * np.arange(frames) / frames)).round().astype(int)
    write_y4m(path, [np.roll(still, shift, axis=1) for shift in shifts], fps=CAMERA_FPS)
    return path


def live_page_frame_rate(face: np.ndarray, seconds: float, timeout: float = 180) -> dict:
    """Median and lowest frames/s the page reports over ``seconds`` of play; skipped without Chromium."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return {"status": "skipped", "reason": "playwright is not installed (requirements-dev.txt)"}
    if not CHROMIUM.exists():
        return {"status": "skipped", "reason": f"no Chromium at {CHROMIUM}"}
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as playwright:
        clip = camera_clip(Path(folder) / "camera.y4m", face)
        args = [*CHROMIUM_ARGS, f"--use-file-for-fake-video-capture={clip}"]
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=args)
        try:
            page = browser.new_context(permissions=["camera"]).new_page()
            with streamlit_server() as server:
                page.goto(f"{server.url}Live_webcam", timeout=timeout * 1e3)
                component = page.frame_locator(WEBRTC_IFRAME)
                component.get_by_role("button", name="Start").click(timeout=timeout * 1e3)
                page.get_by_text(LABELLED).first.wait_for(timeout=timeout * 1e3)
                time.sleep(2)  # let the page's 30-frame window fill with steady-state frames
                samples = _read_fps(page, seconds)
                component.get_by_role("button", name="Stop").click()
        finally:
            browser.close()
    return {
        "camera_fps": CAMERA_FPS,
        "seconds": seconds,
        "samples": samples,
        "frames_per_s_median": float(np.median(samples)),
        "frames_per_s_min": float(np.min(samples)),
    }


def _read_fps(page, seconds: float) -> list[float]:
    metric = page.locator('[data-testid="stMetric"]').filter(has_text="Frames per second")
    samples = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        samples.append(float(metric.locator('[data-testid="stMetricValue"]').inner_text()))
        time.sleep(0.5)
    return samples
