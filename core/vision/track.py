"""Stable person ids across video frames, and each person's own smoothed probabilities.
Owns PersonTracker, Track (one person's last box, last sighting and smoothed probabilities) and Tracker.

Detections are matched to tracks by the Hungarian method on centre distance (in units of the
track's box side). A track that goes unmatched survives ``max_age_s`` seconds of the caller's
clock, so someone who steps out of view and back near where they left keeps their id. Smoothing
state lives on the track, so two people's probabilities never mix.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from scipy.optimize import linear_sum_assignment

from core.vision.detect import Box

_UNMATCHABLE = 1e6


class Tracker(Protocol):
    """Gives each box of a frame the id of the person it shows, the same id from frame to frame."""

    def update(self, boxes: Sequence[Box], t: float) -> list[int]:
        """One id per box, in the boxes' order; ``t`` is the frame's time in seconds."""
        ...


@dataclass
class Track:
    person_id: int
    box: Box
    last_seen: float
    probabilities: np.ndarray | None = None
    """Smoothed probabilities, None until :meth:`PersonTracker.smooth` is first called."""
    smoothed_at: float = 0.0


class PersonTracker:
    """Ids for the faces of a video, one frame at a time (not thread-safe: one per stream).

    ``max_distance`` is how far (in box sides) a face may move from its track's last box and still
    match; ``max_size_change`` how many times larger or smaller it may be. ``smoothing_s`` is the
    time constant of each person's exponential moving average, in seconds, so it behaves the same
    at any frame rate (0: no smoothing).
    """

    def __init__(
        self,
        max_age_s: float = 3.0,
        max_distance: float = 1.0,
        max_size_change: float = 2.0,
        smoothing_s: float = 0.3,
    ) -> None:
        self.max_age_s = max_age_s
        self.max_distance = max_distance
        self.max_size_change = max_size_change
        self.smoothing_s = smoothing_s
        self.tracks: dict[int, Track] = {}
        self._next_id = 1
        self._now = -math.inf

    def update(self, boxes: Sequence[Box], t_seconds: float) -> list[int]:
        """Person ids for this frame's boxes, in the order given. Timestamps must not decrease;
        one that does (a new video, a seek back) starts afresh, though ids keep counting up."""
        if t_seconds < self._now:
            self.tracks.clear()
        self._now = t_seconds
        self.tracks = {pid: tr for pid, tr in self.tracks.items() if t_seconds - tr.last_seen <= self.max_age_s}
        tracks = list(self.tracks.values())
        ids: list[int | None] = [None] * len(boxes)
        if tracks and boxes:
            cost = np.array([[self._cost(track.box, box) for box in boxes] for track in tracks])
            for row, column in zip(*linear_sum_assignment(cost), strict=True):
                if cost[row, column] < _UNMATCHABLE:
                    ids[column] = tracks[row].person_id
        for index, box in enumerate(boxes):
            if ids[index] is None:
                ids[index] = self._next_id
                self.tracks[self._next_id] = Track(self._next_id, box, t_seconds)
                self._next_id += 1
            track = self.tracks[ids[index]]
            track.box, track.last_seen = box, t_seconds
        return ids

    def smooth(self, person_id: int, probabilities: np.ndarray) -> np.ndarray:
        """This person's probabilities averaged over the last ``smoothing_s`` or so (their first: as given)."""
        track = self.tracks[person_id]
        probabilities = np.asarray(probabilities, dtype=np.float32)
        if track.probabilities is None:
            track.probabilities = probabilities.copy()
        else:
            elapsed = max(self._now - track.smoothed_at, 0.0)
            weight = 1.0 if self.smoothing_s <= 0 else 1.0 - math.exp(-elapsed / self.smoothing_s)
            track.probabilities = (1.0 - weight) * track.probabilities + weight * probabilities
        track.smoothed_at = self._now
        return track.probabilities.copy()

    def _cost(self, previous: Box, box: Box) -> float:
        """Centre distance in units of the previous box's side; unmatchable past the gates."""
        side = math.sqrt(max(previous.w * previous.h, 1))
        ratio = math.sqrt(max(box.w * box.h, 1)) / side
        if not 1 / self.max_size_change <= ratio <= self.max_size_change:
            return _UNMATCHABLE
        distance = math.hypot(
            (box.x + box.w / 2) - (previous.x + previous.w / 2), (box.y + box.h / 2) - (previous.y + previous.h / 2)
        )
        distance /= side
        return distance if distance <= self.max_distance else _UNMATCHABLE
