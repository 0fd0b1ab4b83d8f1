"""LiveAnalyzer: two people keep their own ids over frames, and each one's smoothing sees only their own face."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.conftest import detectable_faces, paste_face


@pytest.fixture(scope="module")
def classifier():
    from core.model.classifier import EmotionClassifier

    return EmotionClassifier.load()


def two_face_frames(faces: list[np.ndarray], count: int = 8) -> list[np.ndarray]:
    """Frames with one face drifting right on the left half and the other drifting left on the right half."""
    frames = []
    for step in range(count):
        frame = paste_face(faces[0], size=160, at=(40 + 4 * step, 150))
        frame[150:310, 420 - 4 * step : 580 - 4 * step] = paste_face(faces[1], size=160, at=(0, 0))[:160, :160]
        frames.append(frame)
    return frames


def test_two_faces_keep_two_ids_and_smoothing_never_mixes_them(public_faces, classifier):
    from core.analysis.live import LiveAnalyzer

    faces = detectable_faces(public_faces[0], 12)
    # two faces the model reads differently, so mixing their probabilities would show
    pair = max(((a, b) for a in range(12) for b in range(a + 1, 12)),
               key=lambda ab: np.abs(classifier.predict_faces(np.stack([faces[ab[0]]]))
                                     - classifier.predict_faces(np.stack([faces[ab[1]]]))).sum())
    frames = two_face_frames([faces[pair[0]], faces[pair[1]]])
    analyzer, raw_analyzer = LiveAnalyzer(classifier, smoothing_s=0.3), LiveAnalyzer(classifier)
    expected: dict[int, np.ndarray] = {}
    ids_by_side: dict[str, set[int]] = {"left": set(), "right": set()}
    for index, frame in enumerate(frames):
        t = index / 15
        result, raw = analyzer.analyze(frame, t), raw_analyzer.analyze(frame, t)
        assert len(result.faces) == 2
        raw_by_person = {face.person: face.probabilities for face in raw.faces}
        for face in result.faces:
            side = "left" if face.box.x + face.box.w / 2 < 320 else "right"
            ids_by_side[side].add(face.person)
            own = raw_by_person[face.person]  # the same detector and tracker: the same ids
            weight = 1.0 - math.exp(-(1 / 15) / 0.3)
            expected[face.person] = own if index == 0 else (1 - weight) * expected[face.person] + weight * own
            assert np.allclose(face.probabilities, expected[face.person], atol=1e-5)
    assert len(ids_by_side["left"]) == 1 and len(ids_by_side["right"]) == 1
    assert ids_by_side["left"] != ids_by_side["right"]
