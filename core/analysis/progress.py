"""How far a recording's or a batch's analysis has got, and a terminal line that shows it (speed and time left).
Owns Progress, BatchProgress, ProgressPrinter, format_progress and format_batch_progress.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any, NamedTuple, TextIO


class Progress(NamedTuple):
    frames_decoded: int
    frames_analysed: int
    video_s: float
    """Seconds of video done."""
    duration_s: float | None
    """The video's length, where the file says."""
    wall_s: float
    """Seconds since the analysis started."""

    @property
    def frames_per_s(self) -> float:
        return self.frames_decoded / self.wall_s if self.wall_s > 0 else 0.0

    @property
    def speed(self) -> float:
        """Seconds of video per wall-clock second (x real time)."""
        return _speed(self.video_s, self.wall_s)

    @property
    def eta_s(self) -> float | None:
        return _time_left(self.duration_s, self.video_s, self.speed)


class BatchProgress(NamedTuple):
    files_done: int
    """Inputs finished, whatever their status (done, failed or skipped)."""
    files_total: int
    failed: int
    video_s: float
    """Seconds of video analysed by this run (the file under way included, where it reports)."""
    video_s_total: float | None
    """Seconds of video this run has to analyse, where the files say; None where one does not."""
    wall_s: float

    @property
    def speed(self) -> float:
        """Seconds of video per wall-clock second, over the whole batch so far."""
        return _speed(self.video_s, self.wall_s)

    @property
    def eta_s(self) -> float | None:
        return _time_left(self.video_s_total, self.video_s, self.speed)


def _speed(video_s: float, wall_s: float) -> float:
    return video_s / wall_s if wall_s > 0 else 0.0


def _time_left(total_s: float | None, done_s: float, speed: float) -> float | None:
    """Wall-clock seconds until ``total_s`` of video are done at ``speed``; None where either is unknown."""
    if not total_s or speed <= 0:
        return None
    return max(0.0, total_s - done_s) / speed


class ProgressPrinter:
    """Call with each :class:`Progress`: on a terminal a bar redrawn in place, else a plain line every ``every_s``.

    Writes to ``stream``, by default whatever ``sys.stderr`` is when the printer is made; ``formatter`` makes the
    line (:func:`format_batch_progress` for a :class:`BatchProgress`).
    """

    def __init__(
        self, stream: TextIO | None = None, every_s: float | None = None, formatter: Callable[[Any], str] | None = None
    ) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.every_s = every_s if every_s is not None else (0.2 if self.tty else 5.0)
        self.formatter = formatter or format_progress
        self._next = 0.0
        self._last: Any = None
        """The latest progress reported, drawn or not."""
        self._drawn: Any = None
        self._width = 0

    def __call__(self, progress: Any) -> None:
        self._last = progress
        now = time.monotonic()
        if now < self._next:
            return
        self._next = now + self.every_s
        self._draw(progress)

    def _draw(self, progress: Any) -> None:
        line = self.formatter(progress)
        if self.tty:  # redrawn in place: pad over the end of a longer previous line
            self.stream.write("\r" + line.ljust(self._width))
            self._width = len(line)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()
        self._drawn = progress

    def done(self) -> None:
        """Draws the latest progress if the pace skipped it, so the bar ends where the work did; ends the line."""
        if self._last is not None and self._last is not self._drawn:
            self._draw(self._last)
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def format_progress(progress: Progress, width: int = 30) -> str:
    """'[#########-----]  45%  1350 frames  92.1 frames/s  3.1x real time  ETA 0:42'."""
    parts = []
    if progress.duration_s:
        fraction = min(1.0, progress.video_s / progress.duration_s)
        filled = round(fraction * width)
        parts.append(f"[{'#' * filled}{'-' * (width - filled)}] {fraction:4.0%}")
    parts.append(f"{progress.frames_decoded} frame{'' if progress.frames_decoded == 1 else 's'}")
    parts.append(f"{progress.frames_per_s:.1f} frames/s")
    parts.append(f"{progress.speed:.1f}x real time")
    if progress.eta_s is not None:
        minutes, seconds = divmod(round(progress.eta_s), 60)
        parts.append(f"ETA {minutes}:{seconds:02d}")
    return "  ".join(parts)


def format_batch_progress(progress: BatchProgress, width: int = 30) -> str:
    """'[######--------]  3/8 files (1 failed)  0:03:00 of 0:07:12 of video  6.2x real time  ETA 0:42'."""
    parts = []
    if progress.video_s_total:
        fraction = min(1.0, progress.video_s / progress.video_s_total)
    else:
        fraction = progress.files_done / progress.files_total if progress.files_total else 1.0
    filled = round(fraction * width)
    parts.append(f"[{'#' * filled}{'-' * (width - filled)}]")
    failed = f" ({progress.failed} failed)" if progress.failed else ""
    parts.append(f"{progress.files_done}/{progress.files_total} files{failed}")
    total = f" of {_clock(progress.video_s_total)}" if progress.video_s_total else ""
    parts.append(f"{_clock(progress.video_s)}{total} of video")
    parts.append(f"{progress.speed:.1f}x real time")
    if progress.eta_s is not None:
        parts.append(f"ETA {_clock(progress.eta_s)}")
    return "  ".join(parts)


def _clock(seconds: float) -> str:
    """Hours, minutes and seconds: '12:03:07'."""
    minutes, seconds = divmod(round(seconds), 60)
    return f"{minutes // 60}:{minutes % 60:02d}:{seconds:02d}"
