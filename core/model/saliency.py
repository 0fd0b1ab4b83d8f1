"""Which pixels a prediction rests on: Grad-CAM maps of the emotion CNN, and their overlays.
Owns grad_cam, overlay, saliency_overlays (in memory) and save_saliency_overlays (PNG files).

Grad-CAM (Selvaraju et al. 2017) weights a layer's feature maps by the spatial mean of a class
logit's gradient (the score before the softmax, so confident predictions do not saturate). With
``flip_tta`` (what the product predicts with) the map is the mean of the face's map and the mirrored
map of its mirror image.

The layer is the last 12x12 one, not the last convolution: on the shipped model the final 6x6
block's maps were negative everywhere (an all-zero map) for 15 of 48 PublicTest faces, and at
12x12 for none. Gradient-times-input was tried and left out: its maps stayed close to the face
itself (median Spearman 0.49 with the pixels, 0.43 with a randomly initialised model's maps, 0.67
between the Happy and Angry maps), which fails the sanity checks of Adebayo et al. (2018).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import cv2
import keras
import numpy as np
import tensorflow as tf
from keras import layers

from core.labels import IMAGE_SIZE
from core.model.ensemble import ensemble_members
from core.vision.crop import to_model_input

OVERLAY_SIZE = 192
"""Side in pixels of a saved overlay: a 48x48 face is too small to read."""
MIN_MAP_SIZE = IMAGE_SIZE // 4
"""The smallest feature-map side Grad-CAM uses: a quarter of the face."""


def feature_layer(model: keras.Model, min_size: int = MIN_MAP_SIZE) -> keras.layers.Layer:
    """The last Conv2D or ReLU layer whose feature maps are at least ``min_size`` on a side."""
    for layer in reversed(model.layers):
        shape = layer.output.shape
        if isinstance(layer, layers.Conv2D | layers.ReLU) and len(shape) == 4 and min(shape[1:3]) >= min_size:
            return layer
    raise ValueError(f"{model.name} has no convolution layer with maps of at least {min_size}x{min_size}")


def grad_cam(
    model: keras.Model, faces: np.ndarray, target: int | Sequence[int] | None = None, flip_tta: bool = True
) -> np.ndarray:
    """Grad-CAM maps (N, 48, 48) in [0, 1] of uint8 faces (N, 48, 48) or one face (48, 48).

    ``target``: one class index for every face, one per face, or ``None`` for each face's prediction.
    A map with no positive evidence is all zero. An ensemble's map is the mean of its members' maps for
    the ensemble's own prediction.
    """
    members = ensemble_members(model)
    if len(members) > 1:
        if target is None:
            x = to_model_input(faces).reshape(-1, IMAGE_SIZE, IMAGE_SIZE, 1)
            mirrored = np.ascontiguousarray(x[:, :, ::-1])
            probabilities = model(x, training=False) + (model(mirrored, training=False) if flip_tta else 0)
            target = np.argmax(np.asarray(probabilities), axis=1).tolist()
        return _normalised(np.mean([grad_cam(member, faces, target, flip_tta) for member in members], axis=0))
    head = model.layers[-1]
    if not isinstance(head, layers.Dense):
        raise ValueError(f"{model.name} does not end in a Dense layer; its logits are out of reach")
    explainer = keras.Model(model.inputs, [feature_layer(model).output, head.input])
    x = tf.convert_to_tensor(to_model_input(faces))
    count = len(x)
    if flip_tta:
        x = tf.concat([x, tf.reverse(x, axis=[2])], axis=0)
    with tf.GradientTape() as tape:
        features, hidden = explainer(x, training=False)
        logits = tf.matmul(hidden, head.kernel) + (head.bias if head.use_bias else 0.0)
        if target is None:  # the predicted class: the argmax of the mean probabilities
            probabilities = tf.nn.softmax(logits)
            if flip_tta:
                probabilities = probabilities[:count] + probabilities[count:]
            classes = tf.argmax(probabilities, axis=1)
        else:
            classes = tf.broadcast_to(tf.constant(target, dtype=tf.int64), (count,))
        if flip_tta:
            classes = tf.concat([classes, classes], axis=0)
        score = tf.reduce_sum(tf.gather(logits, classes, axis=1, batch_dims=1))
    weights = tf.reduce_mean(tape.gradient(score, features), axis=(1, 2), keepdims=True)
    maps = tf.nn.relu(tf.reduce_sum(weights * features, axis=-1))
    if flip_tta:
        maps = (maps[:count] + tf.reverse(maps[count:], axis=[2])) / 2.0
    return _normalised(tf.image.resize(maps[..., None], (IMAGE_SIZE, IMAGE_SIZE), method="bilinear")[..., 0].numpy())


def _normalised(maps: np.ndarray) -> np.ndarray:
    """Each map scaled to a peak of 1 (an all-zero map stays zero)."""
    peak = maps.max(axis=(1, 2), keepdims=True)
    return np.divide(maps, peak, out=np.zeros_like(maps), where=peak > 0).astype(np.float32)


def overlay(face: np.ndarray, heatmap: np.ndarray, alpha: float = 0.45) -> np.ndarray:
    """A BGR uint8 image: the face (grey or BGR, any size) under the heatmap in the JET colormap."""
    base = cv2.cvtColor(face, cv2.COLOR_GRAY2BGR) if face.ndim == 2 else face
    height, width = base.shape[:2]
    heat = cv2.resize(np.asarray(heatmap, dtype=np.float32), (width, height), interpolation=cv2.INTER_LINEAR)
    colour = cv2.applyColorMap(np.round(np.clip(heat, 0, 1) * 255).astype(np.uint8), cv2.COLORMAP_JET)
    return cv2.addWeighted(colour, alpha, base, 1 - alpha, 0)


def saliency_overlays(
    model: keras.Model,
    faces: np.ndarray,
    targets: Sequence[int] | None = None,
    size: int = OVERLAY_SIZE,
    flip_tta: bool = True,
) -> list[np.ndarray]:
    """One BGR Grad-CAM overlay (size x size) per uint8 48x48 face; ``targets``: each map's class (None: predicted)."""
    faces = np.asarray(faces)
    if len(faces) == 0:
        return []
    maps = grad_cam(model, faces, target=None if targets is None else list(targets), flip_tta=flip_tta)
    return [
        overlay(cv2.resize(face, (size, size), interpolation=cv2.INTER_CUBIC), heatmap)
        for face, heatmap in zip(faces, maps, strict=True)
    ]


def save_saliency_overlays(
    model: keras.Model,
    faces: np.ndarray,
    targets: Sequence[int],
    out_dir: str | os.PathLike,
    stem: str,
    emotions: Sequence[str],
    size: int = OVERLAY_SIZE,
) -> list[Path]:
    """One Grad-CAM overlay PNG per face, ``{stem}_face{n}_{Emotion}.png`` (n from 1), for ``predict --saliency``.

    ``faces``: the 48x48 uint8 crops the model saw; ``targets``: the class each map explains, by index of the
    model's ``emotions``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    images = saliency_overlays(model, faces, targets, size)
    for number, (image, target) in enumerate(zip(images, targets, strict=True), start=1):
        path = out / f"{stem}_face{number}_{emotions[target]}.png"
        if not cv2.imwrite(str(path), image):
            raise OSError(f"could not write {path}")
        written.append(path)
    return written
