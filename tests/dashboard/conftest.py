"""Fixtures for the dashboard tests: FER-2013 faces, AppTest runs, a live Streamlit server and Chromium.

The model under test is whatever the dashboard would use: ``FER_MODEL_PATH`` if set, else the shipped
``models/emotion_cnn.keras``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DASHBOARD = REPO / "dashboard"
# Streamlit puts the main script's folder on sys.path; AppTest does not, so mirror `streamlit run` here.
for folder in (str(REPO), str(DASHBOARD)):
    if folder not in sys.path:
        sys.path.insert(0, folder)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# aiortc's pylibsrtp crashes the process when loaded after TensorFlow (see dashboard/components/__init__.py): load it
# first, unless an earlier test module already imported TensorFlow (the live-page tests then fail cleanly).
if "tensorflow" not in sys.modules:
    import pylibsrtp  # noqa: F401

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from dash_support import CHROMIUM_ARGS, FER_CSV, paste_faces, write_y4m  # noqa: E402

from bench.browser import CHROMIUM, streamlit_server  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: drives a real Streamlit server with Chromium (slow)")


# ---------------------------------------------------------------- data


@pytest.fixture(scope="session")
def public_rows(fer_csv) -> pd.DataFrame:
    """The first 400 PublicTest rows of the real file, as the Kaggle table."""
    frame = pd.read_csv(fer_csv, usecols=["emotion", "pixels", "Usage"])
    return frame[frame.Usage == "PublicTest"].head(400).reset_index(drop=True)


@pytest.fixture(scope="session")
def public_faces(public_rows) -> tuple[np.ndarray, np.ndarray]:
    faces = np.stack([np.array(p.split(), dtype=np.uint8).reshape(48, 48) for p in public_rows.pixels])
    return faces, public_rows.emotion.to_numpy()


@pytest.fixture(scope="session")
def detectable_faces(public_faces) -> list[np.ndarray]:
    """Eight PublicTest faces that the Haar cascade finds once upscaled and pasted into a frame."""
    from core.vision.detect import FaceDetector

    detector, found = FaceDetector(), []
    for face in public_faces[0]:
        if len(detector.detect(cv2.cvtColor(paste_faces([face]), cv2.COLOR_BGR2GRAY))) == 1:
            found.append(face)
        if len(found) == 8:
            return found
    pytest.fail("the Haar cascade found fewer than 8 pasted FER faces")


@pytest.fixture(scope="session")
def small_csv(public_rows, tmp_path_factory) -> Path:
    """200 PublicTest rows as a Kaggle-layout CSV in a temporary folder."""
    path = tmp_path_factory.mktemp("fer") / "fer_small.csv"
    public_rows.head(200).to_csv(path, index=False)
    return path


# ---------------------------------------------------------------- model


@pytest.fixture(scope="session")
def classifier():
    from core.model.classifier import EmotionClassifier

    return EmotionClassifier.load()


@pytest.fixture(scope="session")
def report():
    """The training report next to the model under test, read through its schema."""
    from core.evaluation.report import REPORT_FILE, read_report
    from core.model.classifier import default_model_path

    return read_report(default_model_path().with_name(REPORT_FILE))


# ---------------------------------------------------------------- AppTest


@pytest.fixture
def open_page(monkeypatch):
    """``open_page("pages/2_Photo.py")``: an AppTest of the multipage app, switched to that page and run."""
    from streamlit.testing.v1 import AppTest

    # AppTest has no runtime session manager, which webrtc_streamer looks up; without a session it renders.
    # (Importing streamlit_webrtc after TensorFlow would crash the process: the page then explains instead.)
    if "pylibsrtp" in sys.modules or "tensorflow" not in sys.modules:
        monkeypatch.setattr("streamlit_webrtc.component.get_this_session_info", lambda: None)

    def run(page: str = "Home.py", timeout: float = 300) -> AppTest:
        app = AppTest.from_file(str(DASHBOARD / "Home.py"), default_timeout=timeout)
        if page != "Home.py":
            app.run()
            app.switch_page(page)
        return app.run()

    return run


# ---------------------------------------------------------------- real server and browser


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    if not CHROMIUM.exists():
        pytest.skip(f"Chromium not found at {CHROMIUM}")
    return CHROMIUM


@pytest.fixture(scope="session")
def server(chromium_path, tmp_path_factory) -> str:
    """``streamlit run dashboard/Home.py`` on a free loopback port, with FER2013_PATH when the data exists."""
    env = dict(os.environ)
    env.pop("FER2013_PATH", None)
    env.pop("FER_ICE_SERVERS", None)  # an empty ICE list keeps WebRTC on the local interfaces, offline
    if FER_CSV.is_file():
        env["FER2013_PATH"] = str(FER_CSV)
    log = tmp_path_factory.mktemp("server") / "streamlit.log"
    with streamlit_server(env, log) as running:
        yield running.url.rstrip("/")
    crashed = running.process.returncode not in (0, -15)
    assert not crashed, f"streamlit exited with {running.process.returncode}:\n{log.read_text()[-3000:]}"


@pytest.fixture(scope="session")
def fake_camera(detectable_faces, tmp_path_factory) -> Path:
    """4 s of 640x480 video at 15 fps: PublicTest faces (192 px) on grey, changing every second."""
    path = tmp_path_factory.mktemp("camera") / "faces.y4m"
    frames = [paste_faces([detectable_faces[second]]) for second in range(4) for _ in range(15)]
    write_y4m(path, frames)
    return path


@pytest.fixture(scope="session")
def playwright(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as instance:
        yield instance


@pytest.fixture(scope="session")
def browser(playwright, chromium_path, request):
    """Headless Chromium whose fake camera plays FER faces (or Chromium's test pattern without the data)."""
    args = list(CHROMIUM_ARGS)
    if FER_CSV.is_file():
        args.append(f"--use-file-for-fake-video-capture={request.getfixturevalue('fake_camera')}")
    chromium = playwright.chromium.launch(executable_path=str(chromium_path), headless=True, args=args)
    yield chromium
    chromium.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1400, "height": 900}, permissions=["camera"])
    context.grant_permissions(["camera"], origin=server)
    tab = context.new_page()
    tab.set_default_timeout(30_000)
    yield tab
    context.close()


@pytest.fixture
def no_data(monkeypatch):
    """No data set: FER2013_PATH unset, as for a new user."""
    monkeypatch.delenv("FER2013_PATH", raising=False)
