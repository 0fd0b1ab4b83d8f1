"""Helpers for the dashboard tests (kept out of conftest.py so test modules can import them)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import cv2
import numpy as np

from bench.browser import CHROMIUM_ARGS, WEBRTC_IFRAME, write_y4m  # noqa: F401  (the tests import them from here)
from tests.fer_data import FER_CSV  # noqa: F401  (FER2013_PATH first, as the app)

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
SCREENSHOTS_ENV_VAR = "FER_SCREENSHOTS"
"""Set to docs/screenshots to refresh the documentation's pictures; otherwise they go to test-artifacts/ (ignored)."""
SCREENSHOTS = REPO / os.environ[SCREENSHOTS_ENV_VAR] if os.environ.get(SCREENSHOTS_ENV_VAR) else ARTIFACTS / "docs"
PAGES = {  # page file -> (URL path, title text, screenshot name)
    "Home.py": ("", "Facial emotion recognition", "home"),
    "pages/1_Live_webcam.py": ("Live_webcam", "Live webcam", "live_webcam"),
    "pages/2_Photo.py": ("Photo", "Photo", "photo"),
    "pages/3_Dataset_explorer.py": ("Dataset_explorer", "Dataset explorer", "dataset_explorer"),
    "pages/4_Evaluation.py": ("Evaluation", "Evaluation", "evaluation"),
    "pages/5_Adversarial.py": ("Adversarial", "Adversarial", "adversarial"),
    "pages/6_Video.py": ("Video", "Video", "video"),
}


def paste_faces(faces: list[np.ndarray], size: int = 192, shape=(480, 640)) -> np.ndarray:
    """A BGR frame: each face upscaled to ``size`` px, side by side with margins, on a grey background."""
    frame = np.full((*shape, 3), 128, dtype=np.uint8)
    gap = (shape[1] - size * len(faces)) // (len(faces) + 1)
    top = (shape[0] - size) // 2
    for number, face in enumerate(faces):
        left = gap + number * (size + gap)
        frame[top : top + size, left : left + size] = cv2.resize(face, (size, size), interpolation=cv2.INTER_CUBIC)[
            ..., None
        ]
    return frame


def no_exception(app) -> None:
    assert not app.exception, [item.value for item in app.exception]


def texts(elements) -> str:
    """The elements' Markdown as a reader sees it: backslash escapes (of file names, say) undone."""
    return re.sub(r"\\(.)", r"\1", "\n".join(str(element.value) for element in elements))


def wait_until_idle(tab, title: str, timeout_ms: int = 240_000) -> None:
    """Wait for the page's title, then for the script run to finish (Streamlit's running indicator gone)."""
    tab.get_by_role("heading", name=title).first.wait_for(timeout=timeout_ms)
    tab.wait_for_timeout(1000)
    tab.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=timeout_ms, polling=500
    )
    tab.wait_for_timeout(1500)  # let charts and images paint


def screenshot(tab, name: str, docs: bool = True, clip_above: str | None = None) -> Path:
    """The whole page (Streamlit scrolls inside its main container) to test-artifacts/, and the documentation's copy
    to :data:`SCREENSHOTS` (``$FER_SCREENSHOTS``, else test-artifacts/docs/); ``clip_above`` stops that copy at
    that heading."""
    height = tab.evaluate(
        "() => Math.max(...[...document.querySelectorAll('[data-testid=\"stMain\"], [data-testid=\"stSidebar\"]')]"
        ".map(e => e.scrollHeight), 900)"
    )
    tab.set_viewport_size({"width": 1400, "height": min(int(height) + 40, 5000)})
    tab.wait_for_timeout(1500)
    ARTIFACTS.mkdir(exist_ok=True)
    full = ARTIFACTS / f"{name}.png"
    tab.screenshot(path=str(full))
    if docs:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        clip = None
        if clip_above:
            box = tab.get_by_role("heading", name=clip_above).first.bounding_box()
            clip = {"x": 0, "y": 0, "width": 1400, "height": max(box["y"] - 10, 300)}
        tab.screenshot(path=str(SCREENSHOTS / f"{name}.png"), clip=clip)
    tab.set_viewport_size({"width": 1400, "height": 900})
    return full


def captions(app) -> list[str]:
    """Every image caption on an AppTest page, in order."""
    return [caption for element in app.image for caption in element.captions]


def png(image: np.ndarray) -> bytes:
    """An image encoded as PNG bytes, as a browser upload would carry it."""
    ok, data = cv2.imencode(".png", image)
    assert ok
    return data.tobytes()


def check_bad_uploads(app, uploader_key: str, no_face_message: str) -> None:
    """A non-image upload and a picture without a face each get their message, and the page runs on."""
    app.file_uploader(key=uploader_key).set_value(("notes.png", b"definitely not a picture", "image/png"))
    app.run()
    no_exception(app)
    assert "cannot be used:** not an image file" in texts(app.error)

    wall = png(np.full((300, 400, 3), 90, np.uint8))
    app.file_uploader(key=uploader_key).set_value(("wall.png", wall, "image/png"))
    app.run()
    no_exception(app)
    assert no_face_message in texts(app.warning)
