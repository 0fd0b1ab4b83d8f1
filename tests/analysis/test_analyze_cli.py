"""train_cli.py analyze: outputs and summary lines, exit 1 with one clear line for bad or broken files."""

from __future__ import annotations

import json

import train_cli
from tests.clips import CLIP_FRAMES, cut_in_half, write_audio_only


def test_analyze_every_second_frame(face_clip, tmp_path, capsys):
    out = tmp_path / "out"
    assert train_cli.main(["analyze", str(face_clip), "--out", str(out), "--every", "2"]) == 0
    printed = capsys.readouterr().out
    assert f"{CLIP_FRAMES // 2} of {CLIP_FRAMES} frames analysed" in printed
    assert "#1: 2.1 s on screen" in printed
    assert {path.name for path in out.iterdir()} == {"frames.csv", "summary.json", "annotated.mp4", "timeline.png"}
    assert json.loads((out / "summary.json").read_text())["analysis"]["every"] == 2


def test_truncated_video_exits_1_and_keeps_partial_results(face_clip, tmp_path, capsys):
    broken = cut_in_half(face_clip, tmp_path / "half.mp4")
    assert train_cli.main(["analyze", str(broken), "--out", str(tmp_path / "out")]) == 1
    error = capsys.readouterr().err
    assert "error: the video breaks off after" in error and "Traceback" not in error
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["complete"] is False


def test_not_a_video_and_audio_only_exit_1_with_one_line(tmp_path, capsys):
    text = tmp_path / "notes.mp4"
    text.write_text("hello")
    for source, message in ((text, "not a video"), (write_audio_only(tmp_path / "a.wav"), "no video stream")):
        assert train_cli.main(["analyze", str(source), "--out", str(tmp_path / "out")]) == 1
        error = capsys.readouterr().err
        assert error.startswith("error: ") and message in error and error.count("\n") == 1
    assert not (tmp_path / "out").exists()
