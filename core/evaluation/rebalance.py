"""A trained network, prior-corrected, written as a new run with its own report: ``train_cli.py rebalance``.
Owns write_rebalanced.

The correction itself is :mod:`core.model.prior_correction`. The new run is measured exactly as training measures
its own (:func:`core.evaluation.report.write_training_artifacts`: the same selection faces, LiteRT figures,
calibration and FER+ agreement), and keeps the source's training record, so its report compares with every
other run's; ``config["prior_correction"]`` says what was done, to which file.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from core.data import FerDataset, file_sha256
from core.evaluation.report import REPORT_FILE, TrainingReport, read_report, write_training_artifacts
from core.labels import label_set_of
from core.model.classifier import MODEL_FILE, load_keras_model
from core.model.emotion_output import model_labels
from core.model.prior_correction import people_prior, with_prior_correction
from core.model.registry import resolve_model_path
from core.model.targets import training_sets


def write_rebalanced(
    model: str | os.PathLike,
    data: FerDataset,
    data_path: str | os.PathLike,
    out: str | os.PathLike,
    strength: float,
    flip_tta: bool | None = None,
    rare_below: float = 1.0,
) -> TrainingReport:
    """``model``'s network (a shipped name or a file) with its prior corrected by ``strength`` for the emotions
    people name on fewer than ``rare_below`` of the faces (:mod:`core.model.prior_correction`), into
    ``out/emotion_cnn.keras`` with its report, calibration and LiteRT conversion. ``flip_tta``: how it is served
    (default: as the source was).

    The source must be a training run's model, its ``report.json`` beside it (the report says how the network
    was fitted and selected); ValueError otherwise."""
    model_file = resolve_model_path(model)
    source = _training_report(model_file)
    network = load_keras_model(model_file)
    labels = model_labels(network)
    prior = people_prior(data, labels)
    config = dict(source.config)
    if flip_tta is not None:
        config["serve_flip_tta"] = flip_tta
    config["prior_correction"] = {
        "strength": strength,
        "rare_below": rare_below,
        "prior": dict(zip(labels.emotions, prior.round(4).tolist(), strict=True)),
        "prior_from": "Training's FER+ votes" if data.votes is not None else "Training's labels",
        "source": {"file": str(model), "sha256": file_sha256(model_file)},
    }
    sets = training_sets(data, label_set_of(config.get("label_set", labels.emotions)), config.get("labels", "fer2013"),
                         config.get("fer2013_weight", 0.0), config.get("seed", 42))
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    corrected = with_prior_correction(network, prior, strength, rare_below)
    corrected.save(out / MODEL_FILE)
    pd.DataFrame(source.history).to_csv(out / "history.csv", index=False)
    training_info = {
        "config": config,
        "validation": sets.validation,
        "training_seconds": source.training_seconds,
        "data_file": str(data_path),
        "data_sha256": file_sha256(data_path) if Path(data_path).is_file() else None,
        "finished": source.finished,  # when the network was trained; the correction is in the config
    }
    return write_training_artifacts(corrected, data, sets.selection, out, training_info)


def _training_report(model_file: Path) -> TrainingReport:
    """The training report beside ``model_file``; ValueError when there is none, or it records no training."""
    path = model_file.parent / REPORT_FILE
    if not model_file.is_file():
        raise ValueError(f"{model_file}: no such model file")
    try:
        report = read_report(path)
    except FileNotFoundError:
        raise ValueError(f"{model_file}: rebalancing needs the training run's {REPORT_FILE} beside the model") from None
    if not report.history or "export" not in report.config:
        raise ValueError(f"{path} records no training run (an ensemble or a smoothed model): rebalance the trained "
                         "network it came from")
    if "prior_correction" in report.config:
        raise ValueError(f"{model_file} is already prior-corrected; rebalance the network it came from "
                         f"({report.config['prior_correction']['source']['file']})")
    return report
