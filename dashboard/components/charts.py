"""Charts of what the model says and how well it does; emotions coloured like the boxes drawn on frames.
Owns EMOTION_COLOURS, emotion_colour, probability_figure, probability_table, distributions_figure, confusion_figure,
learning_curves_figure and reliability_figure.

Every chart takes the emotions it shows (a model's ``labels.emotions``, a report's ``emotions``): seven for a
FER-2013 model, eight for a FER+ one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core.analysis.annotate import EMOTION_COLOURS_BGR
from core.labels import FERPLUS

EMOTION_COLOURS = tuple(f"#{r:02x}{g:02x}{b:02x}" for b, g, r in EMOTION_COLOURS_BGR)
"""One CSS colour per emotion in FER+'s order (FER-2013's seven, then Contempt), as the boxes drawn on frames."""
OTHER_COLOUR = "#7f7f7f"
"""For an emotion the project does not know (a custom model's)."""


def emotion_colour(name: str) -> str:
    """An emotion's colour, by name (FER+'s order), so that it is the same whichever model names it."""
    try:
        return EMOTION_COLOURS[FERPLUS.index(name)]
    except ValueError:
        return OTHER_COLOUR


def probability_figure(
    probabilities: np.ndarray, emotions: tuple[str, ...], height: int = 260, title: str | None = None
) -> go.Figure:
    """Horizontal bars, one per emotion of the model in its order, coloured like the boxes on the video."""
    values = np.asarray(probabilities, dtype=float)
    figure = go.Figure(
        go.Bar(
            x=values, y=list(emotions), orientation="h", marker_color=[emotion_colour(name) for name in emotions],
            text=[f"{value:.0%}" for value in values], textposition="auto",
            hovertemplate="%{y}: %{x:.1%}<extra></extra>",
        )
    )
    figure.update_layout(
        height=height, margin=dict(l=10, r=10, t=30 if title else 10, b=10), title=title,
        xaxis=dict(range=[0, 1.04], tickvals=[0, 0.25, 0.5, 0.75, 1], tickformat=".0%"),
        yaxis=dict(autorange="reversed"), showlegend=False,
    )
    return figure


def probability_table(probabilities: np.ndarray, emotions: tuple[str, ...]) -> dict[str, str]:
    return {emotion: f"{value:.1%}" for emotion, value in zip(emotions, probabilities, strict=True)}


def distributions_figure(distributions: dict[str, np.ndarray], emotions: tuple[str, ...], height: int = 300,
                         colours: tuple[str, ...] = ("#4c78a8", "#f58518")) -> go.Figure:
    """Grouped horizontal bars: several distributions over the same emotions (the model's beside the annotators')."""
    figure = go.Figure([
        go.Bar(name=name, x=np.asarray(values, dtype=float), y=list(emotions), orientation="h",
               marker_color=colours[number % len(colours)], text=[f"{value:.0%}" for value in values],
               textposition="outside", hovertemplate=f"{name}, %{{y}}: %{{x:.1%}}<extra></extra>")
        for number, (name, values) in enumerate(distributions.items())
    ])
    figure.update_layout(
        barmode="group", height=height, margin=dict(l=10, r=10, t=10, b=10), bargap=0.25,
        xaxis=dict(range=[0, 1.15], tickvals=[0, 0.25, 0.5, 0.75, 1], tickformat=".0%"),
        yaxis=dict(autorange="reversed"), legend=dict(orientation="h", y=1.08, x=0),
    )
    return figure


def confusion_figure(matrix: np.ndarray, normalised: bool, emotions: tuple[str, ...]) -> go.Figure:
    """The confusion matrix over ``emotions`` as a heatmap (counts or row shares) whose cells can be hovered and
    clicked."""
    classes = len(emotions)
    rows = matrix.sum(axis=1, keepdims=True)
    columns = matrix.sum(axis=0, keepdims=True)
    row_share = matrix / np.maximum(rows, 1)
    column_share = matrix / np.maximum(columns, 1)
    z = row_share if normalised else matrix
    text = [[f"{row_share[i, j]:.0%}" if normalised else f"{matrix[i, j]:,}" for j in range(classes)]
            for i in range(classes)]
    figure = go.Figure(go.Heatmap(
        z=z, x=list(emotions), y=list(emotions), colorscale="Blues", text=text, texttemplate="%{text}",
        zmin=0, zmax=1 if normalised else None, hoverinfo="skip",
        colorbar=dict(title="share of true class" if normalised else "faces", tickformat=".0%" if normalised else ""),
    ))
    # Transparent markers over the cell centres carry the hover text and make cells clickable.
    true_index, predicted_index = np.meshgrid(range(classes), range(classes), indexing="ij")
    figure.add_trace(go.Scatter(
        x=[emotions[j] for j in predicted_index.ravel()], y=[emotions[i] for i in true_index.ravel()],
        mode="markers", marker=dict(size=44, symbol="square", color="rgba(0,0,0,0)"),
        customdata=np.c_[matrix.ravel(), row_share.ravel(), column_share.ravel(),
                         rows.repeat(classes, axis=1).ravel()],
        hovertemplate="true %{y} → predicted %{x}<br>%{customdata[0]:,} of %{customdata[3]:,} faces"
                      "<br>%{customdata[1]:.1%} of true %{y}<br>%{customdata[2]:.1%} of predicted %{x}<extra></extra>",
        selected=dict(marker=dict(opacity=1)), unselected=dict(marker=dict(opacity=1)), showlegend=False,
    ))
    figure.update_layout(
        height=480, margin=dict(l=10, r=10, t=10, b=10), clickmode="event+select", dragmode=False,
        xaxis=dict(title="predicted"), yaxis=dict(title="true", autorange="reversed"),
    )
    return figure


def learning_curves_figure(history: pd.DataFrame, best_epoch: int | None) -> go.Figure:
    """Loss, accuracy (and learning rate when recorded) per epoch, Training against PublicTest."""
    epochs = history["epoch"] + 1
    panels = [("loss", "loss"), ("accuracy", "accuracy")] + (
        [("learning_rate", "learning rate")] if "learning_rate" in history else [])
    figure = make_subplots(rows=1, cols=len(panels), subplot_titles=[title for _, title in panels])
    for column, (name, _) in enumerate(panels, start=1):
        figure.add_trace(go.Scatter(x=epochs, y=history[name], name="Training" if name != "learning_rate" else
                                    "learning rate", line=dict(color="#1f77b4"), legendgroup=name,
                                    showlegend=column == 1), row=1, col=column)
        if f"val_{name}" in history:
            figure.add_trace(go.Scatter(x=epochs, y=history[f"val_{name}"], name="PublicTest",
                                        line=dict(color="#ff7f0e"), legendgroup=f"val_{name}",
                                        showlegend=column == 1), row=1, col=column)
        figure.update_xaxes(title_text="epoch", row=1, col=column)
    if best_epoch is not None:
        for column in range(1, len(panels) + 1):
            figure.add_vline(x=best_epoch, line_dash="dot", line_color="grey", row=1, col=column)
    figure.update_layout(height=340, margin=dict(l=10, r=10, t=40, b=10), legend=dict(orientation="h", y=-0.25))
    return figure


def reliability_figure(bins: dict, threshold: float, height: int = 340) -> go.Figure:
    """Reliability diagram: accuracy per confidence bin (bars labelled with their face counts) against the diagonal
    of perfect calibration, and a dashed line at the uncertain threshold.

    ``bins``: :meth:`core.model.calibration.ReliabilityBins.to_dict` (empty bins hold ``None``).
    """
    edges = np.asarray(bins["edges"], dtype=float)
    accuracy = [np.nan if value is None else value for value in bins["accuracy"]]
    confidence = [np.nan if value is None else value for value in bins["confidence"]]
    figure = go.Figure()
    figure.add_bar(
        x=(edges[:-1] + edges[1:]) / 2, y=accuracy, width=np.diff(edges) * 0.95, name="accuracy",
        text=[f"{count:,}" if count else "" for count in bins["count"]], textposition="outside",
        customdata=np.column_stack([confidence, bins["count"]]), marker_color="#4c78a8",
        hovertemplate="confidence %{customdata[0]:.1%}<br>accuracy %{y:.1%}<br>%{customdata[1]:,} faces<extra></extra>",
    )
    figure.add_scatter(x=[0, 1], y=[0, 1], mode="lines", name="perfectly calibrated",
                       line=dict(color="grey", dash="dot"))
    figure.add_vline(x=threshold, line_dash="dash", line_color="#e45756",
                     annotation_text=f"uncertain below {threshold:.0%}", annotation_position="top left")
    figure.update_layout(
        height=height, margin=dict(l=10, r=10, t=30, b=10), bargap=0, legend=dict(orientation="h", y=-0.2),
        xaxis=dict(title="confidence (top label)", range=[0, 1], tickformat=".0%"),
        yaxis=dict(title="accuracy", range=[0, 1.1], tickformat=".0%"),
    )
    return figure
