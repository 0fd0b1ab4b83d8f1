"""The glue between the video thread and the live page: callback, result store, timeline, ICE settings."""

from __future__ import annotations

import io
import json
import threading
import time

import av
import numpy as np
import pandas as pd
import pytest
from components.live_session import (
    LiveSession,
    make_video_callback,
    parse_ice_servers,
    rtc_configuration,
    timeline_columns,
)
from dash_support import paste_faces

from core.analysis.live import FrameResult
from core.labels import FER2013, FERPLUS
from core.model.classifier import FacePrediction
from core.vision.detect import Box


def video_frame(bgr: np.ndarray, pts: int = 0) -> av.VideoFrame:
    frame = av.VideoFrame.from_ndarray(bgr, format="bgr24")
    frame.pts = pts
    return frame


@pytest.fixture
def live(classifier):
    from core.analysis.live import LiveAnalyzer

    session = LiveSession()
    analyzer = LiveAnalyzer(classifier)
    return session, analyzer, make_video_callback(analyzer, session)


def test_callback_boxes_the_face_and_reports_it(live, detectable_faces, classifier):
    session, _, callback = live
    bgr = paste_faces([detectable_faces[0]])
    out = callback(video_frame(bgr, pts=1234))

    annotated = out.to_ndarray(format="bgr24")
    assert annotated.shape == bgr.shape
    assert out.pts == 1234
    # The box and label are drawn on the frame (in the emotion's colour, which for Neutral is grey).
    assert (annotated != bgr).any(axis=2).sum() > 500

    snap = session.snapshot()
    assert snap.frames == 1 and snap.faces == 1
    assert snap.label in classifier.labels.emotions and snap.emotions == classifier.labels.emotions
    assert snap.face.shape == (48, 48) and snap.face.dtype == np.uint8
    assert np.isclose(snap.probabilities.sum(), 1.0, atol=1e-3)
    assert snap.confidence == pytest.approx(float(snap.probabilities.max()))


def test_callback_without_a_face_passes_the_frame_through(live):
    session, _, callback = live
    grey = np.full((480, 640, 3), 128, dtype=np.uint8)
    out = callback(video_frame(grey))
    assert np.array_equal(out.to_ndarray(format="bgr24"), grey)
    snap = session.snapshot()
    assert snap.frames == 1 and snap.faces == 0 and snap.label is None
    assert session.timeline().empty


def test_smoothing_and_detector_set_by_the_page_reach_the_analyser(live, detectable_faces, classifier):
    session, analyzer, callback = live
    from core.analysis.live import LiveAnalyzer

    frames = [paste_faces([detectable_faces[index]]) for index in (1, 2, 1, 3)]
    # Unsmoothed, through the same tracked path (a person's framing is reused from frame to frame)
    unsmoothed = LiveAnalyzer(classifier, smoothing_s=0.0)
    raw = [unsmoothed.analyze(frame, float(t)).faces[0].probabilities for t, frame in enumerate(frames)]

    session.smoothing = 0.0
    for frame in frames:
        callback(video_frame(frame))
    assert analyzer.smoothing_s == 0.0
    assert np.allclose(session.snapshot().probabilities, raw[-1], atol=1e-5)

    session.smoothing = 1e6  # the same person, so the new face barely moves their average
    callback(video_frame(frames[1]))
    assert analyzer.smoothing_s == 1e6
    assert np.allclose(session.snapshot().probabilities, raw[-1], atol=1e-4)
    assert session.snapshot().person == 1

    session.detector = "haar"
    callback(video_frame(frames[0]))
    assert analyzer.detector_name == "haar" and session.snapshot().faces == 1


def test_analysis_errors_are_reported_not_raised(detectable_faces):
    class Broken:
        def set_smoothing(self, seconds):
            pass

        def set_detector(self, name):
            pass

        def annotate(self, frame):
            raise RuntimeError("model exploded")

    session = LiveSession()
    frame = video_frame(paste_faces([detectable_faces[0]]))
    assert make_video_callback(Broken(), session)(frame) is frame
    assert "model exploded" in session.snapshot().error


def test_timeline_csv_has_one_row_per_face_frame(live, detectable_faces, classifier):
    session, _, callback = live
    for face in detectable_faces[:3]:
        callback(video_frame(paste_faces([face])))
    callback(video_frame(np.full((480, 640, 3), 128, dtype=np.uint8)))  # no face: no row

    table = pd.read_csv(io.BytesIO(session.timeline_csv()))
    emotions = classifier.labels.emotions
    assert list(table.columns) == timeline_columns(emotions)
    assert len(table) == 3
    assert set(table.emotion) <= set(emotions)
    probabilities = table[[f"p_{name}" for name in emotions]].to_numpy()
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-3)
    assert np.allclose(table.confidence, probabilities.max(axis=1), atol=1e-4)
    assert (table.seconds.diff().dropna() >= 0).all()

    session.clear()
    assert session.timeline().empty and session.snapshot().face is None


def eight_emotion_face(person: int, top: int) -> FacePrediction:
    """A face as a FER+ model (eight emotions) reports it, most sure of emotion ``top``."""
    probabilities = np.full(8, 0.02, dtype=np.float32)
    probabilities[top] = 1 - 0.02 * 7
    return FacePrediction(Box(10, 10, 96, 96), np.zeros((48, 48), np.uint8), probabilities, person=person,
                          emotions=FERPLUS.emotions)


def test_a_model_with_other_emotions_starts_a_new_timeline(detectable_faces):
    from core.analysis.live import LiveAnalyzer
    from core.model.classifier import EmotionClassifier

    session = LiveSession()
    callback = make_video_callback(LiveAnalyzer(EmotionClassifier.load("fer2013")), session)  # seven emotions
    callback(video_frame(paste_faces([detectable_faces[0]])))
    assert len(session.timeline()) == 1 and session.emotions == FER2013.emotions

    # Another model was picked: its frames name eight emotions, Contempt last.
    session.record(FrameResult([eight_emotion_face(1, top=7)], time.time(), 10.0))
    session.record(FrameResult([eight_emotion_face(1, top=3)], time.time(), 10.0))
    snap = session.snapshot()
    assert snap.label == "Happy"  # the latest frame's top emotion
    assert session.emotions[-1] == "Contempt" and snap.emotions == session.emotions
    table = pd.read_csv(io.BytesIO(session.timeline_csv()))
    assert list(table.columns) == timeline_columns(session.emotions) and list(table.columns)[-1] == "p_Contempt"
    assert list(table.emotion) == ["Contempt", "Happy"]  # the first model's row is gone, not mixed in

    session.use_emotions(FER2013.emotions)  # the page went back to the first model
    assert session.timeline().empty and list(session.timeline().columns) == timeline_columns(FER2013.emotions)


def test_session_is_safe_to_share_between_threads(live, detectable_faces):
    session, _, callback = live
    frame = paste_faces([detectable_faces[0]])
    stop = threading.Event()
    errors = []

    def reader():
        while not stop.is_set():
            try:
                session.snapshot()
                session.timeline(last_seconds=60)
            except Exception as error:  # pragma: no cover - the assertion below reports it
                errors.append(error)
                return
            time.sleep(0.001)

    thread = threading.Thread(target=reader)
    thread.start()
    for pts in range(6):
        callback(video_frame(frame, pts))
    stop.set()
    thread.join()
    assert not errors
    assert len(session.timeline()) == 6


def test_ice_servers_default_to_none_and_offline():
    assert rtc_configuration(None, None) == ({"iceServers": []}, None)
    assert rtc_configuration("", None) == ({"iceServers": []}, None)


def test_ice_servers_from_environment_json_take_precedence():
    servers = [{"urls": ["turn:turn.example.org:3478"], "username": "u", "credential": "p"}]
    config, warning = rtc_configuration(json.dumps(servers), [{"urls": "stun:other.example.org"}])
    assert warning is None
    assert config == {"iceServers": servers}


def test_ice_servers_from_secrets_and_bare_urls():
    config, warning = rtc_configuration(None, [{"urls": "stun:stun.example.org:3478"}])
    assert config == {"iceServers": [{"urls": "stun:stun.example.org:3478"}]} and warning is None
    assert parse_ice_servers('["stun:a.example.org"]') == [{"urls": ["stun:a.example.org"]}]


def test_bad_ice_setting_warns_and_stays_offline():
    config, warning = rtc_configuration("{not json", None)
    assert config == {"iceServers": []}
    assert "FER_ICE_SERVERS" in warning
    with pytest.raises(ValueError, match="urls"):
        parse_ice_servers([{"url": "stun:x"}])
