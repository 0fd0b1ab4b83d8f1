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


@pytest.fixture(scope="session")
def voted_csv(public_rows, tmp_path_factory) -> Path:
    """200 PublicTest rows as ``fer2013.csv`` with their FER+ votes beside it, as Microsoft's ``fer2013new.csv``."""
    from core.ferplus import find_votes_file

    votes_file = find_votes_file(FER_CSV)
    if votes_file is None:
        pytest.skip(f"no FER+ votes file beside {FER_CSV}")
    usage = pd.read_csv(FER_CSV, usecols=["Usage"]).Usage
    rows = np.flatnonzero(usage.to_numpy() == "PublicTest")[:200]
    votes = pd.read_csv(votes_file).iloc[rows]
    folder = tmp_path_factory.mktemp("voted")
    public_rows.head(200).to_csv(folder / "fer2013.csv", index=False)
    votes.to_csv(folder / "fer2013new.csv", index=False)
    return folder / "fer2013.csv"


# ---------------------------------------------------------------- model


@pytest.fixture(scope="session")
def eight_emotion_model(tmp_path_factory, report) -> Path:
    """A small untrained network over FER+'s eight emotions (Contempt last) with a report that has FER+ figures,
    as ``emotion_cnn.keras`` in a folder of its own: what a FER+ model looks like to the pages."""
    import json

    import keras

    from core.labels import FERPLUS
    from core.model.emotion_output import emotion_output

    folder = tmp_path_factory.mktemp("ferplus_model")
    inputs = keras.Input((48, 48, 1))
    features = keras.layers.Dense(4, activation="relu")(keras.layers.AveragePooling2D(4)(inputs))
    model = keras.Model(inputs, emotion_output(FERPLUS)(keras.layers.Flatten()(features)))
    model.save(folder / "emotion_cnn.keras")
    classes = len(FERPLUS)
    recall = {name: 0.5 for name in FERPLUS.emotions}
    written = {
        **report.to_dict(), "emotions": list(FERPLUS.emotions), "history": {}, "config": {},
        "accuracy": 0.8125, "fer2013_accuracy": 0.6875, "calibration": None,
        "confusion_matrix": [[10 if row == column else 1 for column in range(classes)] for row in range(classes)],
        "per_class": {name: {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 17} for name in FERPLUS.emotions},
        "ferplus": {"faces": 3000, "faces_left_out": 589, "accuracy": 0.8125, "cross_entropy": 0.7312,
                    "annotator_entropy": 0.44, "total_variation": 0.25, "mean_recall": 0.5, "per_class": recall,
                    "where_labels_agree": {"faces": 2136, "accuracy": 0.875, "mean_recall": 0.75,
                                           "per_class": recall}},
    }
    (folder / "report.json").write_text(json.dumps(written))
    return folder / "emotion_cnn.keras"


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
