"""Reading and writing video: portrait and rotated phones, large frames, odd sizes, timestamps kept."""

from __future__ import annotations

import av
import cv2
import numpy as np
import pytest

from core.analysis.video_reader import VideoReader, analysis_size
from core.analysis.video_writer import H264Writer
from tests.clips import write_clip


def marked_frame(width: int, height: int) -> np.ndarray:
    """Black with a white block in the top-left corner."""
    image = np.zeros((height, width, 3), np.uint8)
    image[: height // 4, : width // 4] = 255
    return image


def test_rotated_phone_video_is_analysed_upright(tmp_path):
    clip = write_clip(tmp_path / "phone.mp4", [marked_frame(320, 240)] * 3, rotation=90)
    with VideoReader(clip) as reader:
        assert (reader.info.width, reader.info.height, reader.info.rotation) == (320, 240, 90)
        assert (reader.info.analysis_width, reader.info.analysis_height) == (240, 320)
        image = next(reader.frames()).image
    assert image.shape == (320, 240, 3)
    # turned a quarter counter-clockwise: the top-left block is now bottom-left
    assert image[-10, 10].mean() > 200 and image[10, 10].mean() < 50


def test_large_portrait_frames_are_shrunk_to_the_analysis_size(tmp_path):
    clip = write_clip(tmp_path / "tall.mp4", [marked_frame(1080, 1920)] * 2)
    with VideoReader(clip) as reader:
        assert (reader.info.analysis_width, reader.info.analysis_height) == (720, 1280)
        assert next(reader.frames()).image.shape == (1280, 720, 3)


@pytest.mark.parametrize(
    ("size", "expected"),
    [((3840, 2160), (1280, 720)), ((640, 480), (640, 480)), ((321, 241), (320, 240)), ((1000, 3000), (426, 1280))],
)
def test_analysis_size_is_even_and_bounded(size, expected):
    assert analysis_size(*size) == expected


def test_writer_keeps_each_frame_timestamp(tmp_path):
    path = tmp_path / "out.mp4"
    times = [10.0, 10.1, 10.15, 11.0]  # variable gaps, starting late: the file starts at its first frame
    with H264Writer(path, 64, 48, fps=10) as writer:
        for time_s in times:
            writer.write(np.zeros((48, 64, 3), np.uint8), time_s)
    with av.open(str(path)) as container:
        got = [frame.time for frame in container.decode(video=0)]
    assert got == pytest.approx([t - times[0] for t in times], abs=2e-3)


def test_writer_refuses_odd_dimensions(tmp_path):
    with pytest.raises(ValueError, match="even"):
        H264Writer(tmp_path / "odd.mp4", 65, 48, fps=30)


def test_writer_refuses_a_frame_that_is_not_its_size_or_bgr(tmp_path):
    with H264Writer(tmp_path / "out.mp4", 64, 48, fps=10) as writer:
        for bad in (np.zeros((48, 64, 3), np.float32), np.zeros((48, 66, 3), np.uint8), np.zeros((48, 64), np.uint8)):
            with pytest.raises(ValueError, match="expected a 64x48 BGR uint8 frame"):
                writer.write(bad, 0.0)


def test_writer_encodes_on_its_thread_and_raises_its_error_to_the_caller(tmp_path, monkeypatch):
    import core.analysis.video_writer as video_writer

    def broken(image):  # the frame conversion failing on the encoding thread
        raise RuntimeError("encoder failed")

    writer = H264Writer(tmp_path / "out.mp4", 64, 48, fps=10)
    with pytest.raises(RuntimeError, match="encoder failed"), writer:
        monkeypatch.setattr(video_writer, "frame_from_bgr", broken)
        for index in range(100):  # a later write, or the close on leaving the block, says so
            writer.write(np.zeros((48, 64, 3), np.uint8), index / 10)


def test_frames_convert_to_bgr_and_back_as_ffmpeg_does():
    from core.analysis.video_frames import bgr_from_frame, frame_from_bgr

    image = cv2.GaussianBlur(np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8), (9, 9), 0)
    frame = frame_from_bgr(image)
    assert frame.format.name == "yuv420p" and (frame.width, frame.height) == (64, 48)
    ours = bgr_from_frame(frame).astype(int)
    ffmpeg = frame.to_ndarray(format="bgr24").astype(int)
    assert np.abs(ours - ffmpeg).max() <= 4 and np.abs(ours - image).mean() < 4
    assert bgr_from_frame(frame, 32, 24).shape == (24, 32, 3)  # another size: FFmpeg's scaler
    assert frame_from_bgr(image[:47]).format.name == "bgr24"  # odd height: no 4:2:0 by OpenCV
