"""Several videos uploaded at once on the Video page: a table of their statuses, people and one combined table.
Owns BatchFile, BATCH_RESULT, analyse_files, batch_view, show_batch, status_table and combined_csv.

Each file goes through :func:`components.video_analysis.analyse_video`, so nothing stays on the server's disk;
of each file only its summary and frames.csv are kept (no annotated video), and only for the latest batch.
As with ``train_cli.py analyze`` on many files, a file that cannot be analysed, or breaks off part-way, fails
alone with its reason, and the combined table (a ``video`` column, then frames.csv's) holds the finished ones.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple

import pyarrow as pa
import streamlit as st

from components.video_analysis import analyse_video, progress_text
from components.video_charts import shares_table, summary_emotions
from core.analysis.batch_inputs import unique_names
from core.analysis.batch_record import read_frames_table
from core.analysis.progress import Progress
from core.analysis.video_reader import VideoAnalysisError
from core.model.classifier import EmotionClassifier

DONE, FAILED = "done", "failed"
BATCH_RESULT = "video_batch_result"
"""Session key of (what was analysed, list of BatchFile): the one batch this session keeps."""


class BatchFile(NamedTuple):
    name: str
    """Unique among the batch's files: the upload's stem, told apart from another of the same name."""
    status: str
    reason: str | None
    summary: dict | None
    frames_csv: bytes | None


def analyse_files(
    uploads: Sequence[tuple[str, bytes | Callable[[], bytes]]],
    classifier: EmotionClassifier,
    every: int = 1,
    progress: Callable[[int, str, Progress | None], None] | None = None,
) -> list[BatchFile]:
    """Analyse (file name, bytes or a function that reads them) pairs one after another, reading each file only
    when its turn comes; ``progress(index, name, update)`` as they go."""
    names = unique_names([Path(f"upload{index}") / name for index, (name, _) in enumerate(uploads)])
    files = []
    for index, ((upload_name, data), name) in enumerate(zip(uploads, names.values(), strict=True)):
        if progress is not None:
            progress(index, upload_name, None)
        content = data() if callable(data) else data
        try:
            result = analyse_video(content, upload_name, classifier, every, _for_file(progress, index, upload_name))
        except VideoAnalysisError as error:
            files.append(BatchFile(name, FAILED, str(error), None, None))
            continue
        if not result.summary["complete"]:
            files.append(BatchFile(name, FAILED, result.summary["error"], None, None))
            continue
        files.append(BatchFile(name, DONE, None, result.summary, result.frames_csv))
    return files


def _for_file(progress: Callable | None, index: int, name: str) -> Callable[[Progress], None] | None:
    return None if progress is None else lambda update: progress(index, name, update)


def status_table(files: Sequence[BatchFile]) -> list[dict]:
    return [{
        "video": file.name, "status": file.status, "reason": file.reason or "",
        "duration (s)": None if file.summary is None else file.summary["video"]["duration_s"],
        "frames": None if file.summary is None else file.summary["analysis"]["frames_decoded"],
        "people": None if file.summary is None else len(file.summary["people"]),
        "seconds taken": None if file.summary is None else file.summary["analysis"]["wall_seconds"],
    } for file in files]


def combined_csv(files: Sequence[BatchFile]) -> bytes:
    """Every face of every finished file: a ``video`` column, then frames.csv's columns."""
    tables = [read_frames_table(io.BytesIO(file.frames_csv), file.name) for file in files if file.status == DONE]
    if not tables:
        return b"video\n"
    return pa.concat_tables(tables, promote_options="default").to_pandas().to_csv(index=False).encode()


def batch_view(uploads: Sequence, classifier: EmotionClassifier, every: int, model_key: str, single_key: str) -> None:
    """The page's part for several uploads: analyse them (unless this session just did), then :func:`show_batch`.

    ``single_key`` is the session key of the page's one-file result, dropped first: one analysis per session."""
    wanted = (tuple(upload.file_id for upload in uploads), every, model_key)
    stored = st.session_state.get(BATCH_RESULT)
    if stored is None or stored[0] != wanted:
        st.session_state.pop(BATCH_RESULT, None)
        st.session_state.pop(single_key, None)
        bar = st.progress(0.0, text=f"Analysing {len(uploads)} videos…")
        shown = [0.0]

        def show(index: int, name: str, update: Progress | None) -> None:
            if update is not None and time.monotonic() - shown[0] < 0.25:
                return
            shown[0] = time.monotonic()
            within = min(1.0, update.video_s / update.duration_s) if update and update.duration_s else 0.0
            text = f"Video {index + 1} of {len(uploads)}, {name}" + (f": {progress_text(update)}" if update else "")
            bar.progress(min(1.0, (index + within) / len(uploads)), text=text)

        files = analyse_files([(upload.name, upload.getvalue) for upload in uploads], classifier, every, show)
        bar.empty()
        st.session_state[BATCH_RESULT] = (wanted, files)
    show_batch(st.session_state[BATCH_RESULT][1])


def show_batch(files: Sequence[BatchFile]) -> None:
    """The table of files, each finished file's per-person summary, and the combined download."""
    done = [file for file in files if file.status == DONE]
    failed = len(files) - len(done)
    st.success(f"{len(done)} of {len(files)} videos analysed" + (f"; {failed} could not be." if failed else "."))
    st.dataframe(status_table(files), hide_index=True)
    st.subheader("People in each video")
    for file in done:
        summary = file.summary
        people = len(summary["people"])
        with st.expander(f"{file.name}: {people} {'person' if people == 1 else 'people'}", expanded=len(done) <= 3):
            if not people:
                st.caption("No face found in this video.")
                continue
            st.dataframe(shares_table(summary), hide_index=True, column_config={
                emotion: st.column_config.ProgressColumn(emotion, format="percent", min_value=0, max_value=1,
                                                         width="small")
                for emotion in summary_emotions(summary)})
    st.download_button("frames of every video (CSV)", combined_csv(files), "videos_frames.csv", "text/csv",
                       on_click="ignore", icon=":material/table:")
    st.caption("One row per face per analysed frame, the first column naming the video. Kept in this browser "
               "session's memory only (the latest batch; a new analysis replaces it), without the annotated videos: "
               "upload one file alone to watch it.")
