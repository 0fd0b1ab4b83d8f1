"""How far a recording's analysis has got, and a terminal line that shows it (frames/s and time left).
Owns Progress, ProgressPrinter and format_progress.
"""

from __future__ import annotations

import sys
import time
from typing import NamedTuple, TextIO


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
        return self.video_s / self.wall_s if self.wall_s > 0 else 0.0

    @property
    def eta_s(self) -> float | None:
        if not self.duration_s or self.speed <= 0:
            return None
        return max(0.0, self.duration_s - self.video_s) / self.speed


class ProgressPrinter:
    """Call with each :class:`Progress`: on a terminal a bar redrawn in place, else a plain line every ``every_s``.

    Writes to ``stream``, by default whatever ``sys.stderr`` is when the printer is made.
    """

    def __init__(self, stream: TextIO | None = None, every_s: float | None = None) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.every_s = every_s if every_s is not None else (0.2 if self.tty else 5.0)
        self._next = 0.0

    def __call__(self, progress: Progress) -> None:
        now = time.monotonic()
        if now < self._next:
            return
        self._next = now + self.every_s
        self.stream.write(("\r" if self.tty else "") + format_progress(progress) + ("" if self.tty else "\n"))
        self.stream.flush()

    def done(self) -> None:
        """Ends the bar's line on a terminal."""
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
    parts.append(f"{progress.frames_decoded} frames")
    parts.append(f"{progress.frames_per_s:.1f} frames/s")
    parts.append(f"{progress.speed:.1f}x real time")
    if progress.eta_s is not None:
        minutes, seconds = divmod(round(progress.eta_s), 60)
        parts.append(f"ETA {minutes}:{seconds:02d}")
    return "  ".join(parts)
