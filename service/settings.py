"""What a running service is told: the model, the keys, the limits and the worker threads.
Owns ServiceSettings, with the defaults ``train_cli.py serve`` starts with.

The byte and pixel limits are the pages' own (:mod:`core.vision.image`), so a photo the dashboard takes the API
takes, and the other way round.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from core.vision.image import MAX_FILE_BYTES, MAX_PIXELS


@dataclass(frozen=True)
class ServiceSettings:
    model: str | None = None
    """A shipped model's name (``fer2013``, ``ferplus``) or a model file; None: $FER_MODEL_PATH, else the shipped
    one."""
    api_keys: Path | None = None
    """The key file (hashes only); None: no key needed (the server then binds to loopback only)."""
    rate_limit: int | None = None
    """Requests per minute per key (per client address without keys); None: no limit."""
    request_timeout_s: float = 30.0
    """A photo request (upload and analysis) or a video upload that takes longer is answered 503 or 408."""
    max_image_bytes: int = MAX_FILE_BYTES
    max_image_pixels: int = MAX_PIXELS
    max_video_bytes: int = MAX_FILE_BYTES
    max_video_seconds: float = 600.0
    max_queued_videos: int = 8
    """Videos waiting for analysis at most; the next upload is answered 503."""
    video_keep_s: float = 3600.0
    """A finished video job and its files are removed this long after it ends."""
    jobs_dir: Path | None = None
    """Where video jobs keep their files; None: a temporary folder removed when the server stops."""
    workers: int = max(1, os.cpu_count() or 1)
    """Threads that decode photos, find faces and classify them, each with its own face detector."""
    batch_wait_ms: float = 0.0
    """Above 0: faces of concurrent requests are classified in shared batches, the first waiting up to this long
    for others (off by default: on CPUs a shared batch saves little and adds the wait, see docs/api.md)."""
    detector: str = "blazeface"
