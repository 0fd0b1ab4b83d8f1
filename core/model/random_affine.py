"""One random rotation, zoom and shift per face, applied as a single bilinear resampling.
Owns RandomAffine and warp_matrices.

Keras' RandomRotation, RandomTranslation and RandomZoom each resample the face, so chained they
blur it three times (about a 0.7 px Gaussian, as much as the shipped network needed at test time,
see ``core/model/smoothing.py``); one warp blurs it once (about 0.4 px).
"""

from __future__ import annotations

import math

import keras
from keras import ops


def warp_matrices(angle, scale, shift_x, shift_y, height: int, width: int):
    """Keras ``affine_transform`` rows (output pixel to input pixel) for faces turned by ``angle`` (radians,
    counter-clockwise on screen, as OpenCV's ``getRotationMatrix2D``) and scaled by ``scale`` about their
    centre, then moved by (``shift_x``, ``shift_y``) pixels; one value per face, shape ``(n, 8)``."""
    cx, cy = (width - 1) / 2, (height - 1) / 2
    a0 = ops.cos(angle) / scale
    a1 = -ops.sin(angle) / scale
    b0, b1 = -a1, a0
    moved_x, moved_y = cx + shift_x, cy + shift_y
    zero = ops.zeros_like(a0)
    return ops.stack(
        [a0, a1, cx - a0 * moved_x - a1 * moved_y, b0, b1, cy - b0 * moved_x - b1 * moved_y, zero, zero], axis=1
    )


class RandomAffine(keras.layers.Layer):
    """Per face: a turn of up to ``rotation_degrees`` either way, a zoom by up to ``zoom`` (a fraction) in
    or out and a shift of up to ``shift`` of the side each way, all uniform; edges repeat the nearest pixel."""

    def __init__(self, rotation_degrees: float, shift: float, zoom: float, seed: int | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.rotation_degrees, self.shift, self.zoom = rotation_degrees, shift, zoom
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, images, training: bool = False):
        if not training:
            return images
        count = ops.shape(images)[0]
        height, width = images.shape[1], images.shape[2]

        def uniform(limit: float):
            return keras.random.uniform((count,), -limit, limit, seed=self.seed_generator)

        transform = warp_matrices(
            uniform(math.radians(self.rotation_degrees)),
            1.0 + uniform(self.zoom),
            uniform(self.shift * width),
            uniform(self.shift * height),
            height,
            width,
        )
        return ops.image.affine_transform(images, transform, interpolation="bilinear", fill_mode="nearest")
