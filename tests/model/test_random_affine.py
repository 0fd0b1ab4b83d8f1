"""The one-warp augmentation: the geometry OpenCV draws, and sharper faces than three chained resamplings."""

from __future__ import annotations

import math

import cv2
import numpy as np
from keras import ops

from core.model.random_affine import RandomAffine, warp_matrices
from core.model.training import TrainConfig, augmentation


def _gradient_energy(faces: np.ndarray) -> float:
    """Mean squared difference of neighbouring pixels, away from the repeated borders: falls as a face blurs."""
    inner = np.asarray(faces)[:, 6:-6, 6:-6, 0]
    return float(np.mean(np.diff(inner, axis=1) ** 2) + np.mean(np.diff(inner, axis=2) ** 2))


def test_the_warp_turns_zooms_and_shifts_as_opencv_does(public_faces):
    face = public_faces[0][0].astype(np.float32) / 255.0
    angle, scale, shift_x, shift_y = 12.0, 1.08, 2.5, -1.5
    expected_map = cv2.getRotationMatrix2D((23.5, 23.5), angle, scale)
    expected_map[:, 2] += (shift_x, shift_y)
    expected = cv2.warpAffine(face, expected_map, (48, 48), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)

    def warp(turn: float) -> np.ndarray:
        turn_radians = np.array([math.radians(turn)], np.float32)
        transform = warp_matrices(turn_radians, np.float32(scale), np.float32(shift_x), np.float32(shift_y), 48, 48)
        image = face[None, :, :, None]
        warped = ops.image.affine_transform(image, transform, interpolation="bilinear", fill_mode="nearest")
        return np.asarray(warped)[0, :, :, 0]

    # OpenCV interpolates with 5-bit fixed-point weights, hence a small tolerance; a turn the wrong way is far off.
    assert np.abs(warp(angle) - expected).max() < 0.01
    assert np.abs(warp(-angle) - expected).mean() > 0.02


def test_one_warp_keeps_more_detail_than_three_chained_resamplings(public_faces):
    faces = public_faces[0][:256, :, :, None].astype(np.float32) / 255.0
    chained = augmentation(TrainConfig(flip=False, rotation_degrees=15), seed=1)
    single = augmentation(TrainConfig(flip=False, rotation_degrees=15, single_warp=True), seed=1)

    sharp = _gradient_energy(faces)
    once, thrice = _gradient_energy(single(faces, training=True)), _gradient_energy(chained(faces, training=True))

    # Measured on these faces: 0.016 unchanged, 0.011 warped once, 0.0067 warped three times.
    assert thrice < 0.5 * sharp
    assert once > 1.4 * thrice


def test_each_face_gets_its_own_warp_and_none_outside_training(public_faces):
    faces = np.repeat(public_faces[0][:1, :, :, None], 8, axis=0).astype(np.float32) / 255.0
    layer = RandomAffine(15, 0.1, 0.1, seed=3)

    warped = np.asarray(layer(faces, training=True))

    assert min(np.abs(warped[i] - warped[0]).mean() for i in range(1, 8)) > 0.01
    assert np.array_equal(np.asarray(layer(faces, training=False)), faces)
