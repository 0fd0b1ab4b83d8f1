"""Live webcam: every face boxed and labelled on the video, with live charts beside it.
The page holds the layout; the video thread's glue is :mod:`components.live_session`.
"""

from __future__ import annotations

import os
import time

import numpy as np
import plotly.graph_objects as go
import streamlit as st
from components.charts import emotion_colour, probability_figure
from components.images import enlarge
from components.live_session import (
    CAMERA_MESSAGES,
    ICE_ENV_VAR,
    LiveSession,
    camera_watch_html,
    make_video_callback,
    rtc_configuration,
)
from components.model import get_classifier, model_path, model_version
from components.page import page_header, webrtc_problem
from components.saliency import SALIENCY_HELP, saliency_images

from core.analysis.live import LiveAnalyzer
from core.model.calibration import display_label
from core.vision import DETECTORS

POLL_SECONDS = 0.5
TIMELINE_SECONDS = 60

page_header(
    "Live webcam", ":material/videocam:",
    "Press Start and allow the camera: each face is boxed and labelled with a person id on the video; the chosen "
    "person's probabilities and each person's timeline of the dominant emotion update beside it.",
)

classifier = get_classifier()
problem = webrtc_problem()
if problem:
    st.error(f"**Live video is not available.** {problem} The Photo page works without it.", icon=":material/error:")
if classifier is None or problem:
    st.stop()

from streamlit_webrtc import WebRtcMode, webrtc_streamer  # noqa: E402  (only once webrtc_problem() allows it)


def secrets_ice_servers():
    try:
        return st.secrets["ice_servers"]
    except (KeyError, FileNotFoundError):
        return None


def session_objects() -> tuple[LiveSession, LiveAnalyzer]:
    """This browser session's result store and analyser (own detector and tracker; the model is shared)."""
    if "live_session" not in st.session_state:
        st.session_state["live_session"] = LiveSession()
    analyzer = st.session_state.get("live_analyzer")
    if analyzer is None or analyzer.classifier is not classifier:
        analyzer = LiveAnalyzer(classifier)
        st.session_state["live_analyzer"] = analyzer
    session = st.session_state["live_session"]
    session.use_emotions(classifier.labels.emotions)  # another model's timeline starts afresh
    return session, analyzer


def timeline_figure(session: LiveSession) -> go.Figure:
    """One row per person, each analysed frame a square in the colour of that person's dominant emotion."""
    timeline = session.timeline(last_seconds=TIMELINE_SECONDS)
    people = sorted(timeline["person"].unique().tolist())
    figure = go.Figure()
    for emotion in session.emotions:
        rows = timeline[timeline["emotion"] == emotion]
        figure.add_trace(go.Scatter(
            x=rows["seconds"], y=[f"#{person}" for person in rows["person"]], mode="markers", name=emotion,
            marker=dict(color=emotion_colour(emotion), size=9, symbol="square"),
            customdata=np.c_[rows["confidence"]] if len(rows) else None,
            hovertemplate=f"%{{y}} at %{{x:.1f}} s: {emotion} (%{{customdata[0]:.0%}})<extra></extra>",
        ))
    end = float(timeline["seconds"].max()) if len(timeline) else TIMELINE_SECONDS
    figure.update_layout(
        height=140 + 40 * len(people), margin=dict(l=10, r=10, t=30, b=10), showlegend=True,
        legend=dict(orientation="h", x=0, y=1.02, yanchor="bottom"),  # above the plot: below, it hid the axis title
        xaxis=dict(title="seconds since the first face", range=[max(0.0, end - TIMELINE_SECONDS), max(end, 1.0)]),
        yaxis=dict(type="category", categoryorder="array", categoryarray=[f"#{p}" for p in reversed(people)]),
    )
    return figure


def render_live(session: LiveSession, slots: dict, tick: int, person: int | None) -> None:
    """Fill the placeholders from the latest result (cheap: called every POLL_SECONDS while playing)."""
    snap = session.snapshot(person)
    slots["fps"].metric("Frames per second", f"{snap.fps:.1f}")
    slots["faces"].metric("Faces in frame", snap.faces)
    slots["people"].caption("People in view: " + (", ".join(f"#{p}" for p in sorted(snap.people)) or "none"))
    if snap.error:
        slots["status"].error(f"Analysis failed on the last frame: {snap.error}")
    elif snap.label is not None:
        slots["status"].markdown(
            f"### Current face: **{display_label(snap.label, snap.confidence, classifier.uncertain_below)}** "
            f"(person #{snap.person})"
        )
    elif snap.frames:
        slots["status"].info("No face in view: look at the camera, with your face well lit.")
    else:
        slots["status"].caption("Waiting for video…")
    emotions = snap.emotions if snap.probabilities is not None else classifier.labels.emotions
    probabilities = snap.probabilities if snap.probabilities is not None else np.zeros(len(emotions))
    slots["chart"].plotly_chart(probability_figure(probabilities, emotions), key=f"live_probabilities_{tick}",
                                config={"displayModeBar": False})
    timeline = timeline_figure(session)
    slots["timeline"].plotly_chart(timeline, key=f"live_timeline_{tick}", config={"displayModeBar": False})
    slots["rows"].caption(f"{session.rows:,} rows so far (one per face per analysed frame: time, person, emotion, "
                          f"confidence, all {len(session.emotions)} probabilities).")


session, analyzer = session_objects()
rtc_config, ice_warning = rtc_configuration(os.environ.get(ICE_ENV_VAR), secrets_ice_servers())
if ice_warning:
    st.warning(ice_warning)

video_column, side_column = st.columns([3, 2], gap="large")
with video_column:
    ctx = webrtc_streamer(
        key="emotion-live",
        mode=WebRtcMode.SENDRECV,
        rtc_configuration=rtc_config,
        media_stream_constraints={"video": True, "audio": False},
        video_frame_callback=make_video_callback(analyzer, session),
        async_processing=True,
        translations=CAMERA_MESSAGES,
    )
    st.html(camera_watch_html(), unsafe_allow_javascript=True)
    smoothing = st.slider(
        "Smoothing (seconds)", 0.0, 2.0, value=float(session.smoothing), step=0.1, key="live_smoothing",
        help="Average each person's probabilities over about this many seconds (never mixing people) to stop "
             "the label flickering.",
    )
    detector = st.radio(
        "Face detector", DETECTORS, index=DETECTORS.index(session.detector), key="live_detector", horizontal=True,
        help="blazeface finds faces at any head roll and levels the eyes; haar is OpenCV's cascade (upright faces).",
    )
    # the video thread applies both to its analyser before the next frame
    session.smoothing, session.detector = float(smoothing), detector
    with st.expander("Camera not working?"):
        st.markdown(
            "- Allow the camera when the browser asks; if you blocked it, re-allow it from the address bar.\n"
            "- Browsers share cameras only with `https://` pages or `http://localhost`.\n"
            "- Another program may be holding the camera; close it and press Start again.\n"
            f"- Away from localhost, a STUN/TURN server may be needed: set `{ICE_ENV_VAR}` (JSON list) or "
            "`ice_servers` in `.streamlit/secrets.toml`.\n"
            "- No camera at all? The **Photo** page works on uploaded pictures."
        )

with side_column:
    metric_columns = st.columns(2)
    seen = session.snapshot().seen
    followed = st.selectbox(
        "Probabilities of", [None, *seen], key="live_person",
        format_func=lambda person: "the largest face" if person is None else f"person #{person}",
        help="People seen so far this session (the list grows on the next interaction).",
    )
    slots = {
        "fps": metric_columns[0].empty(),
        "faces": metric_columns[1].empty(),
        "people": st.empty(),
        "status": st.empty(),
        "chart": st.empty(),
    }
    st.caption(f"Dominant emotion per person over the last {TIMELINE_SECONDS} s")
    slots["timeline"] = st.empty()

st.divider()
snap_column, download_column = st.columns([3, 2], gap="large")
with snap_column:
    st.subheader(":material/photo_camera_front: Snapshot")
    if st.button("Snapshot the current face", key="live_snapshot"):
        current = session.snapshot(followed)
        if current.face is None:
            st.warning("No face to snapshot yet: press Start and look at the camera.")
        else:
            st.session_state["snapshot_face"] = current.face
            st.session_state["snapshot_probabilities"] = current.probabilities
            st.session_state["snapshot_emotions"] = current.emotions
    face = st.session_state.get("snapshot_face")
    if face is not None:
        image_column, saliency_column, chart_column = st.columns([1, 1, 2])
        emotions = classifier.labels.emotions
        probabilities = st.session_state.get("snapshot_probabilities")
        if probabilities is None or st.session_state.get("snapshot_emotions") != emotions:  # another model's
            probabilities = classifier.predict_faces(face)[0]
        label = int(np.argmax(probabilities))
        shown = display_label(emotions[label], float(probabilities[label]), classifier.uncertain_below)
        image_column.image(enlarge(face), caption=f"{shown} (48x48, as the model saw it)")
        saliency = saliency_images(classifier, f"{model_path()}:{model_version()}", face, [label])[0]
        saliency_column.image(saliency, caption=f"Saliency: where {emotions[label]} comes from")
        saliency_column.caption(SALIENCY_HELP)
        chart_column.plotly_chart(probability_figure(probabilities, emotions), key="snapshot_chart")
    else:
        st.caption("The face crop (48x48 grayscale) and its probabilities appear here; other pages can reuse it.")
with download_column:
    st.subheader(":material/download: Session timeline")
    slots["rows"] = st.empty()
    st.download_button("Download timeline CSV", data=session.timeline_csv, file_name="emotion_timeline.csv",
                       mime="text/csv", on_click="ignore", key="live_download")
    if st.button("Clear timeline", key="live_clear"):
        session.clear()
        st.rerun()

tick = 0
render_live(session, slots, tick, followed)
while ctx.state.playing:
    time.sleep(POLL_SECONDS)
    tick += 1
    render_live(session, slots, tick, followed)
