"""Servers for the API tests: ``train_cli.py serve --api-keys`` as the docs start it, and apps with test settings.

The CLI server runs in its own process, once per test session; apps with other settings (small limits, a rate
limit, no keys) run under uvicorn on a thread of the test process.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest
import requests

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_ready(url: str, process: subprocess.Popen | None = None, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server exited with status {process.returncode}")
        try:
            if requests.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} was not ready within {timeout} s")


@dataclass(frozen=True)
class LiveServer:
    url: str
    key: str
    key_file: Path
    process: subprocess.Popen
    log: Path


def start_cli_server(argv: list[str], log: Path, env: dict | None = None) -> subprocess.Popen:
    with open(log, "wb") as out:
        return subprocess.Popen([sys.executable, "train_cli.py", "serve", *argv], cwd=REPO, stdout=out,
                                stderr=subprocess.STDOUT, env=env)


def stop(process: subprocess.Popen) -> int:
    process.terminate()
    try:
        return process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()


@pytest.fixture(scope="session")
def live(tmp_path_factory) -> Iterator[LiveServer]:
    """``python train_cli.py serve --api-keys keys.txt`` on a free loopback port, with one key made by ``api-key``."""
    folder = tmp_path_factory.mktemp("live")
    key_file = folder / "keys.txt"
    made = subprocess.run([sys.executable, "train_cli.py", "api-key", "--file", str(key_file)], cwd=REPO,
                          capture_output=True, text=True, check=True)
    port = free_port()
    process = start_cli_server(["--port", str(port), "--api-keys", str(key_file)], folder / "server.log")
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, process)
        yield LiveServer(url, made.stdout.strip(), key_file, process, folder / "server.log")
    finally:
        stop(process)


@contextmanager
def app_server(**settings) -> Iterator[str]:
    """An app of these :class:`service.settings.ServiceSettings` served on a thread; yields its URL."""
    import uvicorn

    from service.app import create_app
    from service.settings import ServiceSettings

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(ServiceSettings(**settings)), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url)
        yield url
    finally:
        server.should_exit = True
        thread.join(30)


def encode_jpeg(frame: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    return data.tobytes()


@pytest.fixture(scope="session")
def found_faces(public_faces) -> list[np.ndarray]:
    """Two PublicTest faces BlazeFace finds alone and side by side in a 640x480 photo."""
    from bench.frames import detectable_faces
    from core.vision.faces import make_detector

    faces, _ = detectable_faces(public_faces[0], make_detector("blazeface"), 2)
    assert len(faces) == 2
    return faces


@pytest.fixture(scope="session")
def two_face_photo(found_faces) -> bytes:
    """A 640x480 JPEG with two faces."""
    from bench.frames import frame_with_faces

    return encode_jpeg(frame_with_faces(found_faces))


@pytest.fixture(scope="session")
def one_face_photo(found_faces) -> bytes:
    from bench.frames import frame_with_faces

    return encode_jpeg(frame_with_faces(found_faces[:1]))
