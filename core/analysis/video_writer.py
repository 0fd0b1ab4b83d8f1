"""Encode BGR frames to an H.264 MP4 one at a time, as they come: browsers play it while it loads.
Owns H264Writer.

libx264, yuv420p (what every browser decodes), ``+faststart`` (the index at the front of the
file, so playback starts before the whole file has arrived). Each frame keeps its own
timestamp, so a variable-frame-rate source keeps its timing. Frames are converted (by
:mod:`core.analysis.video_frames`) and encoded on a thread of the writer's own, through a short
queue, so encoding runs beside the caller's analysis of the next frames; an encoding error is
raised by a later ``write`` or by ``close``.
"""

from __future__ import annotations

import queue
import threading
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from core.analysis.video_frames import frame_from_bgr

TIME_BASE = Fraction(1, 1000)
"""Frame timestamps in milliseconds."""
PRESET = "veryfast"
"""x264 speed preset: about a third of 'medium''s encoding time for a slightly larger file."""
QUEUE_FRAMES = 8
"""Frames waiting for the encoder at most (a 640x480 frame is 0.9 MB): ``write`` blocks beyond that."""
_DONE = None


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
        self._queue: queue.Queue[tuple[np.ndarray, int] | None] = queue.Queue(QUEUE_FRAMES)
        self._error: BaseException | None = None
        self._encoder = threading.Thread(target=self._encode_queued, name="h264-writer", daemon=True)
        self._encoder.start()

    def write(self, image: np.ndarray, time_s: float) -> None:
        """Queue one BGR frame shown at ``time_s`` (seconds in the source; the file starts at its first frame).

        The caller must not change ``image`` afterwards (the encoder reads it later).
        """
        if self._error is not None:
            raise self._error
        width, height = self._stream.width, self._stream.height
        if image.dtype != np.uint8 or image.shape != (height, width, 3):
            raise ValueError(f"expected a {width}x{height} BGR uint8 frame, got {image.dtype} {image.shape}")
        if self._start is None:
            self._start = time_s
        pts = max(round((time_s - self._start) / TIME_BASE), self._last_pts + 1)  # strictly increasing
        self._last_pts = pts
        self._queue.put((image, pts))

    def close(self) -> None:
        """Encode the queued frames, flush the encoder and finish the file."""
        self._queue.put(_DONE)
        self._encoder.join()
        try:
            if self._error is None:
                self._container.mux(self._stream.encode(None))
        finally:
            self._container.close()
        if self._error is not None:
            raise self._error

    def _encode_queued(self) -> None:
        while (item := self._queue.get()) is not _DONE:
            if self._error is not None:
                continue  # drain, so write() never blocks on a dead encoder
            try:
                image, pts = item
                frame = frame_from_bgr(image)
                frame.pts, frame.time_base = pts, TIME_BASE
                self._container.mux(self._stream.encode(frame))
            except Exception as error:  # raised to the caller by the next write() or close()
                self._error = error

    def __enter__(self) -> H264Writer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
