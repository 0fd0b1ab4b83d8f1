"""Who showed which emotion, and for how long: per-person totals and a timeline chart, accumulated frame by frame.
Owns EmotionTimeline and PersonSummary.

Memory grows with the number of people and of time bins (at most :data:`MAX_BINS` per person),
never with the number of frames.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.analysis.annotate import EMOTION_COLOURS_BGR
from core.analysis.tracked import TrackedFace
from core.labels import FER2013

MAX_BINS = 600
"""The chart's resolution: a video is cut into at most this many time bins (but none shorter than 0.5 s)."""
MIN_BIN_S = 0.5


@dataclass
class _Person:
    first_s: float
    last_s: float = 0.0
    seconds: float = 0.0
    label_seconds: np.ndarray = field(default_factory=lambda: np.zeros(0))
    bins: dict[int, np.ndarray] = field(default_factory=dict)
    """Time bin -> probabilities summed over the bin, weighted by the seconds each frame stands for."""


@dataclass(frozen=True)
class PersonSummary:
    person: int
    seconds_on_screen: float
    first_seen_s: float
    last_seen_s: float
    emotion_share: dict[str, float]
    """Share of the person's time on screen with each emotion as the label."""
    dominant_emotion: str

    def to_dict(self) -> dict:
        return {
            "person": self.person,
            "seconds_on_screen": round(self.seconds_on_screen, 3),
            "first_seen_s": round(self.first_seen_s, 3),
            "last_seen_s": round(self.last_seen_s, 3),
            "emotion_share": {name: round(share, 4) for name, share in self.emotion_share.items()},
            "dominant_emotion": self.dominant_emotion,
        }


class EmotionTimeline:
    """Add each analysed frame's faces with the seconds the frame stands for (until the next analysed frame)."""

    def __init__(self, duration_s: float | None, emotions: tuple[str, ...] = FER2013.emotions) -> None:
        self.bin_s = max(MIN_BIN_S, (duration_s or 0.0) / MAX_BINS)
        self.emotions = emotions
        self._people: dict[int, _Person] = {}

    def add(self, faces: list[TrackedFace], start_s: float, seconds: float) -> None:
        bin_index = int(start_s // self.bin_s)
        for face in faces:
            person = self._people.setdefault(
                face.person, _Person(first_s=start_s, label_seconds=np.zeros(len(self.emotions)))
            )
            person.last_s = start_s + seconds
            person.seconds += seconds
            person.label_seconds[face.label_index] += seconds
            weighted = face.probabilities * seconds
            if bin_index in person.bins:
                person.bins[bin_index] += weighted
            else:
                person.bins[bin_index] = weighted.astype(np.float64)

    def people(self) -> list[PersonSummary]:
        """One summary per person, by id."""
        summaries = []
        for person_id, person in sorted(self._people.items()):
            shares = person.label_seconds / person.seconds if person.seconds > 0 else person.label_seconds
            summaries.append(
                PersonSummary(
                    person=person_id,
                    seconds_on_screen=person.seconds,
                    first_seen_s=person.first_s,
                    last_seen_s=person.last_s,
                    emotion_share=dict(zip(self.emotions, shares.tolist(), strict=True)),
                    dominant_emotion=self.emotions[int(np.argmax(person.label_seconds))],
                )
            )
        return summaries

    def plot(self, path: str | Path, title: str = "") -> None:
        """A PNG with one row per person, coloured by the dominant emotion of each time bin."""
        from matplotlib.figure import Figure
        from matplotlib.patches import Patch

        people = sorted(self._people.items())
        figure = Figure(figsize=(10, 1.2 + 0.5 * max(1, len(people))), layout="constrained")
        axes = figure.subplots()
        colours = [tuple(channel / 255 for channel in reversed(bgr)) for bgr in EMOTION_COLOURS_BGR]
        for row, (_, person) in enumerate(people):
            for start, length, label in _runs(person.bins):  # bins clipped to when the person was seen
                left = max(start * self.bin_s, person.first_s)
                right = min((start + length) * self.bin_s, person.last_s)
                axes.broken_barh([(left, right - left)], (row - 0.4, 0.8), color=colours[label])
        axes.set_yticks(range(len(people)), [f"#{person_id}" for person_id, _ in people])
        axes.set_ylim(-0.6, max(1, len(people)) - 0.4)
        axes.invert_yaxis()
        axes.set_xlabel("time (s)")
        axes.set_title(title or "dominant emotion per person over time")
        if not people:
            axes.text(0.5, 0.5, "no faces found", ha="center", va="center", transform=axes.transAxes)
        figure.legend(
            handles=[Patch(color=colour, label=name) for name, colour in zip(self.emotions, colours, strict=False)],
            loc="outside right upper",
        )
        figure.savefig(path, dpi=100)


def _runs(bins: dict[int, np.ndarray]) -> list[tuple[int, int, int]]:
    """(first bin, bins, label) for each run of consecutive bins with the same dominant emotion."""
    runs: list[list[int]] = []
    for index in sorted(bins):
        label = int(np.argmax(bins[index]))
        if runs and runs[-1][0] + runs[-1][1] == index and runs[-1][2] == label:
            runs[-1][1] += 1
        else:
            runs.append([index, 1, label])
    return [(start, length, label) for start, length, label in runs]
