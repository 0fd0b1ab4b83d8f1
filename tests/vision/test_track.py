"""Person ids that stay with people, and smoothing that keeps each person's probabilities apart."""

from __future__ import annotations

import numpy as np

from core.vision.detect import Box
from core.vision.track import PersonTracker

FPS = 30


def box_at(x: float, y: float, side: int = 100) -> Box:
    return Box(round(x), round(y), side, side)


def test_new_people_get_new_ids_counting_from_one():
    tracker = PersonTracker()
    assert tracker.update([box_at(0, 0)], 0.0) == [1]
    assert tracker.update([box_at(5, 0), box_at(400, 0)], 1 / FPS) == [1, 2]
    assert tracker.update([box_at(400, 300), box_at(400, 0), box_at(8, 0)], 2 / FPS) == [3, 2, 1]
    assert tracker.update([], 3 / FPS) == []


def test_ids_follow_two_faces_that_cross_paths():
    tracker = PersonTracker()
    for frame in range(60):  # two seconds: A goes right, B goes left, and they pass each other
        t = frame / FPS
        a, b = box_at(20 + 8 * frame, 100), box_at(520 - 8 * frame, 170)
        order = [a, b] if frame % 2 == 0 else [b, a]  # the detector's order means nothing
        ids = tracker.update(order, t)
        assert dict(zip(ids, order, strict=True)) == {1: a, 2: b}


def test_someone_who_leaves_for_a_second_keeps_their_id():
    tracker = PersonTracker(max_age_s=3.0)
    tracker.update([box_at(100, 100), box_at(400, 100)], 0.0)
    for frame in range(1, FPS):  # the first person is out of view for a second
        assert tracker.update([box_at(400, 100)], frame / FPS) == [2]
    assert tracker.update([box_at(120, 110), box_at(400, 100)], 1.0) == [1, 2]


def test_someone_gone_longer_than_max_age_or_elsewhere_is_new():
    tracker = PersonTracker(max_age_s=3.0)
    tracker.update([box_at(100, 100)], 0.0)
    assert tracker.update([box_at(100, 100)], 3.5) == [2]
    assert tracker.update([box_at(500, 300)], 3.6) == [3]  # far from where 2 was: someone else
    assert tracker.update([box_at(500, 300, side=300)], 3.7) == [4]  # three times the size: someone else


def test_smoothing_keeps_people_apart_and_follows_each_one():
    tracker = PersonTracker(smoothing_s=0.3)
    happy, sad = np.eye(7, dtype=np.float32)[3], np.eye(7, dtype=np.float32)[4]
    for frame in range(30):
        first, second = tracker.update([box_at(100, 100), box_at(400, 100)], frame / FPS)
        smoothed_first = tracker.smooth(first, happy)
        smoothed_second = tracker.smooth(second, sad)
        np.testing.assert_allclose(smoothed_first, happy)
        np.testing.assert_allclose(smoothed_second, sad)
    # the first person turns sad: the average moves over about smoothing_s, not at once
    tracker.update([box_at(100, 100), box_at(400, 100)], 30 / FPS)
    step = tracker.smooth(first, sad)
    assert 0.05 < step[4] < 0.2 and step[3] > 0.8
    for frame in range(31, 60):
        tracker.update([box_at(100, 100), box_at(400, 100)], frame / FPS)
        step = tracker.smooth(first, sad)
    assert step[4] > 0.95
    np.testing.assert_allclose(tracker.smooth(second, sad), sad)


def test_a_seek_back_in_time_starts_afresh():
    tracker = PersonTracker()
    tracker.update([box_at(100, 100)], 5.0)
    assert tracker.update([box_at(100, 100)], 1.0) == [2]
