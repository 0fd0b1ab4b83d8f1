"""Charts of a video's analysis: who showed which emotion when (clickable), and each person's emotion shares.
Owns timeline_figure, clicked_time, shares_figure, shares_table and summary_emotions.

The emotions are read from the analysis itself (frames.csv's probability columns, each person's shares), so the
charts name the emotions of the model that analysed the video.
"""

from __future__ import annotations

import io

import pandas as pd
import plotly.graph_objects as go

from components.charts import emotion_colour
from core.analysis.recording import FACE_COLUMNS

MAX_POINTS = 4000
"""The timeline shows at most about this many rows of frames.csv (evenly spaced), so long videos stay quick."""


def timeline_figure(frames_csv: bytes) -> go.Figure:
    """One row per person, a marker per analysed frame coloured by its emotion; clicking one selects its time."""
    rows = pd.read_csv(io.BytesIO(frames_csv))
    emotions = list(rows.columns[len(FACE_COLUMNS):])  # frames.csv: the face's columns, then the model's emotions
    step = max(1, -(-len(rows) // MAX_POINTS))
    rows = rows.iloc[::step]
    figure = go.Figure()
    for emotion in emotions:
        chosen = rows[rows.emotion == emotion]
        figure.add_trace(go.Scatter(
            x=chosen.time_s, y=[f"#{person}" for person in chosen.person], mode="markers", name=emotion,
            marker=dict(symbol="square", size=12, color=emotion_colour(emotion)), customdata=chosen.confidence,
            hovertemplate="%{y} at %{x:.2f} s: " + emotion + " %{customdata:.0%}<extra></extra>",
            selected=dict(marker=dict(opacity=1)), unselected=dict(marker=dict(opacity=1)),
        ))
    people = sorted(rows.person.unique())
    figure.update_layout(
        height=140 + 40 * max(1, len(people)), margin=dict(l=10, r=10, t=10, b=10), clickmode="event+select",
        dragmode=False, xaxis=dict(title="time (s)", rangemode="tozero"),
        yaxis=dict(type="category", categoryorder="array", categoryarray=[f"#{person}" for person in people],
                   autorange="reversed"),
        legend=dict(orientation="h", y=-0.35),
    )
    return figure


def clicked_time(selection: object) -> float | None:
    """The time (s) of the point last clicked on the timeline, from ``st.plotly_chart``'s selection state."""
    try:
        points = selection["selection"]["points"]
    except (KeyError, TypeError):
        return None
    return float(points[-1]["x"]) if points else None


def summary_emotions(summary: dict) -> list[str]:
    """The emotions of the model that made a video's summary (none when it found nobody)."""
    people = summary["people"]
    return list(people[0]["emotion_share"]) if people else []


def shares_table(summary: dict) -> pd.DataFrame:
    """One row per person: seconds on screen, first and last seen, dominant emotion and the share of each."""
    return pd.DataFrame([
        {"person": f"#{person['person']}", "on screen (s)": person["seconds_on_screen"],
         "first seen (s)": person["first_seen_s"], "last seen (s)": person["last_seen_s"],
         "dominant": person["dominant_emotion"], **person["emotion_share"]}
        for person in summary["people"]
    ], columns=["person", "on screen (s)", "first seen (s)", "last seen (s)", "dominant", *summary_emotions(summary)])


def shares_figure(summary: dict) -> go.Figure:
    """A stacked bar per person: the share of their time on screen with each emotion."""
    people = summary["people"]
    names = [f"#{person['person']}" for person in people]
    figure = go.Figure([
        go.Bar(y=names, x=[person["emotion_share"][emotion] for person in people], name=emotion, orientation="h",
               marker_color=emotion_colour(emotion), hovertemplate="%{y}: " + emotion + " %{x:.0%}<extra></extra>")
        for emotion in summary_emotions(summary)
    ])
    figure.update_layout(
        barmode="stack", height=120 + 40 * max(1, len(people)), margin=dict(l=10, r=10, t=10, b=10),
        xaxis=dict(range=[0, 1], tickformat=".0%"), yaxis=dict(type="category", autorange="reversed"),
        legend=dict(orientation="h", y=-0.4),
    )
    return figure
