"""Video: upload a video file (or several, or take the sample clip) and see every person's emotions over time.
The page holds the layout; the analysis is :mod:`components.video_analysis`, the charts :mod:`components.video_charts`.

Results stay in this browser session's memory only, and only the latest analysis (a new one replaces
it); the upload and the output files are deleted from the server's disk as soon as they are read.
"""

from __future__ import annotations

import time

import streamlit as st
from components.model import get_classifier, model_path, model_version
from components.page import page_header
from components.video_analysis import analyse_video, progress_text
from components.video_batch import BATCH_RESULT, batch_view
from components.video_charts import clicked_time, shares_figure, shares_table, summary_emotions, timeline_figure
from components.video_sample import SAMPLE_NAME, sample_clip

from core.analysis.progress import Progress
from core.analysis.video_reader import VideoAnalysisError

VIDEO_TYPES = ["mp4", "mov", "m4v", "mkv", "webm", "avi", "mpeg", "mpg", "3gp"]
UPLOAD, SAMPLE = "Upload a video", "Sample clip (two drawn faces, 5 s)"
RESULT = "video_result"  # (what was analysed, VideoResult): the one analysis this session keeps

page_header(
    "Video", ":material/movie:",
    "Upload a video: every face is tracked as a person, labelled frame by frame, and drawn on a video you can play "
    "and download.",
)

classifier = get_classifier()
if classifier is None:
    st.stop()

source_column, every_column = st.columns([3, 1])
source = source_column.radio("Video", [UPLOAD, SAMPLE], horizontal=True, key="video_source")
every = every_column.number_input("Analyse every N-th frame", 1, 30, 1, key="video_every",
                                  help="2 or 3 is 2 or 3 times as fast; the frames between keep the last boxes.")
if source == UPLOAD:
    uploads = st.file_uploader("Video files (up to 200 MB each; several make a batch)", type=VIDEO_TYPES,
                               key="video_upload", accept_multiple_files=True)
    if not uploads:
        st.info("Upload an MP4, MOV, MKV, WebM or AVI video, or several at once, or pick the sample clip above.",
                icon=":material/info:")
        st.stop()
    if len(uploads) > 1:  # several: a table of files, each one's people, one combined download
        batch_view(uploads, classifier, every, f"{model_path()}:{model_version()}", RESULT)
        st.stop()
    uploaded = uploads[0]
    name, data, wanted = uploaded.name, uploaded.getvalue(), (uploaded.file_id, every)
else:
    name, data, wanted = SAMPLE_NAME, sample_clip(), (SAMPLE_NAME, every)
wanted = (*wanted, f"{model_path()}:{model_version()}")  # another model analyses the video afresh

stored = st.session_state.get(RESULT)
if stored is None or stored[0] != wanted:
    st.session_state.pop(RESULT, None)  # one analysis per session: drop the old one before making the next
    st.session_state.pop(BATCH_RESULT, None)
    bar = st.progress(0.0, text=f"Analysing {name}…")
    shown = [0.0]

    def show(progress: Progress) -> None:
        if time.monotonic() - shown[0] < 0.25:
            return
        shown[0] = time.monotonic()
        fraction = min(1.0, progress.video_s / progress.duration_s) if progress.duration_s else 0.0
        bar.progress(fraction, text=f"Analysing {name}: {progress_text(progress)}")

    try:
        result = analyse_video(data, name, classifier, every, progress=show)
    except VideoAnalysisError as error:
        bar.empty()
        st.error(f"**This file cannot be analysed.** {error}", icon=":material/error:")
        st.stop()
    bar.empty()
    st.session_state[RESULT] = (wanted, result)
result = st.session_state[RESULT][1]
summary, analysis = result.summary, result.summary["analysis"]

if not summary["complete"]:
    st.warning(f"**The video is damaged.** {summary['error']}. The results cover it up to there.",
               icon=":material/warning:")
st.success(
    f"{analysis['frames_analysed']} of {analysis['frames_decoded']} frames analysed: {analysis['video_seconds']:.1f} s "
    f"of video in {analysis['wall_seconds']:.1f} s ({analysis['speed_x_real_time']:.1f}x real time), "
    f"{len(summary['people'])} {'person' if len(summary['people']) == 1 else 'people'} found."
)

timeline_key = "video_timeline_{}_{}".format(*st.session_state[RESULT][0])
start = clicked_time(st.session_state.get(timeline_key))
player_column, shares_column = st.columns([3, 2], gap="large")
with player_column:
    st.video(result.annotated_mp4, format="video/mp4", start_time=start or 0)
    if start is not None:
        st.caption(f"From {start:.2f} s, the moment clicked on the timeline.")
with shares_column:
    st.subheader("Emotion shares per person")
    if not summary["people"]:
        st.warning("**No face found in this video.** The detector looks for frontal faces at least 48 pixels wide.",
                   icon=":material/search:")
    else:
        st.plotly_chart(shares_figure(summary), key="video_shares", config={"displayModeBar": False})
if summary["people"]:  # full width: twelve columns do not fit beside the player
    st.dataframe(shares_table(summary), hide_index=True, column_config={
        emotion: st.column_config.ProgressColumn(emotion, format="percent", min_value=0, max_value=1, width="small")
        for emotion in summary_emotions(summary)})

st.subheader("Timeline")
st.caption("One row per person, one square per analysed frame in the colour of its emotion. Click a square to "
           "play the video from that moment.")
st.plotly_chart(timeline_figure(result.frames_csv), key=timeline_key, on_select="rerun", selection_mode="points",
                config={"displayModeBar": False})

st.subheader("Downloads")
csv_column, json_column, video_column = st.columns(3)
csv_column.download_button("frames.csv", result.frames_csv, f"{result.stem}_frames.csv", "text/csv",
                            on_click="ignore", icon=":material/table:")
json_column.download_button("summary.json", result.summary_json, f"{result.stem}_summary.json", "application/json",
                            on_click="ignore", icon=":material/data_object:")
video_column.download_button("annotated.mp4", result.annotated_mp4, f"{result.stem}_annotated.mp4", "video/mp4",
                             on_click="ignore", icon=":material/movie:")
st.caption("Kept in this browser session's memory only (the latest analysis; a new one replaces it) and gone when "
           "the session ends: nothing stays on the server's disk. Download what you want to keep.")
