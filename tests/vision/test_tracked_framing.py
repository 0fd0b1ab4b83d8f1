"""Video frames: faces tracked before they are cropped, each person's framing reused for a few frames."""

from __future__ import annotations

import numpy as np
import pytest

from core.vision.faces import FRAMING_REUSE_FRAMES, AlignedDetector, extract_faces, extract_tracked_faces
from core.vision.track import PersonTracker
from tests.conftest import detectable_faces, paste_face


@pytest.fixture(scope="module")
def two_face_frame(public_faces) -> np.ndarray:
    faces = detectable_faces(public_faces[0], 2)  # found by Haar too, for the last test
    frame = paste_face(faces[0], size=160, at=(40, 150))
    frame[150:310, 400:560] = paste_face(faces[1], size=160, at=(400, 150))[150:310, 400:560]
    return frame


class CountingDetector(AlignedDetector):
    """The real detector, counting how often the framing cascade runs."""

    def __init__(self) -> None:
        super().__init__()
        self.cascade_runs = 0
        detect = self.framer.detect

        def counted(gray):
            self.cascade_runs += 1
            return detect(gray)

        self.framer.detect = counted


def test_first_tracked_frame_crops_exactly_as_a_still_image(two_face_frame):
    detector = AlignedDetector()
    still = extract_faces(two_face_frame, detector)
    tracked, people = extract_tracked_faces(two_face_frame, detector, PersonTracker(), 0.0)
    assert len(still) == len(tracked) == 2 and sorted(people) == [1, 2]
    for a, b in zip(still, tracked, strict=True):
        assert a.box == b.box
        np.testing.assert_array_equal(a.pixels, b.pixels)


def test_each_person_keeps_their_own_framing_and_the_cascade_runs_once_per_reuse_span(two_face_frame):
    detector, tracker = CountingDetector(), PersonTracker()
    still = {crop.box: crop.pixels for crop in extract_faces(two_face_frame, AlignedDetector())}
    frames = 2 * FRAMING_REUSE_FRAMES
    for index in range(frames):
        crops, people = extract_tracked_faces(two_face_frame, detector, tracker, index / 30)
        assert sorted(people) == [1, 2]
        for crop in crops:  # reused framing, same frame: the same crop, never the other person's
            np.testing.assert_array_equal(crop.pixels, still[crop.box])
    assert detector.cascade_runs == 2 * frames / FRAMING_REUSE_FRAMES


def test_a_person_who_leaves_is_framed_afresh_when_back(two_face_frame):
    detector, tracker = CountingDetector(), PersonTracker()
    empty = np.full_like(two_face_frame, 128)
    extract_tracked_faces(two_face_frame, detector, tracker, 0.0)
    assert extract_tracked_faces(empty, detector, tracker, 0.1) == ([], [])
    runs = detector.cascade_runs
    _, people = extract_tracked_faces(two_face_frame, detector, tracker, 0.2)
    assert sorted(people) == [1, 2] and detector.cascade_runs == runs + 2


def test_haar_detector_tracks_too(two_face_frame):
    from core.vision.faces import make_detector

    detector = make_detector("haar")
    still = extract_faces(two_face_frame, detector)
    crops, people = extract_tracked_faces(two_face_frame, detector, PersonTracker(), 0.0)
    assert len(still) == 2 and sorted(people) == [1, 2]
    assert [crop.box for crop in crops] == [crop.box for crop in still]
