"""The one preprocessing path: gray conversion, Haar detection, crops with a margin, [0, 1] scaling."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from core.vision.crop import crop_face, to_gray, to_model_input
from core.vision.detect import Box, FaceDetector
from core.vision.faces import extract_faces
from tests.conftest import detectable_faces, paste_face


@pytest.fixture(scope="module")
def detector() -> FaceDetector:
    return FaceDetector()


def test_to_gray_accepts_gray_bgr_and_bgra():
    bgr = np.zeros((10, 12, 3), np.uint8)
    bgr[..., 2] = 255  # pure red
    expected = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    np.testing.assert_array_equal(to_gray(bgr), expected)
    np.testing.assert_array_equal(to_gray(cv2.cvtColor(bgr, cv2.COLOR_BGR2BGRA)), expected)
    np.testing.assert_array_equal(to_gray(expected), expected)
    np.testing.assert_array_equal(to_gray(expected[..., None]), expected)
    with pytest.raises(ValueError, match="shape"):
        to_gray(np.zeros((4, 4, 2), np.uint8))


def test_to_model_input_scales_to_unit_range():
    faces = np.stack([np.zeros((48, 48), np.uint8), np.full((48, 48), 255, np.uint8)])
    x = to_model_input(faces)
    assert x.shape == (2, 48, 48, 1) and x.dtype == np.float32
    assert x[0].max() == 0.0 and x[1].min() == 1.0
    assert to_model_input(faces[0]).shape == (1, 48, 48, 1)
    with pytest.raises(ValueError, match="48x48"):
        to_model_input(np.zeros((2, 32, 32), np.uint8))


def test_crop_clamps_a_box_at_the_frame_edge():
    gray = np.arange(100 * 80, dtype=np.uint32).reshape(100, 80).astype(np.uint8)
    crop = crop_face(gray, Box(60, 70, 40, 40), margin=0.25)
    assert crop.shape == (48, 48) and crop.dtype == np.uint8
    with pytest.raises(ValueError, match="outside"):
        crop_face(gray, Box(200, 200, 10, 10))


@pytest.mark.parametrize("shape", [(1, 1), (5, 7), (23, 900), (480, 640), (48, 48, 3), (30, 30, 4)])
def test_no_face_in_blank_noise_or_tiny_frames(detector, shape):
    rng = np.random.default_rng(0)
    assert extract_faces(np.zeros(shape, np.uint8), detector) == []
    assert extract_faces(rng.integers(0, 256, shape, dtype=np.uint8), detector) == []


def test_a_fer_face_pasted_into_a_frame_is_found_where_it_was_put(public_faces, detector):
    face = detectable_faces(public_faces[0], 1)[0]
    frame = paste_face(face, size=192, at=(300, 150))
    crops = extract_faces(frame, detector)
    assert len(crops) == 1
    box = crops[0].box
    centre = (box.x + box.w / 2, box.y + box.h / 2)
    assert 300 < centre[0] < 300 + 192 and 150 < centre[1] < 150 + 192
    assert crops[0].pixels.shape == (48, 48)
    # The crop looks like the face it came from (FER crops are loose, so allow some misalignment).
    correlation = np.corrcoef(crops[0].pixels.ravel().astype(float), face.ravel().astype(float))[0, 1]
    assert correlation > 0.5


def test_several_faces_in_gray_bgr_and_bgra_frames(public_faces, detector):
    first, second = detectable_faces(public_faces[0], 2)
    frame = paste_face(first, size=180, frame_shape=(400, 900), at=(40, 100))
    frame[100:280, 600:780] = cv2.resize(second, (180, 180), interpolation=cv2.INTER_CUBIC)[..., None]
    for variant in (frame, cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), cv2.cvtColor(frame, cv2.COLOR_BGR2BGRA)):
        boxes = sorted(crop.box.x for crop in extract_faces(variant, detector))
        assert len(boxes) == 2 and boxes[0] < 300 < 500 < boxes[1]


def test_a_face_cut_by_the_frame_edge_still_gives_a_48x48_crop(public_faces, detector):
    face = detectable_faces(public_faces[0], 1)[0]
    frame = paste_face(face, size=192, frame_shape=(300, 400), at=(208, 60))  # flush with the right edge
    crops = extract_faces(frame, detector)
    assert len(crops) == 1 and crops[0].pixels.shape == (48, 48)
    assert crops[0].box.x + crops[0].box.w <= 400


def test_a_downscaled_scan_finds_the_same_faces_in_frame_coordinates(public_faces, detector):
    first, second = detectable_faces(public_faces[0], 2)
    frame = paste_face(first, size=180, frame_shape=(400, 900), at=(40, 100))
    frame[100:280, 600:780] = cv2.resize(second, (180, 180), interpolation=cv2.INTER_CUBIC)[..., None]
    full = sorted((b.x, b.y, b.w) for b in detector.detect(to_gray(frame)))
    half = sorted((b.x, b.y, b.w) for b in FaceDetector(downscale=2.0).detect(to_gray(frame)))
    assert len(half) == len(full) == 2
    for (x1, y1, w1), (x2, y2, w2) in zip(full, half, strict=True):
        assert abs(x1 - x2) <= 12 and abs(y1 - y2) <= 12 and abs(w1 - w2) <= 0.15 * w1
