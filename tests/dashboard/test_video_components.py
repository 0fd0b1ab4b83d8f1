"""The Video page's pieces without a browser: the analysis leaves nothing on disk, the charts read its files."""

from __future__ import annotations

import json
import tempfile

import pytest
from components.video_analysis import analyse_video, progress_text
from components.video_charts import clicked_time, shares_table, summary_emotions, timeline_figure
from components.video_sample import sample_clip

from core.analysis.progress import Progress
from core.analysis.video_reader import VideoAnalysisError


@pytest.fixture
def private_tmp(monkeypatch, tmp_path):
    """tempfile's folder moved to an empty one, to see what an analysis leaves behind."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def test_sample_clip_analysis_keeps_bytes_only(classifier, private_tmp, tmp_path):
    seen: list[Progress] = []
    result = analyse_video(sample_clip(tmp_path), "my clip (1).mp4", classifier, every=2, progress=seen.append)
    assert not list(private_tmp.iterdir())  # the upload and the outputs are gone
    assert result.name == "my_clip__1_.mp4" and result.stem == "my_clip__1_"
    assert result.summary["source"] == result.name == json.loads(result.summary_json)["source"]
    assert result.summary["analysis"]["every"] == 2 and len(result.summary["people"]) == 2
    assert result.annotated_mp4[4:8] == b"ftyp" and seen and seen[-1].frames_decoded == 75
    table = shares_table(result.summary)
    emotions = list(classifier.labels.emotions)
    assert list(table.columns[5:]) == emotions and summary_emotions(result.summary) == emotions
    assert list(table.person) == ["#1", "#2"] and table[emotions].sum(axis=1).round(3).eq(1).all()
    figure = timeline_figure(result.frames_csv)
    assert sum(len(trace.x) for trace in figure.data) == result.frames_csv.count(b"\n") - 1


def test_bad_input_raises_and_leaves_nothing(classifier, private_tmp):
    with pytest.raises(VideoAnalysisError, match="not a video FFmpeg can read"):
        analyse_video(b"plain text", "notes.mp4", classifier)
    assert not list(private_tmp.iterdir())


def test_clicked_time_and_progress_text():
    assert clicked_time(None) is None and clicked_time({"selection": {"points": []}}) is None
    assert clicked_time({"selection": {"points": [{"x": 0.5}, {"x": 1.25}]}}) == 1.25
    text = progress_text(Progress(30, 30, 1.0, 4.0, 0.5))
    assert text == "30 frames · 1.0 s of 4.0 s · 2.0x real time · about 0:02 left"
