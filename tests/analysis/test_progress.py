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


def test_printer_off_a_terminal_writes_plain_lines_at_its_pace_and_the_last_one():
    stream = io.StringIO()
    printer = ProgressPrinter(stream, every_s=3600)
    for frame in range(1, 46):
        printer(Progress(frame, frame, frame / 15, 3.0, frame / 60))
    printer.done()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2 and "\r" not in stream.getvalue()  # the first, then where the work ended
    assert "  2%" in lines[0] and "100%" in lines[1] and "45 frames" in lines[1]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_bar_on_a_terminal_ends_where_the_work_did():
    stream = Terminal()
    printer = ProgressPrinter(stream)
    for frame in range(1, 46):  # faster than the bar's pace: most are not drawn
        printer(Progress(frame, frame, frame / 15, 3.0, frame / 60))
    printer.done()
    shown = stream.getvalue()
    assert shown.endswith("\n")
    assert "100%" in shown.rstrip("\n").split("\r")[-1] and "45 frames" in shown.rstrip("\n").split("\r")[-1]


def test_a_shorter_line_redrawn_in_place_leaves_nothing_of_the_longer_one():
    stream = Terminal()
    printer = ProgressPrinter(stream, every_s=0, formatter=str)
    printer("a long first line")
    printer("short")
    printer.done()
    assert stream.getvalue().split("\r")[-1] == "short".ljust(len("a long first line")) + "\n"
