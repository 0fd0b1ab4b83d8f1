"""The hack: make the model call a face it is sure is Happy Sad, with the smallest budget, and save the proof.
Owns run_attack, smallest_budget, AttackResult and the files it writes (original, adversarial, figure, attack.json).

Take a face the model calls Happy with >= 90% confidence, find the smallest budget in whole grey levels at which a
targeted attack (:mod:`core.adversarial.attacks`) makes it say Sad, and write the images and ``attack.json``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import matplotlib

matplotlib.use("Agg")
import keras
import matplotlib.pyplot as plt
import numpy as np

from core.adversarial.attacks import (
    DEFAULT_MAX_GREY,
    GREY_LEVELS,
    Method,
    attack,
    grey_to_epsilon,
    to_uint8,
    whole_grey_levels,
)
from core.data import UNLABELLED, FerDataset
from core.labels import FER2013, FERPLUS, IMAGE_SIZE
from core.model.classifier import EmotionClassifier
from core.vision.crop import to_model_input

DEFAULT_ATTACK_STEPS = 50
"""Steps for the single-face search of :func:`run_attack` (cheap: one face, all budgets in one batch)."""

ORIGINAL_PNG = "original.png"
ADVERSARIAL_PNG = "adversarial.png"
FIGURE_PNG = "adversarial_attack.png"
ATTACK_JSON = "attack.json"


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
    emotions: tuple[str, ...] = FER2013.emotions
    """The model's emotions, in the order of the probabilities."""

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
            "original_probabilities": _named(self.original_probabilities, self.emotions),
            "adversarial_probabilities": _named(self.adversarial_probabilities, self.emotions),
        }


def _named(probabilities: np.ndarray, emotions: tuple[str, ...]) -> dict[str, float]:
    return {name: float(p) for name, p in zip(emotions, probabilities, strict=True)}


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
    target_index = classifier.labels.index(target) if isinstance(target, str) else target
    if source is None:
        source_index = int(classifier.predict_faces(face)[0].argmax())
    else:
        source_index = classifier.labels.index(source) if isinstance(source, str) else int(source)
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
    emotions = classifier.labels.emotions
    delta = adversarial.astype(np.int64) - original.astype(np.int64)
    return AttackResult(
        index=index,
        split=split,
        true_label=true_label,
        source_label=emotions[source],
        source_confidence=float(original_probabilities[source]),
        target_label=emotions[target] if target is not None else None,
        adversarial_label=emotions[predicted],
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
        emotions=emotions,
    )


def keras_judge(model: EmotionClassifier | keras.Model) -> EmotionClassifier:
    """The Keras-backed classifier that both attacks and judges: a LiteRT classifier is refused.

    The attack follows the Keras model's gradients; judging its result on another model (LiteRT's int8 weights)
    would report flips the attacked model never made, or miss ones it did.
    """
    if isinstance(model, keras.Model):
        return EmotionClassifier(model)
    if model.backend != "keras":
        raise ValueError(f"attacks run and are judged on the Keras model; got a {model.backend} classifier "
                         "(load it with backend='keras')")
    return model


def run_attack(
    classifier: EmotionClassifier | keras.Model,
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
    classifier = keras_judge(classifier)
    data = dataset.split(split) if split is not None else dataset.evaluation_split()
    if len(data) == 0:
        raise ValueError(f"{dataset.source}: no rows in split {split or 'evaluation'}")
    split_name = str(data.usage[0])
    emotions = classifier.labels
    source_index, target_index = emotions.index(source), (emotions.index(target) if target is not None else None)
    if target_index == source_index:
        raise ValueError(f"source and target are both {emotions.emotions[source_index]}")
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
                f"no {split_name} face is called {emotions.emotions[source_index]} "
                f"with >= {min_confidence:.0%} confidence"
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
            index=int(row), split=split_name, true_label=FERPLUS.emotions[label] if label != UNLABELLED else None,
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
    target = classifier.labels.index(result.target_label) if result.target_label is not None else None
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
