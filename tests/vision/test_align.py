"""Alignment: eyes level and a crop framed like FER-2013's own faces."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from core.vision.align import CROP_EYE_DISTANCES, EYE_LINE, aligned_face, alignment_matrix
from core.vision.blazeface import BlazeFace
from tests.vision.test_blazeface import rolled


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel().astype(np.float64), b.ravel().astype(np.float64))[0, 1])


def test_eyes_land_level_at_the_framing_constants():
    right, left = (100.0, 200.0), (100.0 + 40 * math.cos(0.5), 200.0 + 40 * math.sin(0.5))
    matrix = alignment_matrix((right, left))
    mapped = [matrix @ (x, y, 1.0) for x, y in (right, left)]
    half = 48 / CROP_EYE_DISTANCES / 2
    np.testing.assert_allclose(mapped, [(24 - half, EYE_LINE * 48), (24 + half, EYE_LINE * 48)], atol=1e-4)


def test_crop_is_48x48_uint8_even_at_the_frame_edge():
    gray = np.arange(480 * 640, dtype=np.uint32).reshape(480, 640).astype(np.uint8)
    crop = aligned_face(gray, ((2.0, 3.0), (30.0, 5.0)))
    assert crop.shape == (48, 48) and crop.dtype == np.uint8


@pytest.fixture(scope="module")
def detector() -> BlazeFace:
    return BlazeFace()


def mean_correlations(detector, faces, roll: float) -> tuple[float, float]:
    """Mean correlation with the original face of the aligned crop, and of a plain upright crop of the box."""
    aligned, plain = [], []
    for face in faces:
        gray = rolled(face, roll)
        detection = detector.detect(gray)[0]
        aligned.append(correlation(aligned_face(gray, detection.eyes), face))
        box = detection.box
        plain.append(correlation(cv2.resize(gray[box.y : box.y + box.h, box.x : box.x + box.w], (48, 48)), face))
    return float(np.mean(aligned)), float(np.mean(plain))


def test_aligned_crops_match_fer_framing_at_every_roll(detector, public_faces):
    faces = public_faces[0][:30]
    upright, _ = mean_correlations(detector, faces, 0)
    assert upright > 0.45
    for roll in (15, 30, 45):
        aligned, plain = mean_correlations(detector, faces, roll)
        assert aligned > upright - 0.05, roll
        assert aligned > plain + 0.1, roll
