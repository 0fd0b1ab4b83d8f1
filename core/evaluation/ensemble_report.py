"""The report of an ensemble: its members' and its own PublicTest accuracy, written beside the ensemble model.
Owns write_ensemble.

Each member and the ensemble are measured the way the product runs them (LiteRT, int8 weights, flip
TTA), on PublicTest, the selection split; the report uses the same schema as training's report.json,
with the members listed under ``config["ensemble"]``. The ensemble's temperature is fitted on the same
split and stored beside it, so its probabilities are calibrated as a whole.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from core.data import FerDataset, file_sha256
from core.evaluation.metrics import evaluate
from core.evaluation.plots import plot_confusion_matrix
from core.evaluation.report import REPORT_FILE, TrainingReport, measure_saved_model, model_summary
from core.labels import PUBLIC_TEST
from core.model.classifier import MODEL_FILE, EmotionClassifier, load_keras_model
from core.model.ensemble import build_ensemble


def write_ensemble(
    member_files: list[str | os.PathLike], data: FerDataset, data_path: str | os.PathLike, out: str | os.PathLike
) -> TrainingReport:
    """Average the member models into ``out/emotion_cnn.keras`` with its report, confusion matrix and calibration."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    validation = data.split(PUBLIC_TEST)
    if len(validation) == 0:
        raise ValueError(f"{data.source}: measuring an ensemble needs PublicTest rows; found splits {data.splits}")
    members, described = [], []
    for path in member_files:
        member = load_keras_model(path)
        metrics, _ = evaluate(EmotionClassifier.from_model(member, model_file=path), validation)
        members.append(member)
        described.append({"file": str(path), "sha256": file_sha256(path), "parameters": int(member.count_params()),
                          "accuracy_lite": metrics["accuracy"]})
    model = build_ensemble(members)
    model.save(out / MODEL_FILE)
    (out / "model_summary.txt").write_text(model_summary(model))
    lite, calibration = measure_saved_model(model, out, validation)
    plot_confusion_matrix(
        np.array(lite["confusion_matrix"]), out / "confusion_matrix.png",
        f"PublicTest, accuracy {lite['accuracy']:.2%} (ensemble of {len(members)}, LiteRT, flip TTA)",
    )
    report = TrainingReport(
        model_file=MODEL_FILE,
        parameters=int(model.count_params()),
        evaluated_on=PUBLIC_TEST,
        flip_tta=True,
        **lite,
        accuracy_lite=lite["accuracy"],
        split_sizes={name: int((data.usage == name).sum()) for name in data.splits},
        config={"ensemble": described},
        calibration=calibration,
        data_file=str(data_path),
        data_sha256=file_sha256(data_path) if Path(data_path).is_file() else None,
        finished=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    )
    report.write(out / REPORT_FILE)
    return report
