"""Clip fixtures for the analysis tests (the moving-face clip, ``face_clip``, is in tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.clips import CLIP_FRAMES, CLIP_HEIGHT, CLIP_WIDTH, write_clip


@pytest.fixture(scope="session")
def plain_clip(tmp_path_factory) -> Path:
    """64 frames, 30 fps, 320x240 of a slowly brightening grey: no face, cheap to make."""
    frames = [np.full((CLIP_HEIGHT, CLIP_WIDTH, 3), 60 + index, np.uint8) for index in range(CLIP_FRAMES)]
    return write_clip(tmp_path_factory.mktemp("clips") / "plain.mp4", frames)
