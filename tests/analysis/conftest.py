"""Small video clips made with PyAV in a temporary folder: moving FER faces, truncated files, odd inputs."""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

CLIP_FRAMES, CLIP_FPS = 64, 30
CLIP_WIDTH, CLIP_HEIGHT = 320, 240


def write_clip(
    path: Path,
    frames: Iterable[np.ndarray],
    fps: int = CLIP_FPS,
    times_ms: list[int] | None = None,
    rotation: int = 0,
) -> Path:
    """An H.264 MP4 (index at the front) of BGR frames; ``times_ms`` gives each frame's own timestamp."""
    frames = list(frames)
    height, width = frames[0].shape[:2] if frames else (CLIP_HEIGHT, CLIP_WIDTH)
    with av.open(str(path), "w", options={"movflags": "+faststart"}) as container:
        stream = container.add_stream("libx264", rate=fps, options={"preset": "ultrafast"})
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        if times_ms is not None:
            stream.codec_context.time_base = Fraction(1, 1000)
        if rotation:
            stream.set_display_rotation(rotation)
        container.start_encoding()  # a header even with no frames
        for index, image in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(image, format="bgr24")
            if times_ms is not None:
                frame.pts, frame.time_base = times_ms[index], Fraction(1, 1000)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def moving_face_frames(face: np.ndarray, count: int = CLIP_FRAMES) -> list[np.ndarray]:
    """A 320x240 clip of one FER face, 120 px, sliding left to right."""
    from tests.conftest import paste_face

    return [
        paste_face(face, size=120, frame_shape=(CLIP_HEIGHT, CLIP_WIDTH), at=(20 + index * 2, 60))
        for index in range(count)
    ]


@pytest.fixture(scope="session")
def clip_face(public_faces) -> np.ndarray:
    """A PublicTest face the Haar cascade finds at every position of the moving clip."""
    from core.vision.detect import FaceDetector
    from core.vision.faces import extract_faces

    detector = FaceDetector(downscale=2)
    for face in public_faces[0]:
        if all(len(extract_faces(frame, detector)) == 1 for frame in moving_face_frames(face)[::4]):
            return face
    pytest.fail("no PublicTest face is found all along the moving clip")


@pytest.fixture(scope="session")
def face_clip(clip_face, tmp_path_factory) -> Path:
    """64 frames, 30 fps, 320x240, one moving FER face."""
    return write_clip(tmp_path_factory.mktemp("clips") / "face.mp4", moving_face_frames(clip_face))


@pytest.fixture(scope="session")
def plain_clip(tmp_path_factory) -> Path:
    """64 frames, 30 fps, 320x240 of a slowly brightening grey: no face, cheap to make."""
    frames = [np.full((CLIP_HEIGHT, CLIP_WIDTH, 3), 60 + index, np.uint8) for index in range(CLIP_FRAMES)]
    return write_clip(tmp_path_factory.mktemp("clips") / "plain.mp4", frames)


def cut_in_half(source: Path, target: Path) -> Path:
    data = source.read_bytes()
    target.write_bytes(data[: len(data) // 2])
    return target


def write_audio_only(path: Path) -> Path:
    """One second of silence as a WAV file."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("pcm_s16le", rate=8000, layout="mono")
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 8000), np.int16), format="s16", layout="mono")
        frame.sample_rate = 8000
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path
