"""A stand-in person tracker until ``core.vision.track.PersonTracker`` lands: delete this file then.

Greedy matching on box overlap (IoU) with the boxes of the previous frames; no smoothing, no
Hungarian assignment, no motion model. It satisfies :class:`core.analysis.tracked.Tracker`.
"""

from __future__ import annotations

from collections.abc import Sequence

from core.analysis.tracked import BoxXYWH


def iou(a: BoxXYWH, b: BoxXYWH) -> float:
    """Intersection over union of two (x, y, w, h) boxes."""
    width = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    height = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    inter = max(0, width) * max(0, height)
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


class GreedyIouTracker:
    """A box takes the id of the best-overlapping box seen in the last ``forget_s`` seconds, else a new id."""

    def __init__(self, min_iou: float = 0.3, forget_s: float = 1.0) -> None:
        self.min_iou, self.forget_s = min_iou, forget_s
        self._known: dict[int, tuple[BoxXYWH, float]] = {}
        self._next_id = 1

    def update(self, boxes: Sequence[BoxXYWH], t: float) -> list[int]:
        self._known = {person: seen for person, seen in self._known.items() if t - seen[1] <= self.forget_s}
        free, ids = dict(self._known), []
        for box in boxes:  # boxes come largest first: big faces choose first
            best = max(free, key=lambda person: iou(box, free[person][0]), default=None)
            if best is None or iou(box, free[best][0]) < self.min_iou:
                best, self._next_id = self._next_id, self._next_id + 1
            else:
                del free[best]
            self._known[best] = (box, t)
            ids.append(best)
        return ids
