"""Adversarial examples against the emotion classifier: FGSM (untargeted, targeted) and PGD/BIM in L-infinity.
Owns the attack maths only: budgets in grey levels, the loss gradient, the exact L-inf box, fgsm, pgd, attack, to_uint8.

Attacks work on model input, float32 (N, 48, 48, 1) in [0, 1] as made by :func:`core.vision.crop.to_model_input`,
and differentiate the classifier's own probabilities (the flip-TTA average when ``flip_tta`` is on), so they fool
what the product shows. A budget ``epsilon`` is an L-infinity radius in [0, 1]; ``k`` grey levels is ``k / 255``.

Guarantees (checked in float64 against the ``epsilon`` given): every adversarial pixel ``a`` of an original ``x``
obeys ``|a - x| <= epsilon`` and ``0 <= a <= 1``; at budget 0 the input comes back unchanged. :func:`to_uint8`
keeps the budget, in whole grey levels, for 8-bit images. The Happy->Sad hack built on them is
:mod:`core.adversarial.hack`.
"""
from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Literal

import numpy as np
import tensorflow as tf

from core.labels import IMAGE_SIZE, LabelSet
from core.model.classifier import EmotionClassifier

GREY_LEVELS = 255
"""Grey levels per unit of model input: one grey level is 1/255 in [0, 1]."""
DEFAULT_PGD_STEPS = 10
DEFAULT_MAX_GREY = 16
PGD_STEP_FACTOR = 2.5
"""Default PGD step = 2.5 * epsilon / steps (Madry et al.): enough to reach any corner of the box and come back."""
_GREY_TOLERANCE = 1e-6
_LOG_FLOOR = 1e-12

Method = Literal["fgsm", "pgd"]
Target = int | str | np.ndarray | None


# ---------------------------------------------------------------------------- budgets


def grey_to_epsilon(grey_levels: float) -> float:
    """A budget in grey levels (0..255) as an L-infinity radius in [0, 1]."""
    return float(grey_levels) / GREY_LEVELS


def epsilon_to_grey(epsilon: float) -> float:
    """A budget in [0, 1] in grey levels (0..255)."""
    return float(epsilon) * GREY_LEVELS


def whole_grey_levels(epsilon: float | np.ndarray) -> np.ndarray:
    """The largest whole number of grey levels within each budget (1e-6 tolerance, so 4/255 gives 4)."""
    return np.floor(np.asarray(epsilon, dtype=np.float64) * GREY_LEVELS + _GREY_TOLERANCE).astype(np.int64)


# ---------------------------------------------------------------------------- the classifier as attacks see it


def classifier_probabilities(classifier: EmotionClassifier, x: tf.Tensor) -> tf.Tensor:
    """The classifier's probabilities (N, emotions) as a differentiable TF function of model input.

    This is the very function that :meth:`EmotionClassifier.predict_inputs` compiles (flip TTA included), not a
    copy of it, so an attack optimises exactly the probabilities the product shows.
    """
    return classifier.probabilities(x)


_GRADIENTS: weakref.WeakKeyDictionary[EmotionClassifier, Callable] = weakref.WeakKeyDictionary()


def _gradient_function(classifier: EmotionClassifier) -> Callable[[tf.Tensor, tf.Tensor], tf.Tensor]:
    """A compiled ``(x, labels) -> d/dx sum(-log p(label | x))``, one per classifier."""
    function = _GRADIENTS.get(classifier)
    if function is None:
        owner = weakref.ref(classifier)  # the cache must not keep the classifier alive

        def gradient(x: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
            with tf.GradientTape() as tape:
                tape.watch(x)
                probabilities = classifier_probabilities(owner(), x)
                classes = tf.shape(probabilities)[1]
                picked = tf.reduce_sum(probabilities * tf.one_hot(labels, classes, dtype=probabilities.dtype), 1)
                # Summed, not averaged: each face's gradient is its own loss's gradient.
                loss = -tf.reduce_sum(tf.math.log(picked + _LOG_FLOOR))
            return tape.gradient(loss, x)

        function = tf.function(gradient, reduce_retracing=True)
        _GRADIENTS[classifier] = function
    return function


def loss_gradient(
    classifier: EmotionClassifier, x01: np.ndarray, labels: np.ndarray, batch_size: int = 256
) -> np.ndarray:
    """Gradient of each face's cross-entropy ``-log p(label)`` with respect to its pixels, batched."""
    function = _gradient_function(classifier)
    labels = np.asarray(labels, dtype=np.int32)
    parts = []
    for start in range(0, len(x01), batch_size):
        batch = slice(start, start + batch_size)
        parts.append(function(tf.convert_to_tensor(x01[batch]), tf.convert_to_tensor(labels[batch])).numpy())
    return np.concatenate(parts) if parts else np.zeros_like(x01)


# ---------------------------------------------------------------------------- checks and the exact L-inf box


def _check_inputs(x01: np.ndarray) -> np.ndarray:
    x = np.asarray(x01)
    if x.dtype != np.float32:
        raise TypeError(f"attacks take float32 model input in [0, 1] (core.vision.crop.to_model_input), got {x.dtype}")
    if x.ndim != 4 or x.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE, 1):
        raise ValueError(f"expected model input of shape (N, 48, 48, 1), got {x.shape}")
    if x.size and not (np.isfinite(x).all() and x.min() >= 0.0 and x.max() <= 1.0):
        raise ValueError("model input must lie in [0, 1]")
    return x


def _check_epsilon(epsilon: float | np.ndarray, count: int, name: str = "epsilon") -> np.ndarray:
    """Budgets as float64 (N,): one per face, or one for all."""
    eps = np.asarray(epsilon, dtype=np.float64)
    if eps.ndim == 0:
        eps = np.full(count, float(eps))
    if eps.shape != (count,):
        raise ValueError(f"{name} must be a number or one per face ({count}), got shape {eps.shape}")
    if not (np.isfinite(eps).all() and (eps >= 0).all()):
        raise ValueError(f"{name} must be finite and >= 0")
    return eps


def _resolve_target(target: Target, count: int, labels: LabelSet) -> np.ndarray | None:
    """Target class indices (N,), or None for an untargeted attack."""
    if target is None:
        return None
    if isinstance(target, str):
        return np.full(count, labels.index(target), dtype=np.int32)
    indices = np.asarray(target)
    if indices.ndim == 0:
        indices = np.full(count, int(indices))
    if indices.shape != (count,) or not np.issubdtype(indices.dtype, np.integer):
        raise ValueError(f"target must be an emotion name, an index or one index per face ({count})")
    if indices.min(initial=0) < 0 or indices.max(initial=0) >= len(labels):
        raise ValueError(f"target indices must lie in 0..{len(labels) - 1}")
    return indices.astype(np.int32)


def linf_box(x01: np.ndarray, epsilon: float | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """float32 bounds ``[max(x - eps, 0), min(x + eps, 1)]``, rounded inward so that they hold exactly.

    ``x - eps`` rounded to float32 can land just outside the box; such bounds move one float32 step inward,
    which cannot cross ``x`` itself (a float32 value inside the box). Clipping to these bounds is exact.
    """
    x = _check_inputs(x01)
    eps = _check_epsilon(epsilon, len(x))[:, None, None, None]
    x64 = x.astype(np.float64)
    low64, high64 = np.maximum(x64 - eps, 0.0), np.minimum(x64 + eps, 1.0)
    low, high = low64.astype(np.float32), high64.astype(np.float32)
    low = np.where(low.astype(np.float64) < low64, np.nextafter(low, np.float32(np.inf)), low)
    high = np.where(high.astype(np.float64) > high64, np.nextafter(high, np.float32(-np.inf)), high)
    # The float64 sums above round too: check the box as the guarantee is stated, and step inward where it fails.
    low = np.where(x64 - low.astype(np.float64) > eps, np.nextafter(low, np.float32(np.inf)), low)
    high = np.where(high.astype(np.float64) - x64 > eps, np.nextafter(high, np.float32(-np.inf)), high)
    return low, high


# ---------------------------------------------------------------------------- attacks


def _iterate(
    classifier: EmotionClassifier,
    x01: np.ndarray,
    epsilon: float | np.ndarray,
    target: Target,
    labels: np.ndarray | None,
    steps: int,
    step_size: float | np.ndarray | None,
    random_start: bool,
    seed: int | None,
    batch_size: int,
) -> np.ndarray:
    """Signed-gradient steps, each followed by projection onto the exact L-inf box (clip = projection)."""
    x = _check_inputs(x01)
    eps = _check_epsilon(epsilon, len(x))
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    targets = _resolve_target(target, len(x), classifier.labels)
    if targets is None:
        if labels is None:  # untargeted without labels: move away from what the model says now
            labels = classifier.predict_inputs(x).argmax(axis=1) if len(x) else np.zeros(0, np.int32)
        labels = np.asarray(labels, dtype=np.int32)
        if labels.shape != (len(x),):
            raise ValueError(f"labels must hold one class per face ({len(x)}), got shape {labels.shape}")
    if len(x) == 0 or not eps.any():
        return x.copy()
    low, high = linf_box(x, eps)
    if step_size is None:
        step = PGD_STEP_FACTOR * eps / steps
    else:
        step = _check_epsilon(step_size, len(x), "step_size")
    step = step.astype(np.float32)[:, None, None, None]
    adversarial = x.copy()
    if random_start:
        rng = np.random.default_rng(seed)
        noise = rng.uniform(-1.0, 1.0, size=x.shape) * eps[:, None, None, None]
        adversarial = np.clip((x + noise).astype(np.float32), low, high)
    direction = np.float32(-1.0 if targets is not None else 1.0)  # descend toward a target, ascend away from a label
    wanted = targets if targets is not None else labels
    for _ in range(steps):
        gradient = loss_gradient(classifier, adversarial, wanted, batch_size)
        adversarial = np.clip(adversarial + direction * step * np.sign(gradient), low, high)
    return adversarial


def fgsm(
    classifier: EmotionClassifier,
    x01: np.ndarray,
    epsilon: float | np.ndarray,
    target: Target = None,
    *,
    labels: np.ndarray | None = None,
    batch_size: int = 256,
) -> np.ndarray:
    """Fast gradient sign method: one step of size ``epsilon`` (one budget, or one per face).

    Untargeted (``target=None``) it raises the loss of ``labels`` (default: the classifier's current prediction);
    targeted (an emotion name, an index, or one index per face) it lowers the loss of the target.
    Returns float32 (N, 48, 48, 1) within ``epsilon`` of ``x01`` and inside [0, 1].
    """
    return _iterate(classifier, x01, epsilon, target, labels, 1, epsilon, False, None, batch_size)


def pgd(
    classifier: EmotionClassifier,
    x01: np.ndarray,
    epsilon: float | np.ndarray,
    target: Target = None,
    *,
    steps: int = DEFAULT_PGD_STEPS,
    step_size: float | np.ndarray | None = None,
    random_start: bool = False,
    labels: np.ndarray | None = None,
    seed: int | None = 0,
    batch_size: int = 256,
) -> np.ndarray:
    """Projected gradient descent (BIM; PGD with ``random_start``) in the L-inf ball of radius ``epsilon``.

    ``steps`` signed-gradient steps of ``step_size`` (default ``2.5 * epsilon / steps``), each followed by
    projection onto ``[max(x - eps, 0), min(x + eps, 1)]``. Targets and labels as in :func:`fgsm`.
    """
    return _iterate(classifier, x01, epsilon, target, labels, steps, step_size, random_start, seed, batch_size)


def attack(
    classifier: EmotionClassifier,
    x01: np.ndarray,
    epsilon: float | np.ndarray,
    target: Target = None,
    *,
    method: Method = "pgd",
    steps: int = DEFAULT_PGD_STEPS,
    labels: np.ndarray | None = None,
    batch_size: int = 256,
) -> np.ndarray:
    """:func:`fgsm` or :func:`pgd` by name."""
    if method == "fgsm":
        return fgsm(classifier, x01, epsilon, target, labels=labels, batch_size=batch_size)
    if method == "pgd":
        return pgd(classifier, x01, epsilon, target, steps=steps, labels=labels, batch_size=batch_size)
    raise ValueError(f"unknown attack method {method!r}; expected 'fgsm' or 'pgd'")


def to_uint8(adversarial01: np.ndarray, faces: np.ndarray, epsilon: float | np.ndarray) -> np.ndarray:
    """Adversarial model input as 8-bit faces (N, 48, 48) that keep the budget in whole grey levels.

    The perturbation is rounded to whole grey levels and, where that would leave the budget (a budget that is not
    a whole number of grey levels, or float error), cut back toward the original: ``|face' - face| <= floor(255 eps)``.
    """
    faces = np.asarray(faces)
    if faces.dtype != np.uint8 or faces.ndim != 3:
        raise ValueError(f"expected uint8 faces (N, 48, 48), got {faces.dtype} {faces.shape}")
    budget = whole_grey_levels(_check_epsilon(epsilon, len(faces)))[:, None, None]
    adversarial = np.asarray(adversarial01, dtype=np.float64).reshape(faces.shape)
    delta = np.clip(np.rint(adversarial * GREY_LEVELS - faces), -budget, budget)
    return np.clip(faces.astype(np.int64) + delta, 0, 255).astype(np.uint8)
