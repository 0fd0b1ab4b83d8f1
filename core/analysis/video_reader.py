"""Decode a video file frame by frame with PyAV: its metadata, and BGR frames streamed at the analysis size.
Owns VideoReader, VideoInfo, DecodedFrame and VideoAnalysisError (why a file cannot be analysed).

Frames come from a generator, one at a time, so memory stays flat whatever the video's length; they are
decoded and converted on a thread of the reader's own, at most :data:`READ_AHEAD` frames ahead of the
caller, so decoding runs beside the analysis (colours converted by :mod:`core.analysis.video_frames`).
Times come from each frame's own timestamp (pts x time base), so variable frame rates are timed
right. Frames larger than ``max_side`` on their long side are shrunk (by FFmpeg's scaler, in the
same step as the conversion to BGR), and a phone's rotation flag is applied, so a portrait video
is analysed upright.
"""

from __future__ import annotations

import itertools
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import av
import numpy as np

from core.analysis.video_frames import bgr_from_frame

MAX_SIDE = 1280
"""Frames above this many pixels on their long side are shrunk to it for analysis (4K -> 1280x720)."""

READ_AHEAD = 4
"""Decoded frames waiting for the caller at most (a 640x480 frame is 0.9 MB)."""
CUT_SHORT_S = 0.5
"""A file whose frames end this much before the duration its header gives is reported as cut short."""


class VideoAnalysisError(RuntimeError):
    """The file cannot be analysed as a video: missing, not a video, no video stream, or broken."""


@dataclass(frozen=True)
class VideoInfo:
    """What the file says about its first video stream (before any frame is decoded)."""

    codec: str
    width: int
    """Stored width in pixels (before rotation and shrinking)."""
    height: int
    fps: float | None
    """Average frame rate; None where the file does not say."""
    duration_s: float | None
    """The video stream's length, else the container's; None where neither says."""
    frames: int | None
    """Frame count from the header; None where the file does not say (many containers don't)."""
    analysis_width: int
    """Width of the frames handed to the analysis: rotated upright, shrunk to ``max_side``, made even."""
    analysis_height: int
    rotation: int
    """Degrees counter-clockwise the frames are turned to stand upright (0, 90, 180 or -90)."""


class DecodedFrame(NamedTuple):
    index: int
    """Position among the decoded frames, from 0."""
    time_s: float
    """Presentation time from the frame's own timestamp, in seconds from the stream's start."""
    image: np.ndarray
    """BGR uint8 (analysis_height, analysis_width, 3)."""
    ahead: object = None
    """What the ``ahead`` function given to :meth:`VideoReader.frames` made of this frame, on the decoding thread."""


def analysis_size(width: int, height: int, max_side: int = MAX_SIDE) -> tuple[int, int]:
    """(width, height) no larger than ``max_side`` on the long side, aspect kept, both even (H.264's 4:2:0 needs it)."""
    scale = min(1.0, max_side / max(width, height))
    return max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2)


class VideoReader:
    """An open video file; use as a context manager. Raises :class:`VideoAnalysisError` for anything unreadable.

    The first frame is decoded on opening: a file with no decodable frame fails here, and the
    frame's rotation flag fixes the analysis size before the analysis starts.
    """

    def __init__(self, path: str | Path, max_side: int = MAX_SIDE) -> None:
        path = Path(path)
        if not path.is_file():
            raise VideoAnalysisError(f"no such file: {path}")
        try:
            self._container = av.open(str(path))
        except av.FFmpegError as error:
            raise VideoAnalysisError(f"{path.name} is not a video FFmpeg can read: {_reason(error)}") from error
        try:
            self.info = self._open_stream(path.name, max_side)
        except BaseException:
            self._container.close()
            raise
        self._stop = threading.Event()
        self._decoder: threading.Thread | None = None

    def _open_stream(self, name: str, max_side: int) -> VideoInfo:
        container_format = self._container.format
        if container_format.name == "image2" or container_format.name.endswith("_pipe"):  # png_pipe, jpeg_pipe...
            raise VideoAnalysisError(f"{name} is a still image ({container_format.long_name}), not a video")
        if not self._container.streams.video:
            kinds = sorted({stream.type for stream in self._container.streams}) or ["no streams at all"]
            raise VideoAnalysisError(f"{name} has no video stream (it holds {', '.join(kinds)})")
        stream = self._container.streams.video[0]
        stream.thread_type = "AUTO"  # frame and slice threads: decoding keeps pace with the analysis
        self._decoded = self._container.decode(stream)
        try:
            self._first = next(self._decoded, None)
        except av.FFmpegError as error:
            raise VideoAnalysisError(f"{name} breaks off before its first frame: {_reason(error)}") from error
        if self._first is None:
            raise VideoAnalysisError(f"{name} has a video stream but no frames in it")
        rotation = round((self._first.rotation or 0) / 90) * 90
        stored = (self._first.width, self._first.height)
        width, height = analysis_size(*(stored[::-1] if rotation % 180 else stored), max_side)
        duration = None
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif self._container.duration is not None:
            duration = self._container.duration / av.time_base
        rate = stream.average_rate or stream.guessed_rate
        return VideoInfo(
            codec=stream.codec_context.name,
            width=stored[0],
            height=stored[1],
            fps=float(rate) if rate else None,
            duration_s=duration,
            frames=stream.frames or None,
            analysis_width=width,
            analysis_height=height,
            rotation=rotation,
        )

    def frames(self, ahead: Callable[[DecodedFrame], object] | None = None) -> Iterator[DecodedFrame]:
        """Every frame in presentation order, at the analysis size. A mid-file decoding failure raises
        :class:`VideoAnalysisError` after the frames before it have been yielded.

        ``ahead`` runs on the decoding thread, in frame order, on each frame before it is queued (the
        video path detects faces there, beside the analysis); its result is the frame's ``ahead``.
        """
        ready: queue.Queue = queue.Queue(READ_AHEAD)
        self._stop.clear()
        self._decoder = threading.Thread(
            target=self._decode_into, args=(ready, ahead), name="video-reader", daemon=True
        )
        self._decoder.start()
        try:
            while (item := ready.get()) is not _END:
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            self._stop_decoder()

    def _decode_into(self, ready: queue.Queue, ahead: Callable[[DecodedFrame], object] | None) -> None:
        """The decoding thread: frames, then an error if one stopped it, then the end mark."""
        try:
            for frame in self._decode():
                if ahead is not None:
                    frame = frame._replace(ahead=ahead(frame))
                if not self._put(ready, frame):
                    return
        except BaseException as error:  # handed to the caller, after the frames before it
            self._put(ready, error)
        self._put(ready, _END)

    def _put(self, ready: queue.Queue, item: object) -> bool:
        """Queue ``item`` unless the reader is being closed (then False)."""
        while not self._stop.is_set():
            try:
                ready.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _stop_decoder(self) -> None:
        self._stop.set()
        if self._decoder is not None:
            self._decoder.join()
            self._decoder = None

    def _decode(self) -> Iterator[DecodedFrame]:
        info = self.info
        turns = round(info.rotation / 90) % 4
        # the scaler works on the stored picture: the target size turned back to it
        size = (info.analysis_width, info.analysis_height)
        width, height = size[::-1] if turns % 2 else size
        index, last_time = 0, 0.0
        try:
            for frame in itertools.chain([self._first], self._decoded):
                image = bgr_from_frame(frame, width, height)
                if turns:
                    image = np.ascontiguousarray(np.rot90(image, turns))
                if frame.time is not None:
                    time_s = float(frame.time)
                else:  # no timestamp: go on from the last one at the average rate
                    time_s = last_time + 1.0 / (info.fps or 30.0) if index else 0.0
                last_time = time_s
                yield DecodedFrame(index, time_s, image)
                index += 1
        except av.FFmpegError as error:
            raise VideoAnalysisError(
                f"the video breaks off after {index} frames ({last_time:.2f} s): {_reason(error)}"
            ) from error
        # threaded decoding can swallow the error of a cut-off last packet: compare with the header
        if info.frames and index < info.frames and info.duration_s and last_time < info.duration_s - CUT_SHORT_S:
            raise VideoAnalysisError(
                f"the video breaks off after {index} frames ({last_time:.2f} s): its header promises "
                f"{info.frames} frames ({info.duration_s:.2f} s), so the file is cut short"
            )

    def close(self) -> None:
        self._stop_decoder()  # never close the file under the decoding thread
        self._container.close()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


_END = object()


def _reason(error: av.FFmpegError) -> str:
    """FFmpeg's message without PyAV's errno and file name decoration."""
    return error.strerror or str(error)
