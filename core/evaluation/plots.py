"""Figures of how training went and where the model is wrong, as PNG files.
Owns plot_confusion_matrix (row-normalised, with counts) and plot_learning_curves (loss and accuracy per epoch).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from core.labels import FER2013


def plot_confusion_matrix(
    matrix: np.ndarray, path: Path, title: str, emotions: tuple[str, ...] = FER2013.emotions
) -> None:
    """The matrix as shares of each true class (colour) with counts and percentages in the cells."""
    count = len(emotions)
    normalised = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    figure, axes = plt.subplots(figsize=(7, 6))
    image = axes.imshow(normalised, cmap="Blues", vmin=0, vmax=1)
    axes.set_xticks(range(count), emotions, rotation=45, ha="right")
    axes.set_yticks(range(count), emotions)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(title)
    for row in range(count):
        for col in range(count):
            colour = "white" if normalised[row, col] > 0.5 else "black"
            axes.text(col, row, f"{matrix[row, col]}\n{normalised[row, col]:.0%}", ha="center", va="center",
                      fontsize=7, color=colour)
    figure.colorbar(image, ax=axes, label="fraction of the true class")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def plot_learning_curves(history: pd.DataFrame, path: Path) -> None:
    """Loss and accuracy per epoch, Training against PublicTest, from Keras' history.csv."""
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
