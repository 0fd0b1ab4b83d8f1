"""Shared fixtures: the FER-2013 file (tests/fer_data.py: FER2013_PATH first), small CSV slices, a smoke-trained
model and a video clip; and the run's summary line on tests skipped for lack of data."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

# aiortc's SRTP binding segfaults when loaded after TensorFlow: load it first, whatever test runs first.
import pylibsrtp  # noqa: F401
import pytest

from core.quiet import quiet_for_good
from tests.clips import moving_face_frames, write_clip
from tests.fer_data import DATA_SKIP, FER_CSV, data_skip_summary

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session", autouse=True)
def _private_cache_dir(tmp_path_factory):
    """Parsed-CSV caches of a test run stay in its temporary folder."""
    os.environ["FER_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="session")
def fer_csv() -> Path:
    if not FER_CSV.is_file():
        pytest.skip(f"{DATA_SKIP} (looked at {FER_CSV})")
    return FER_CSV


@pytest.fixture(scope="session")
def fer_frame(fer_csv) -> pd.DataFrame:
    """The first rows of each split, as the raw Kaggle table (read once per test session)."""
    frame = pd.read_csv(fer_csv, nrows=40000)
    return pd.concat([frame[frame.Usage == "Training"].head(400), frame[frame.Usage == "PublicTest"].head(150)])


@pytest.fixture(scope="session")
def small_csv(fer_frame, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("data") / "small.csv"
    fer_frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def voted_small_csv(fer_frame, fer_csv, tmp_path_factory) -> Path:
    """A copy of the small CSV with fer2013new.csv beside it: the shared votes of the same rows."""
    from tests.test_ferplus import votes_beside

    folder = tmp_path_factory.mktemp("voted")
    fer_frame.to_csv(folder / "fer2013.csv", index=False)
    shared = pd.read_csv(votes_beside(fer_csv))
    shared.loc[fer_frame.index].to_csv(folder / "fer2013new.csv", index=False)
    return folder / "fer2013.csv"


@pytest.fixture(scope="session")
def public_faces(fer_frame) -> tuple[np.ndarray, np.ndarray]:
    """PublicTest faces (N, 48, 48) uint8 and their labels."""
    public = fer_frame[fer_frame.Usage == "PublicTest"]
    faces = np.stack([np.array(p.split(), dtype=np.uint8).reshape(48, 48) for p in public.pixels])
    return faces, public.emotion.to_numpy()


@pytest.fixture(scope="session")
def smoke_run(small_csv, tmp_path_factory) -> Path:
    """A one-epoch training run on a few hundred rows: its output folder."""
    import train_cli

    out = tmp_path_factory.mktemp("smoke_run")
    assert train_cli.main(["train", "--data", str(small_csv), "--out", str(out), "--epochs", "1"]) == 0
    return out


@pytest.fixture(scope="session")
def ferplus_smoke_run(voted_small_csv, tmp_path_factory) -> Path:
    """A one-epoch run on the votes of a few hundred rows, from the shipped fer2013 network: its output folder."""
    import train_cli

    out = tmp_path_factory.mktemp("ferplus_smoke_run")
    assert train_cli.main(["train", "--data", str(voted_small_csv), "--labels", "ferplus", "--init", "fer2013",
                           "--fer2013-weight", "0.3", "--epochs", "1", "--out", str(out)]) == 0
    return out


def pytest_configure(config):
    """With output shown as it comes (``-s``), the libraries' start-up lines are dropped as for a user's command
    (``FER_VERBOSE=1`` keeps them); captured output is only shown for a failing test, with them."""
    if config.getoption("capture") == "no":
        quiet_for_good()


def pytest_terminal_summary(terminalreporter):
    """Say how many tests were skipped for lack of FER-2013, and how to run them."""
    line = data_skip_summary(terminalreporter.stats.get("skipped", []))
    if line:
        terminalreporter.write_sep("-", "data")
        terminalreporter.write_line(line)


def paste_face(face: np.ndarray, size: int = 192, frame_shape=(480, 640), at=(200, 120)) -> np.ndarray:
    """A BGR frame: the face upscaled to ``size`` px, pasted at ``at`` (x, y) on a grey background."""
    frame = np.full((*frame_shape, 3), 128, dtype=np.uint8)
    big = cv2.resize(face, (size, size), interpolation=cv2.INTER_CUBIC)
    x, y = at
    frame[y : y + size, x : x + size] = big[..., None]
    return frame


def detectable_faces(faces: np.ndarray, count: int) -> list[np.ndarray]:
    """The first ``count`` faces that the Haar cascade finds once pasted into a frame."""
    from core.vision.detect import FaceDetector
    from core.vision.faces import extract_faces

    detector, found = FaceDetector(), []
    for face in faces:
        if len(extract_faces(paste_face(face), detector)) == 1:
            found.append(face)
        if len(found) == count:
            return found
    pytest.fail(f"the Haar cascade found fewer than {count} pasted FER faces")


@pytest.fixture(scope="session")
def clip_face(public_faces) -> np.ndarray:
    """A PublicTest face the Haar cascade finds at every position of the moving clip."""
    from core.vision.detect import FaceDetector
    from core.vision.faces import extract_faces

    detector = FaceDetector(downscale=2)
    for face in public_faces[0]:
        if all(len(extract_faces(frame, detector)) == 1 for frame in moving_face_frames(face)[::4]):
            return face
    pytest.fail("no PublicTest face is found all along the moving clip")


@pytest.fixture(scope="session")
def face_clip(clip_face, tmp_path_factory) -> Path:
    """64 frames, 30 fps, 320x240, one moving FER face."""
    return write_clip(tmp_path_factory.mktemp("clips") / "face.mp4", moving_face_frames(clip_face))
