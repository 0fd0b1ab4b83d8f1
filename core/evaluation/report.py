"""report.json, the training report next to every model: its one typed schema, and the writer that fills it.
Owns TrainingReport (the schema, with a ``version``), REPORT_FILE, read_report, measure_saved_model,
agreement_with_people and write_training_artifacts.

Training writes it (``train_cli.py`` hands :func:`write_training_artifacts` to :func:`core.model.training.train`);
the dashboard's model card and Evaluation page, and the tests, read it with :func:`read_report`. Reports written
before the schema had a version (``models/report.json`` as first shipped) hold the same fields and load as version 1.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from core.data import FerDataset
from core.evaluation.agreement import ferplus_metrics
from core.evaluation.metrics import ClassMetrics, Metrics, evaluate
from core.ferplus import vote_distribution
from core.labels import FER2013, PUBLIC_TEST, TRAINING
from core.model.calibration import calibrate
from core.model.classifier import MODEL_FILE, EmotionClassifier

if TYPE_CHECKING:
    import keras  # reading a report (the dashboard's model card) needs no TensorFlow

REPORT_FILE = "report.json"
REPORT_VERSION = 1
"""The schema's version; a report without the field predates it and has the same fields (version 1)."""


class ReportError(ValueError):
    """A report.json that is not a report this code can read: not a JSON object, fields missing, a newer version."""


@dataclass(frozen=True)
class TrainingReport:
    """What training measured and how it ran. The metrics are on ``evaluated_on`` (PublicTest) with flip TTA."""

    model_file: str
    parameters: int
    evaluated_on: str
    flip_tta: bool
    accuracy: float
    samples: int
    per_class: dict[str, ClassMetrics]
    confusion_matrix: list[list[int]]
    accuracy_without_tta: float | None = None
    accuracy_lite: float | None = None
    """The saved model converted to LiteRT (what the product runs), flip TTA."""
    split_sizes: dict[str, int] = field(default_factory=dict)
    training_split: str = TRAINING
    epochs_run: int | None = None
    best_epoch: int | None = None
    """1-based epoch with the best PublicTest accuracy (without TTA, as Keras measures it)."""
    exported_epoch: int | None = None
    history: dict[str, list[float]] = field(default_factory=dict)
    """Keras' history.csv by column (``epoch`` 0-based, ``loss``, ``accuracy``, ``val_*``, ``learning_rate``)."""
    config: dict[str, Any] = field(default_factory=dict)
    """The TrainConfig the model was trained with."""
    training_seconds: float | None = None
    data_file: str | None = None
    data_sha256: str | None = None
    finished: str | None = None
    """When training finished, ``%Y-%m-%dT%H:%M:%S%z``."""
    emotions: list[str] = field(default_factory=lambda: list(FER2013.emotions))
    """The model's emotions, in the order of its outputs (reports that predate the field: FER-2013's seven)."""
    ferplus: dict[str, Any] | None = None
    """Agreement with FER+'s ten annotators on PublicTest (:func:`core.evaluation.agreement.ferplus_metrics`),
    beside ``fer2013_accuracy`` (PublicTest's FER-2013 labels), both of the float32 model with or without flips as
    it is served; None where the data had no votes."""
    fer2013_accuracy: float | None = None
    calibration: dict[str, Any] | None = None
    """The sidecar's record (:func:`core.model.calibration.calibrate`) on ``evaluated_on``, LiteRT probabilities:
    ``temperature``, ``ece_before``/``ece_after`` (fractions, 15 bins), ``log_loss_before``/``log_loss_after``,
    ``uncertain_below`` and ``reliability`` (the calibrated bins). ``None`` in reports that predate it."""
    version: int = REPORT_VERSION

    @property
    def metrics(self) -> Metrics:
        """The metrics part, shaped like :func:`core.evaluation.metrics.classification_metrics`' result."""
        return {"accuracy": self.accuracy, "samples": self.samples, "per_class": self.per_class,
                "confusion_matrix": self.confusion_matrix}

    @property
    def serves_flip_tta(self) -> bool:
        """Whether the product serves the model with flip TTA: a training run's ``serve_flip_tta`` (its ``accuracy``
        is measured with flips either way), else how ``accuracy`` was measured."""
        return bool(self.config.get("serve_flip_tta", self.flip_tta))

    @property
    def smoothing_widths(self) -> list[float]:
        """Each network's input blur in pixels (one per member of an ensemble); empty when none was fitted.
        Ensembles made before each member had its own width record one ``sigma`` for all."""
        smoothing = self.config.get("input_smoothing") or {}
        if "sigmas" in smoothing:
            return [float(sigma) for sigma in smoothing["sigmas"]]
        if not smoothing.get("sigma"):
            return []
        return [float(smoothing["sigma"])] * len(self.config.get("ensemble") or [None])

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, ``version`` first."""
        fields = dataclasses.asdict(self)
        return {"version": fields.pop("version"), **fields}

    @classmethod
    def from_dict(cls, data: Any) -> TrainingReport:
        """A report from parsed JSON; a missing ``version`` is version 1, fields this version lacks are ignored."""
        if not isinstance(data, dict):
            raise ReportError(f"expected a JSON object, got {type(data).__name__}")
        version = data.get("version", 1)
        if not isinstance(version, int) or not 1 <= version <= REPORT_VERSION:
            raise ReportError(f"report version {version!r} is not one this code reads (1..{REPORT_VERSION})")
        known = {item.name: item for item in dataclasses.fields(cls)}
        required = [name for name, item in known.items()
                    if item.default is dataclasses.MISSING and item.default_factory is dataclasses.MISSING]
        missing = [name for name in required if name not in data]
        if missing:
            raise ReportError(f"missing field(s) {', '.join(missing)}")
        return cls(**{name: value for name, value in data.items() if name in known})

    def write(self, path: str | os.PathLike) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2))


def read_report(path: str | os.PathLike) -> TrainingReport:
    """The report at ``path``; FileNotFoundError when there is none, ReportError when it is not a readable report."""
    try:
        data = json.loads(Path(path).read_text())
    except ValueError as error:
        raise ReportError(f"{path} is not readable JSON: {error}") from error
    try:
        return TrainingReport.from_dict(data)
    except ReportError as error:
        raise ReportError(f"{path}: {error}") from error


def model_summary(model: keras.Model) -> str:
    buffer = io.StringIO()
    model.summary(print_fn=lambda line, **_: buffer.write(line + "\n"))
    return buffer.getvalue()


def measure_saved_model(
    model: keras.Model, out: Path, validation: FerDataset, flip_tta: bool = True, to_votes: bool = False
) -> tuple[Metrics, dict]:
    """What the product runs, measured: ``out/emotion_cnn.keras`` converted to LiteRT (the conversion written
    beside it, and cached), its metrics on ``validation``, and the calibration fitted on those probabilities
    (its sidecar written too); ``to_votes``: fitted to the faces' FER+ vote distributions. Shared by training's
    report and the ensemble's."""
    classifier = EmotionClassifier.from_model(model, flip_tta, model_file=out / MODEL_FILE, ship=True)
    lite, probabilities = evaluate(classifier, validation)
    targets = vote_distribution(validation.votes) if to_votes else None
    return lite, calibrate(probabilities, validation.labels, out / MODEL_FILE, flip_tta=flip_tta, targets=targets)


def agreement_with_people(model: keras.Model, data: FerDataset, flip_tta: bool) -> dict[str, Any]:
    """A report's ``ferplus`` and ``fer2013_accuracy``: PublicTest's agreement with the annotators and its FER-2013
    accuracy, of the float32 model served with or without flips; both None where ``data`` has no votes."""
    public = data.split(PUBLIC_TEST)
    if public.votes is None or not len(public):
        return {"ferplus": None, "fer2013_accuracy": None}
    served = EmotionClassifier(model, flip_tta=flip_tta)
    figures, probabilities = evaluate(served, public)
    return {"ferplus": ferplus_metrics(probabilities, served.labels.emotions, public.votes, public.labels),
            "fer2013_accuracy": figures["accuracy"]}


def write_training_artifacts(
    model: keras.Model, data: FerDataset, selection: FerDataset, out: Path, training_info: dict
) -> TrainingReport:
    """Summary, learning curves, confusion matrix, calibration sidecar and ``report.json``, beside the model.

    Measured on ``selection``, the faces training selected on (PublicTest, its FER+ majority for a model of the
    votes, or faces held out of an image folder); the temperature is fitted on their LiteRT probabilities, what
    the product runs. Where ``data`` has FER+ votes, PublicTest's agreement with the annotators and its FER-2013
    accuracy are reported too, for every model, with or without flips as it is served.

    ``training_info``: ``config``, ``training_seconds``, ``data_file``, ``data_sha256`` and ``finished``.
    """
    from core.evaluation.plots import plot_confusion_matrix, plot_learning_curves  # matplotlib: writing only

    (out / "model_summary.txt").write_text(model_summary(model))
    history = pd.read_csv(out / "history.csv")
    plot_learning_curves(history, out / "learning_curves.png")
    best_epoch = int(history["val_accuracy"].idxmax() + 1)
    exact = EmotionClassifier(model, flip_tta=True)
    metrics, _ = evaluate(exact, selection)
    plain, _ = evaluate(EmotionClassifier(model, flip_tta=False), selection)
    config = training_info["config"]
    lite, calibration = measure_saved_model(model, out, selection, config["serve_flip_tta"],
                                            to_votes=config["labels"] == "ferplus")
    evaluated_on = training_info.get("validation", PUBLIC_TEST)
    plot_confusion_matrix(
        np.array(metrics["confusion_matrix"]), out / "confusion_matrix.png",
        f"{evaluated_on}, accuracy {metrics['accuracy']:.2%} (flip TTA)", exact.labels.emotions,
    )
    report = TrainingReport(
        model_file=MODEL_FILE,
        parameters=int(model.count_params()),
        evaluated_on=evaluated_on,
        flip_tta=True,
        **metrics,
        accuracy_without_tta=plain["accuracy"],
        accuracy_lite=lite["accuracy"],
        split_sizes={name: int((data.usage == name).sum()) for name in data.splits},
        training_split=TRAINING,
        epochs_run=len(history),
        best_epoch=best_epoch,
        exported_epoch=best_epoch if training_info["config"]["export"] == "best" else len(history),
        history=history.to_dict(orient="list"),
        emotions=list(exact.labels.emotions),
        **agreement_with_people(model, data, config["serve_flip_tta"]),
        calibration=calibration,
        **{key: value for key, value in training_info.items() if key != "validation"},
    )
    report.write(out / REPORT_FILE)
    return report
