"""Encode BGR frames to an H.264 MP4 one at a time, as they come: browsers play it while it loads.
Owns H264Writer.

libx264, yuv420p (what every browser decodes), ``+faststart`` (the index at the front of the
file, so playback starts before the whole file has arrived). Each frame keeps its own
timestamp, so a variable-frame-rate source keeps its timing.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

TIME_BASE = Fraction(1, 1000)
"""Frame timestamps in milliseconds."""
PRESET = "veryfast"
"""x264 speed preset: about a third of 'medium''s encoding time for a slightly larger file."""


class H264Writer:
    """An MP4 file being written; use as a context manager (closing flushes the encoder and writes the index)."""

    def __init__(self, path: str | Path, width: int, height: int, fps: float | None, preset: str = PRESET) -> None:
        if width % 2 or height % 2:
            raise ValueError(f"H.264 in yuv420p needs even dimensions, got {width}x{height}")
        self._container = av.open(str(path), "w", options={"movflags": "+faststart"})
        rate = Fraction(fps or 30).limit_denominator(1001)
        self._stream = self._container.add_stream("libx264", rate=rate, options={"preset": preset})
        self._stream.width, self._stream.height, self._stream.pix_fmt = width, height, "yuv420p"
        self._stream.codec_context.time_base = TIME_BASE
        self._start: float | None = None
        self._last_pts = -1

    def write(self, image: np.ndarray, time_s: float) -> None:
        """Encode one BGR frame shown at ``time_s`` (seconds in the source; the file starts at its first frame)."""
        if self._start is None:
            self._start = time_s
        frame = av.VideoFrame.from_ndarray(image, format="bgr24")
        pts = max(round((time_s - self._start) / TIME_BASE), self._last_pts + 1)  # strictly increasing
        frame.pts, frame.time_base, self._last_pts = pts, TIME_BASE, pts
        self._container.mux(self._stream.encode(frame))

    def close(self) -> None:
        """Flush the frames the encoder still holds and finish the file."""
        try:
            self._container.mux(self._stream.encode(None))
        finally:
            self._container.close()

    def __enter__(self) -> H264Writer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
