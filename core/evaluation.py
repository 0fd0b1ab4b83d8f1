"""Accuracy, per-class metrics, confusion matrices, plots and the training report."""

from __future__ import annotations

import io
import json
from pathlib import Path

import keras
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from core.data import FerDataset
from core.labels import EMOTIONS, NUM_CLASSES, PUBLIC_TEST, TRAINING
from core.model.classifier import MODEL_FILE, EmotionClassifier

REPORT_FILE = "report.json"


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray) -> np.ndarray:
    """Counts (7, 7): row = true emotion, column = predicted emotion."""
    matrix = np.zeros((NUM_CLASSES, NUM_CLASSES), dtype=np.int64)
    np.add.at(matrix, (labels.astype(int), predictions.astype(int)), 1)
    return matrix


def classification_metrics(labels: np.ndarray, predictions: np.ndarray) -> dict:
    """Accuracy, per-class precision/recall/F1/support and the confusion matrix."""
    matrix = confusion_matrix(labels, predictions)
    true_positive = np.diag(matrix).astype(float)
    predicted, actual = matrix.sum(axis=0), matrix.sum(axis=1)
    precision = np.divide(true_positive, predicted, out=np.zeros(NUM_CLASSES), where=predicted > 0)
    recall = np.divide(true_positive, actual, out=np.zeros(NUM_CLASSES), where=actual > 0)
    denominator = precision + recall
    f1 = np.divide(2 * precision * recall, denominator, out=np.zeros(NUM_CLASSES), where=denominator > 0)
    return {
        "accuracy": float(true_positive.sum() / max(matrix.sum(), 1)),
        "samples": int(matrix.sum()),
        "per_class": {
            emotion: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(actual[i]),
            }
            for i, emotion in enumerate(EMOTIONS)
        },
        "confusion_matrix": matrix.tolist(),
    }


def evaluate(classifier: EmotionClassifier, data: FerDataset) -> tuple[dict, np.ndarray]:
    """Metrics of a classifier on labelled faces, and its probabilities for each face."""
    probabilities = classifier.predict_faces(data.images)
    return classification_metrics(data.labels, probabilities.argmax(axis=1)), probabilities


def per_class_table(metrics: dict) -> str:
    """The per-class metrics as a fixed-width text table."""
    lines = [f"{'emotion':<10}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}"]
    for emotion, row in metrics["per_class"].items():
        lines.append(
            f"{emotion:<10}{row['precision']:>10.3f}{row['recall']:>10.3f}{row['f1']:>10.3f}{row['support']:>10d}"
        )
    return "\n".join(lines)


def plot_confusion_matrix(matrix: np.ndarray, path: Path, title: str) -> None:
    normalised = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    figure, axes = plt.subplots(figsize=(7, 6))
    image = axes.imshow(normalised, cmap="Blues", vmin=0, vmax=1)
    axes.set_xticks(range(NUM_CLASSES), EMOTIONS, rotation=45, ha="right")
    axes.set_yticks(range(NUM_CLASSES), EMOTIONS)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(title)
    for row in range(NUM_CLASSES):
        for col in range(NUM_CLASSES):
            colour = "white" if normalised[row, col] > 0.5 else "black"
            axes.text(col, row, f"{matrix[row, col]}\n{normalised[row, col]:.0%}", ha="center", va="center",
                      fontsize=7, color=colour)
    figure.colorbar(image, ax=axes, label="fraction of the true class")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def plot_learning_curves(history: pd.DataFrame, path: Path) -> None:
    figure, (loss_axes, acc_axes) = plt.subplots(1, 2, figsize=(11, 4))
    epochs = history["epoch"] + 1
    loss_axes.plot(epochs, history["loss"], label="Training")
    loss_axes.plot(epochs, history["val_loss"], label="PublicTest")
    loss_axes.set_title("loss")
    acc_axes.plot(epochs, history["accuracy"], label="Training")
    acc_axes.plot(epochs, history["val_accuracy"], label="PublicTest")
    acc_axes.set_title("accuracy")
    for axes in (loss_axes, acc_axes):
        axes.set_xlabel("epoch")
        axes.grid(alpha=0.3)
        axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def model_summary(model: keras.Model) -> str:
    buffer = io.StringIO()
    model.summary(print_fn=lambda line, **_: buffer.write(line + "\n"))
    return buffer.getvalue()


def write_training_artifacts(model: keras.Model, data: FerDataset, out: Path, training_info: dict) -> dict:
    """Summary, learning curves, PublicTest confusion matrix and ``report.json``, next to the model."""
    (out / "model_summary.txt").write_text(model_summary(model))
    history = pd.read_csv(out / "history.csv")
    plot_learning_curves(history, out / "learning_curves.png")
    best_epoch = int(history["val_accuracy"].idxmax() + 1)
    validation = data.split(PUBLIC_TEST)
    metrics, _ = evaluate(EmotionClassifier(model, flip_tta=True), validation)
    plain, _ = evaluate(EmotionClassifier(model, flip_tta=False), validation)
    # What the product runs: the saved file converted to LiteRT (this also fills the conversion cache).
    lite, _ = evaluate(EmotionClassifier.from_model(model, model_file=out / MODEL_FILE), validation)
    plot_confusion_matrix(
        np.array(metrics["confusion_matrix"]), out / "confusion_matrix.png",
        f"PublicTest, accuracy {metrics['accuracy']:.2%} (flip TTA)",
    )
    report = {
        "model_file": MODEL_FILE,
        "parameters": int(model.count_params()),
        "evaluated_on": PUBLIC_TEST,
        "flip_tta": True,
        **metrics,
        "accuracy_without_tta": plain["accuracy"],
        "accuracy_lite": lite["accuracy"],
        "split_sizes": {name: int((data.usage == name).sum()) for name in data.splits},
        "training_split": TRAINING,
        "epochs_run": len(history),
        "best_epoch": best_epoch,
        "exported_epoch": best_epoch if training_info["config"]["export"] == "best" else len(history),
        "history": history.to_dict(orient="list"),
        **training_info,
    }
    (out / REPORT_FILE).write_text(json.dumps(report, indent=2))
    return report
