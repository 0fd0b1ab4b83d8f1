"""Adversarial examples against the emotion classifier: FGSM (untargeted, targeted) and PGD/BIM in L-infinity.

Attacks work on model input, float32 (N, 48, 48, 1) in [0, 1] as made by :func:`core.vision.crop.to_model_input`,
and differentiate the classifier's own probabilities (the flip-TTA average when ``flip_tta`` is on), so they fool
what the product shows. A budget ``epsilon`` is an L-infinity radius in [0, 1]; ``k`` grey levels is ``k / 255``.

Guarantees (checked in float64 against the ``epsilon`` given): every adversarial pixel ``a`` of an original ``x``
obeys ``|a - x| <= epsilon`` and ``0 <= a <= 1``; at budget 0 the input comes back unchanged. :func:`to_uint8`
keeps the budget, in whole grey levels, for 8-bit images.

The "hack" (:func:`run_attack`): take a face the model calls Happy with >= 90% confidence, find the smallest budget
in whole grey levels at which a targeted attack makes it say Sad, and write the images and ``attack.json``.
"""

from __future__ import annotations

import json
import os
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import cv2
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

from core.data import UNLABELLED, FerDataset
from core.labels import EMOTIONS, IMAGE_SIZE, NUM_CLASSES, emotion_index
from core.model.classifier import EmotionClassifier
from core.vision.crop import to_model_input

GREY_LEVELS = 255
"""Grey levels per unit of model input: one grey level is 1/255 in [0, 1]."""
DEFAULT_PGD_STEPS = 10
DEFAULT_ATTACK_STEPS = 50
"""Steps for the single-face search of :func:`run_attack` (cheap: one face, all budgets in one batch)."""
DEFAULT_MAX_GREY = 16
PGD_STEP_FACTOR = 2.5
"""Default PGD step = 2.5 * epsilon / steps (Madry et al.): enough to reach any corner of the box and come back."""
_GREY_TOLERANCE = 1e-6
_LOG_FLOOR = 1e-12

Method = Literal["fgsm", "pgd"]
Target = int | str | np.ndarray | None

ORIGINAL_PNG = "original.png"
ADVERSARIAL_PNG = "adversarial.png"
FIGURE_PNG = "adversarial_attack.png"
ATTACK_JSON = "attack.json"


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
    """The classifier's probabilities (N, 7) as a differentiable TF function of model input.

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
                picked = tf.reduce_sum(probabilities * tf.one_hot(labels, NUM_CLASSES, dtype=probabilities.dtype), 1)
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


def _resolve_target(target: Target, count: int) -> np.ndarray | None:
    """Target class indices (N,), or None for an untargeted attack."""
    if target is None:
        return None
    if isinstance(target, str):
        return np.full(count, emotion_index(target), dtype=np.int32)
    indices = np.asarray(target)
    if indices.ndim == 0:
        indices = np.full(count, int(indices))
    if indices.shape != (count,) or not np.issubdtype(indices.dtype, np.integer):
        raise ValueError(f"target must be an emotion name, an index or one index per face ({count})")
    if indices.min(initial=0) < 0 or indices.max(initial=0) >= NUM_CLASSES:
        raise ValueError(f"target indices must lie in 0..{NUM_CLASSES - 1}")
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
    targets = _resolve_target(target, len(x))
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


# ---------------------------------------------------------------------------- the hack: smallest budget to flip a face


@dataclass(frozen=True)
class AttackResult:
    """One attacked face: what the model says before and after, the budget and the perturbation's size."""

    index: int
    """Row of the face within ``split``."""
    split: str
    true_label: str | None
    source_label: str
    source_confidence: float
    target_label: str | None
    adversarial_label: str
    adversarial_confidence: float
    method: str
    steps: int
    epsilon: float
    """The budget in [0, 1] (whole grey levels / 255)."""
    epsilon_grey_levels: int
    linf_grey_levels: int
    """The measured L-inf size of the 8-bit perturbation, in grey levels (<= ``epsilon_grey_levels``)."""
    l2: float
    """The measured L2 size of the perturbation in model-input units ([0, 1] pixels)."""
    success: bool
    flip_tta: bool
    original: np.ndarray = field(repr=False, compare=False)
    adversarial: np.ndarray = field(repr=False, compare=False)
    original_probabilities: np.ndarray = field(repr=False, compare=False)
    adversarial_probabilities: np.ndarray = field(repr=False, compare=False)

    def to_dict(self) -> dict:
        """JSON-ready record (no pixels)."""
        return {
            "index": self.index,
            "split": self.split,
            "true_label": self.true_label,
            "source_label": self.source_label,
            "source_confidence": self.source_confidence,
            "target_label": self.target_label,
            "adversarial_label": self.adversarial_label,
            "adversarial_confidence": self.adversarial_confidence,
            "success": self.success,
            "method": self.method,
            "steps": self.steps,
            "epsilon": self.epsilon,
            "epsilon_grey_levels": self.epsilon_grey_levels,
            "linf": self.linf_grey_levels / GREY_LEVELS,
            "linf_grey_levels": self.linf_grey_levels,
            "l2": self.l2,
            "l2_grey_levels": self.l2 * GREY_LEVELS,
            "flip_tta": self.flip_tta,
            "original_probabilities": _named(self.original_probabilities),
            "adversarial_probabilities": _named(self.adversarial_probabilities),
        }


def _named(probabilities: np.ndarray) -> dict[str, float]:
    return {name: float(p) for name, p in zip(EMOTIONS, probabilities, strict=True)}


def _succeeded(probabilities: np.ndarray, source: int, target: int | None) -> np.ndarray:
    predicted = np.asarray(probabilities).argmax(axis=-1)
    return predicted == target if target is not None else predicted != source


def smallest_budget(
    classifier: EmotionClassifier,
    face: np.ndarray,
    target: str | int | None = "sad",
    *,
    source: str | int | None = None,
    method: Method = "pgd",
    steps: int = DEFAULT_ATTACK_STEPS,
    max_grey: int = DEFAULT_MAX_GREY,
) -> tuple[int, np.ndarray, np.ndarray]:
    """The smallest whole grey-level budget 1..``max_grey`` at which the attack on one uint8 face succeeds.

    Success is judged on the 8-bit adversarial face: prediction == ``target``, or, untargeted, != ``source``
    (default: the current prediction). Every budget is attacked at once, one batch, so nothing assumes success is
    monotone in the budget. Returns (grey levels, 8-bit face, its probabilities); grey levels is 0 when no budget
    succeeds, and the face is then the one at ``max_grey``.
    """
    face = np.asarray(face, dtype=np.uint8).reshape(IMAGE_SIZE, IMAGE_SIZE)
    target_index = emotion_index(target) if isinstance(target, str) else target
    if source is None:
        source_index = int(classifier.predict_faces(face)[0].argmax())
    else:
        source_index = emotion_index(source) if isinstance(source, str) else int(source)
    budgets = np.arange(1, max_grey + 1)
    faces = np.repeat(face[None], len(budgets), axis=0)
    epsilons = budgets / GREY_LEVELS
    labels = np.full(len(budgets), source_index, dtype=np.int32)
    adversarial01 = attack(classifier, to_model_input(faces), epsilons, target_index, method=method, steps=steps,
                           labels=labels)
    adversarial = to_uint8(adversarial01, faces, epsilons)
    probabilities = classifier.predict_faces(adversarial)
    hits = np.flatnonzero(_succeeded(probabilities, source_index, target_index))
    chosen = int(hits[0]) if len(hits) else len(budgets) - 1
    return (int(budgets[chosen]) if len(hits) else 0), adversarial[chosen], probabilities[chosen]


def _result(
    classifier: EmotionClassifier,
    original: np.ndarray,
    adversarial: np.ndarray,
    original_probabilities: np.ndarray,
    adversarial_probabilities: np.ndarray,
    *,
    index: int,
    split: str,
    true_label: str | None,
    target: int | None,
    method: str,
    steps: int,
    grey_levels: int,
) -> AttackResult:
    source = int(original_probabilities.argmax())
    predicted = int(adversarial_probabilities.argmax())
    delta = adversarial.astype(np.int64) - original.astype(np.int64)
    return AttackResult(
        index=index,
        split=split,
        true_label=true_label,
        source_label=EMOTIONS[source],
        source_confidence=float(original_probabilities[source]),
        target_label=EMOTIONS[target] if target is not None else None,
        adversarial_label=EMOTIONS[predicted],
        adversarial_confidence=float(adversarial_probabilities[predicted]),
        method=method,
        steps=steps if method == "pgd" else 1,
        epsilon=grey_levels / GREY_LEVELS,
        epsilon_grey_levels=grey_levels,
        linf_grey_levels=int(np.abs(delta).max()),
        l2=float(np.sqrt(np.sum((delta / GREY_LEVELS) ** 2))),
        success=bool(_succeeded(adversarial_probabilities, source, target)),
        flip_tta=classifier.flip_tta,
        original=original,
        adversarial=adversarial,
        original_probabilities=original_probabilities,
        adversarial_probabilities=adversarial_probabilities,
    )


def run_attack(
    classifier: EmotionClassifier,
    dataset: FerDataset,
    out_dir: str | os.PathLike | None,
    source: str = "happy",
    target: str | None = "sad",
    method: Method = "pgd",
    epsilon: float | None = None,
    steps: int = DEFAULT_ATTACK_STEPS,
    *,
    max_grey: int = DEFAULT_MAX_GREY,
    min_confidence: float = 0.9,
    split: str | None = None,
    index: int | None = None,
    max_candidates: int = 5,
    progress: Callable[[str], None] | None = print,
) -> AttackResult:
    """The hack: make the model call a ``source`` face ``target`` with the smallest budget, and save it.

    The face: row ``index`` of ``split`` (default: the evaluation split, PublicTest for the Kaggle file), or else
    the first rows the model calls ``source`` with >= ``min_confidence`` (and, where labelled, truly ``source``),
    tried in order until one flips (at most ``max_candidates``). ``epsilon`` (in [0, 1]) fixes the budget, rounded
    down to whole grey levels; otherwise the smallest of 1..``max_grey`` grey levels that succeeds is used.
    ``target=None`` is untargeted (any label but ``source``). Writes the files of :func:`write_attack` when
    ``out_dir`` is given, and returns what they hold.
    """
    data = dataset.split(split) if split is not None else dataset.evaluation_split()
    if len(data) == 0:
        raise ValueError(f"{dataset.source}: no rows in split {split or 'evaluation'}")
    split_name = str(data.usage[0])
    source_index, target_index = emotion_index(source), (emotion_index(target) if target is not None else None)
    if target_index == source_index:
        raise ValueError(f"source and target are both {EMOTIONS[source_index]}")
    fixed = None
    if epsilon is not None:
        fixed = int(whole_grey_levels(epsilon))
        if fixed < 1:
            raise ValueError(f"epsilon {epsilon} is less than one grey level (1/255)")
    say = progress or (lambda _message: None)

    probabilities = classifier.predict_faces(data.images)
    if index is not None:
        if not 0 <= index < len(data):
            raise ValueError(f"index {index} is outside 0..{len(data) - 1} of {split_name}")
        candidates = [index]
    else:
        wanted = (probabilities.argmax(axis=1) == source_index) & (probabilities.max(axis=1) >= min_confidence)
        labelled = data.labels != UNLABELLED
        wanted &= ~labelled | (data.labels == source_index)
        candidates = np.flatnonzero(wanted)[:max_candidates].tolist()
        if not candidates:
            raise ValueError(
                f"no {split_name} face is called {EMOTIONS[source_index]} with >= {min_confidence:.0%} confidence"
            )
    result = None
    for row in candidates:
        face = data.images[row]
        if fixed is not None:
            faces = face[None]
            eps = grey_to_epsilon(fixed)
            adversarial01 = attack(classifier, to_model_input(faces), eps, target_index, method=method, steps=steps,
                                   labels=np.array([source_index]))
            adversarial = to_uint8(adversarial01, faces, eps)[0]
            grey, adversarial_probabilities = fixed, classifier.predict_faces(adversarial)[0]
        else:
            grey, adversarial, adversarial_probabilities = smallest_budget(
                classifier, face, target_index, source=source_index, method=method, steps=steps, max_grey=max_grey
            )
            grey = grey or max_grey
        label = int(data.labels[row])
        result = _result(
            classifier, face, adversarial, probabilities[row], adversarial_probabilities,
            index=int(row), split=split_name, true_label=EMOTIONS[label] if label != UNLABELLED else None,
            target=target_index, method=method, steps=steps, grey_levels=grey,
        )
        say(
            f"{split_name} face {row}: {result.source_label} {result.source_confidence:.1%} -> "
            f"{result.adversarial_label} {result.adversarial_confidence:.1%} at {grey} grey levels "
            f"({'success' if result.success else 'failed'})"
        )
        if result.success:
            break
    assert result is not None
    if out_dir is not None:
        result = write_attack(result, classifier, out_dir)
    return result


def write_attack(result: AttackResult, classifier: EmotionClassifier, out_dir: str | os.PathLike) -> AttackResult:
    """Write original.png, adversarial.png, adversarial_attack.png and attack.json; return what they hold.

    The predictions are recomputed from the 8-bit PNGs as read back from disk, so the figure, the JSON and
    anyone who classifies the saved adversarial.png see the same labels and confidences.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, image in ((ORIGINAL_PNG, result.original), (ADVERSARIAL_PNG, result.adversarial)):
        if not cv2.imwrite(str(out / name), image):
            raise OSError(f"could not write {out / name}")
    original = cv2.imread(str(out / ORIGINAL_PNG), cv2.IMREAD_GRAYSCALE)
    adversarial = cv2.imread(str(out / ADVERSARIAL_PNG), cv2.IMREAD_GRAYSCALE)
    probabilities = classifier.predict_faces(np.stack([original, adversarial]))
    target = emotion_index(result.target_label) if result.target_label is not None else None
    saved = _result(
        classifier, original, adversarial, probabilities[0], probabilities[1],
        index=result.index, split=result.split, true_label=result.true_label, target=target,
        method=result.method, steps=result.steps, grey_levels=result.epsilon_grey_levels,
    )
    plot_attack(saved, out / FIGURE_PNG)
    (out / ATTACK_JSON).write_text(json.dumps(saved.to_dict(), indent=2))
    return saved


def plot_attack(result: AttackResult, path: str | os.PathLike) -> None:
    """Original, amplified perturbation (diverging colours, in grey levels) and adversarial face, titled."""
    delta = result.adversarial.astype(np.int64) - result.original.astype(np.int64)
    scale = max(result.linf_grey_levels, 1)
    figure, axes = plt.subplots(1, 3, figsize=(10, 3.8))
    axes[0].imshow(result.original, cmap="gray", vmin=0, vmax=255)
    axes[0].set_title(f"original\n{result.source_label} {result.source_confidence:.1%}")
    image = axes[1].imshow(delta, cmap="RdBu_r", vmin=-scale, vmax=scale)
    axes[1].set_title(
        f"perturbation (amplified: +/-{scale} grey levels)\nL-inf {result.linf_grey_levels}/255, L2 {result.l2:.3f}"
    )
    figure.colorbar(image, ax=axes[1], fraction=0.046, pad=0.04, label="grey levels")
    axes[2].imshow(result.adversarial, cmap="gray", vmin=0, vmax=255)
    axes[2].set_title(f"adversarial ({result.method.upper()}, eps {result.epsilon_grey_levels}/255)\n"
                      f"{result.adversarial_label} {result.adversarial_confidence:.1%}")
    for axis in axes:
        axis.set_xticks([])
        axis.set_yticks([])
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
