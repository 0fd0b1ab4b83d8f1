"""Glue between the webcam's video thread and the live page's script thread.
Owns LiveSession (the lock-guarded results), make_video_callback, the ICE/RTC configuration and camera messages.

The video callback runs in a worker thread where ``st.*`` does not work: it hands each
frame's result to a lock-guarded :class:`LiveSession`, and the page polls that object.
"""

from __future__ import annotations

import io
import json
import threading
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime

import av
import numpy as np
import pandas as pd

from core.analysis.live import FrameResult, LiveAnalyzer
from core.analysis.video_frames import bgr_from_frame, frame_from_bgr
from core.labels import FER2013
from core.model.classifier import FacePrediction
from core.vision import DETECTORS

ICE_ENV_VAR = "FER_ICE_SERVERS"
MAX_TIMELINE_ROWS = 36_000
"""About 40 minutes of one face at 15 analysed frames per second."""
DEFAULT_SMOOTHING_S = 0.3
CAMERA_MESSAGES = {
    "device_access_denied": "The browser refused the camera (permission denied). Allow the camera for this site "
                            "(the camera icon in the address bar), then press Start again, or use the Photo page.",
    "device_not_available": "No camera was found. Connect a webcam and press Start again, or use the Photo page.",
    "device_busy": "The camera could not be started: another program may be using it. Close it and press Start "
                   "again, or use the Photo page.",
    "media_api_not_available": "This browser cannot share a camera with this page: camera access needs HTTPS or "
                               "http://localhost. Open the app that way, or use the Photo page.",
    "device_ask_permission": "Please allow this page to use your camera.",
}
"""Plain-language camera problems; also passed to streamlit-webrtc as its ``translations``."""
CAMERA_ERRORS = {
    "NotAllowedError": "device_access_denied", "SecurityError": "device_access_denied",
    "NotFoundError": "device_not_available", "OverconstrainedError": "device_not_available",
    "NotReadableError": "device_busy", "AbortError": "device_busy",
}
_WATCH_SCRIPT = """
<div id="camera-problem" data-testid="camera-problem" role="alert" style="display:none; padding:0.75rem 1rem;
 margin:0.25rem 0 0.5rem; border-radius:0.5rem; background:#ffecec; color:#7d353b; font-size:0.95rem"></div>
<script>
(() => {
  const messages = __MESSAGES__, errors = __ERRORS__;
  if (window.__cameraWatch) clearInterval(window.__cameraWatch);
  const show = (key) => {
    const box = document.getElementById("camera-problem");
    if (!box) { clearInterval(window.__cameraWatch); return; }
    box.textContent = key ? messages[key] : "";
    box.style.display = key ? "block" : "none";
  };
  const check = () => {
    if (!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia)) return show("media_api_not_available");
    // streamlit-webrtc shows the browser's error (e.g. "NotAllowedError: ...") inside its same-origin iframe.
    const frame = document.querySelector('iframe[title="streamlit_webrtc.component.webrtc_streamer"]');
    let text = "";
    try { text = frame && frame.contentDocument ? frame.contentDocument.body.innerText : ""; } catch (e) {}
    const found = Object.keys(errors).find((name) => text.includes(name + ":") || text.includes(name + " "));
    show(found ? errors[found] : null);
  };
  window.__cameraWatch = setInterval(check, 1000);
  check();
})();
</script>
"""


def camera_watch_html() -> str:
    """HTML+JS for ``st.html``: a page-level message whenever the browser refuses or lacks a camera.

    streamlit-webrtc reports camera errors only inside its iframe (never to Python), as a bare
    ``NotAllowedError: Permission denied``; this turns them into plain advice beside the video.
    """
    return _WATCH_SCRIPT.replace("__MESSAGES__", json.dumps(CAMERA_MESSAGES)).replace(
        "__ERRORS__", json.dumps(CAMERA_ERRORS))


FACE_COLUMNS = ["time", "seconds", "faces", "person", "emotion", "confidence"]


def timeline_columns(emotions: tuple[str, ...]) -> list[str]:
    """The timeline CSV's columns: when, who, the dominant emotion, its confidence, then ``p_<emotion>`` for each
    emotion of the model."""
    return [*FACE_COLUMNS, *[f"p_{name}" for name in emotions]]


@dataclass(frozen=True)
class LiveSnapshot:
    """A copy of what the video thread last reported."""

    frames: int
    faces: int
    fps: float
    person: int | None
    """Whose face the rest describes: the one asked for while in view, else the largest."""
    people: list[int]
    """The person ids in the current frame."""
    seen: list[int]
    """Every person id seen this session."""
    label_index: int | None
    probabilities: np.ndarray | None
    face: np.ndarray | None
    """That person's face as the model saw it: 48x48 uint8."""
    error: str | None
    emotions: tuple[str, ...] = FER2013.emotions
    """The model's emotions, in the order of ``probabilities``."""

    @property
    def label(self) -> str | None:
        return None if self.label_index is None else self.emotions[self.label_index]

    @property
    def confidence(self) -> float | None:
        return None if self.probabilities is None else float(self.probabilities[self.label_index])


class LiveSession:
    """Thread-safe store of the latest frame result and the session's timeline of dominant emotions.

    The timeline holds one model's emotions: a frame from a model with other emotions (another model was picked)
    starts it afresh.
    """

    def __init__(self, max_rows: int = MAX_TIMELINE_ROWS) -> None:
        self._lock = threading.Lock()
        self.smoothing = DEFAULT_SMOOTHING_S
        """Seconds each person's probabilities are averaged over; set by the page, applied by the video thread."""
        self.detector = DETECTORS[0]
        """The face detector's name; set by the page, applied by the video thread."""
        self._rows: deque[tuple] = deque(maxlen=max_rows)
        self._start: float | None = None
        self._frames = 0
        self._faces = 0
        self._fps = 0.0
        self._current: dict[int, FacePrediction] = {}
        self._last: dict[int, FacePrediction] = {}
        self._error: str | None = None
        self._emotions: tuple[str, ...] = FER2013.emotions

    @property
    def emotions(self) -> tuple[str, ...]:
        """The emotions of the model whose results the timeline holds."""
        with self._lock:
            return self._emotions

    def use_emotions(self, emotions: tuple[str, ...]) -> None:
        """Hold results of a model with these emotions from now on (a new timeline when they differ)."""
        with self._lock:
            self._use_emotions(tuple(emotions))

    def _use_emotions(self, emotions: tuple[str, ...]) -> None:
        if emotions != self._emotions:
            self._emotions = emotions
            self._rows.clear()
            self._start, self._current, self._last = None, {}, {}

    def record(self, result: FrameResult) -> None:
        """Called by the video thread after each analysed frame."""
        with self._lock:
            if result.faces:
                self._use_emotions(tuple(result.faces[0].emotions))
            self._frames += 1
            self._faces = len(result.faces)
            self._fps = result.fps
            self._error = None
            self._current = {face.person: face for face in result.faces}  # largest first
            self._last.update(self._current)
            if result.faces and self._start is None:
                self._start = result.timestamp
            for face in result.faces:
                self._rows.append(
                    (result.timestamp, result.timestamp - self._start, len(result.faces), face.person,
                     face.label_index, *np.asarray(face.probabilities, dtype=np.float32).tolist())
                )

    def record_error(self, error: BaseException) -> None:
        with self._lock:
            self._error = f"{type(error).__name__}: {error}"

    def snapshot(self, person: int | None = None) -> LiveSnapshot:
        """What the video thread last reported, about ``person`` while in view, else about the largest face."""
        with self._lock:
            people, seen = list(self._current), sorted(self._last)
            chosen = person if person in self._current else (people[0] if people else None)
            face = self._current.get(chosen)
            last = self._last.get(person if person in self._last else chosen)
            return LiveSnapshot(
                frames=self._frames,
                faces=self._faces,
                fps=self._fps,
                person=chosen,
                people=people,
                seen=seen,
                label_index=None if face is None else face.label_index,
                probabilities=None if face is None else np.array(face.probabilities, dtype=np.float32),
                face=None if last is None else np.array(last.face, dtype=np.uint8),
                error=self._error,
                emotions=self._emotions if face is None else tuple(face.emotions),
            )

    @property
    def rows(self) -> int:
        """Timeline rows so far (one per face per analysed frame)."""
        with self._lock:
            return len(self._rows)

    def timeline(self, last_seconds: float | None = None) -> pd.DataFrame:
        """One row per face per analysed frame: when, who, the dominant emotion, its confidence, all probabilities."""
        with self._lock:
            rows, emotions = list(self._rows), self._emotions
        if last_seconds is not None and rows:
            cutoff = rows[-1][1] - last_seconds
            rows = [row for row in rows if row[1] >= cutoff]
        columns = timeline_columns(emotions)
        probability_columns = columns[len(FACE_COLUMNS):]
        frame = pd.DataFrame(rows, columns=["timestamp", "seconds", "faces", "person", "label_index",
                                            *probability_columns])
        probabilities = frame[probability_columns].to_numpy()
        frame.insert(0, "time", [datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds")
                                 for t in frame["timestamp"]])
        frame["emotion"] = [emotions[int(i)] for i in frame["label_index"]]
        frame["confidence"] = probabilities.max(axis=1) if len(frame) else []
        frame["seconds"] = frame["seconds"].round(3)
        return frame[columns]

    def timeline_csv(self) -> bytes:
        buffer = io.StringIO()
        self.timeline().to_csv(buffer, index=False, float_format="%.4f")
        return buffer.getvalue().encode()

    def clear(self) -> None:
        with self._lock:
            self._rows.clear()
            self._start = None
            self._frames = 0
            self._current, self._last = {}, {}


def make_video_callback(analyzer: LiveAnalyzer, session: LiveSession):
    """The ``video_frame_callback`` for ``webrtc_streamer``: annotate each frame, report to ``session``.

    With ``async_processing`` (the default) streamlit-webrtc drops frames that arrive while this runs,
    so a slow model lowers the frame rate instead of building a queue.
    """

    def callback(frame: av.VideoFrame) -> av.VideoFrame:
        image = bgr_from_frame(frame)
        try:
            analyzer.set_smoothing(session.smoothing)
            analyzer.set_detector(session.detector)
            annotated, result = analyzer.annotate(image)
        except Exception as error:  # keep the video running; the page shows what went wrong
            session.record_error(error)
            return frame
        session.record(result)
        out = frame_from_bgr(annotated)
        out.pts = frame.pts
        if frame.time_base is not None:
            out.time_base = frame.time_base
        return out

    return callback


def parse_ice_servers(value) -> list[dict]:
    """ICE servers from JSON text or a list of ``{"urls": ...}`` mappings (or bare URL strings)."""
    if isinstance(value, str):
        value = json.loads(value) if value.strip() else []
    if isinstance(value, dict):
        value = value.get("iceServers", [value])
    if not isinstance(value, (list, tuple)):
        raise ValueError("expected a list of ICE servers")
    servers = []
    for server in value:
        if isinstance(server, str):
            servers.append({"urls": [server]})
        elif hasattr(server, "keys") and "urls" in server:
            servers.append({key: (list(item) if isinstance(item, (list, tuple)) else item)
                            for key, item in dict(server).items()})
        else:
            raise ValueError(f"an ICE server needs 'urls': {server!r}")
    return servers


def rtc_configuration(env_value: str | None, secrets_value=None) -> tuple[dict, str | None]:
    """``{"iceServers": [...]}`` from ``FER_ICE_SERVERS`` (JSON), else Streamlit secrets, else none.

    An empty list keeps WebRTC on the local network (no STUN/TURN lookups, works offline);
    ``{}`` or ``None`` would make streamlit-webrtc reach for Google's STUN server.
    Returns the configuration and a warning for a setting that could not be read.
    """
    for name, value in ((ICE_ENV_VAR, env_value), ("secrets ice_servers", secrets_value)):
        if value is None or value == "":
            continue
        try:
            return {"iceServers": parse_ice_servers(value)}, None
        except ValueError as error:  # json.JSONDecodeError is a ValueError
            return {"iceServers": []}, f"{name} ignored: {error}"
    return {"iceServers": []}, None
