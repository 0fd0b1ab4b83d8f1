"""The dashboard as a user meets it: ``streamlit run`` on a free port, and headless Chromium with a fake camera.
Owns streamlit_server, RunningServer, CHROMIUM, CHROMIUM_ARGS and write_y4m (shared with the browser tests).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from bench.common import REPO_ROOT

CHROMIUM = Path("/usr/bin/chromium")
"""Debian's Chromium: Playwright drives it through ``executable_path`` (its own browser download is not used)."""
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--no-first-run", "--disable-dev-shm-usage", "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
]
WEBRTC_IFRAME = 'iframe[title="streamlit_webrtc.component.webrtc_streamer"]'
"""The live page's WebRTC component (its Start and Stop buttons live inside it)."""


@dataclass(frozen=True)
class RunningServer:
    url: str
    """``http://127.0.0.1:PORT/``"""
    process: subprocess.Popen
    started: float
    """``time.perf_counter()`` when the process was spawned."""
    ready_seconds: float
    """From spawning the process to its health check answering."""


@contextmanager
def streamlit_server(env: dict | None = None, log_path: Path | None = None, timeout: float = 120) -> Iterator[
    RunningServer
]:
    """``streamlit run dashboard/Home.py`` on a free loopback port until the block ends (then terminated)."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}/"
    command = [
        sys.executable, "-m", "streamlit", "run", "dashboard/Home.py", "--server.port", str(port),
        "--server.address", "127.0.0.1", "--server.headless", "true", "--server.fileWatcherType", "none",
    ]
    with open(log_path, "w+b") if log_path else tempfile.TemporaryFile() as log:
        start = time.perf_counter()
        process = subprocess.Popen(
            command, cwd=REPO_ROOT, env=dict(os.environ) if env is None else env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            _wait_for_health(url, process, start + timeout, log)
            yield RunningServer(url, process, start, time.perf_counter() - start)
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_for_health(url: str, process: subprocess.Popen, deadline: float, log) -> None:
    while True:
        try:
            with urllib.request.urlopen(f"{url}_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:  # not listening yet
            pass
        if process.poll() is not None or time.perf_counter() > deadline:
            log.seek(0)
            tail = log.read().decode(errors="replace")[-3000:]
            raise RuntimeError(f"streamlit did not start (exit status {process.poll()}):\n{tail}")
        time.sleep(0.02)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def write_y4m(path: Path, frames: list[np.ndarray], fps: int = 15) -> None:
    """Raw YUV4MPEG2 (C420, i.e. yuv420p) video of BGR frames, for Chromium's fake camera (played in a loop)."""
    height, width = frames[0].shape[:2]
    with open(path, "wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420\n".encode())
        for frame in frames:
            out.write(b"FRAME\n")
            out.write(cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420).tobytes())
