"""PyAV video frames to and from BGR arrays, converted by OpenCV where it can.
Owns bgr_from_frame and frame_from_bgr.

PyAV's own converter (FFmpeg's scaler) holds the GIL while it runs: two threads converting frames
with it took 2.25 times as long as one. OpenCV's releases it, so the analysis, the decoder and the
encoder of the video and live paths overlap on two cores. 8-bit 4:2:0 frames of even size (most
H.264 and VP8) take OpenCV's path; anything else goes through the scaler.
"""

from __future__ import annotations

import av
import cv2
import numpy as np


def bgr_from_frame(frame: av.VideoFrame, width: int | None = None, height: int | None = None) -> np.ndarray:
    """The frame as a BGR uint8 array, at ``width`` x ``height`` (default: its own size)."""
    width, height = width or frame.width, height or frame.height
    even = width % 2 == 0 and height % 2 == 0
    if frame.format.name == "yuv420p" and (frame.width, frame.height) == (width, height) and even:
        return cv2.cvtColor(frame.to_ndarray(), cv2.COLOR_YUV2BGR_I420)
    return frame.to_ndarray(format="bgr24", width=width, height=height, interpolation="AREA")


def frame_from_bgr(image: np.ndarray) -> av.VideoFrame:
    """A yuv420p frame (what H.264 and VP8 encoders take) of a BGR uint8 image of even size."""
    if image.shape[0] % 2 or image.shape[1] % 2:
        return av.VideoFrame.from_ndarray(image, format="bgr24")
    return av.VideoFrame.from_ndarray(cv2.cvtColor(image, cv2.COLOR_BGR2YUV_I420), format="yuv420p")
