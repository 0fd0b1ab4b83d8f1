"""The progress line: share done, frames/s, speed against real time and time left."""

from __future__ import annotations

import io

from core.analysis.progress import Progress, ProgressPrinter, format_progress


def test_format_progress_halfway():
    line = format_progress(Progress(frames_decoded=150, frames_analysed=75, video_s=5.0, duration_s=10.0, wall_s=2.5))
    assert "[###############---------------]  50%" in line
    assert "60.0 frames/s" in line and "2.0x real time" in line and "ETA 0:02" in line


def test_format_progress_without_a_known_length_has_no_bar_or_eta():
    line = format_progress(Progress(30, 30, 1.0, None, 0.5))
    assert "[" not in line and "ETA" not in line and "2.0x real time" in line


def test_printer_off_a_terminal_writes_plain_lines_at_its_pace():
    stream = io.StringIO()
    printer = ProgressPrinter(stream, every_s=3600)
    for frame in range(1, 50):
        printer(Progress(frame, frame, frame / 30, 10.0, frame / 60))
    printer.done()
    assert stream.getvalue().count("\n") == 1 and "\r" not in stream.getvalue()
