"""One video file analysed into a folder of its own, published whole or not at all, with what it was made from.
Owns analyze_video_file, completed_output, publish, clean_staging, model_fingerprint and IncompleteVideoError.

The four outputs of :func:`core.analysis.recording.analyze_recording` are written into a hidden staging
folder beside the target and renamed into place only when all of them are written, so a run that is killed
(Ctrl-C, a dead worker, a full disk) never leaves a folder that looks finished. summary.json then also holds
``provenance``: the input's size, modification time and SHA-256, and the settings the outputs depend on
(model file hash, detector, every, frame size). :func:`completed_output` reads it back to decide whether a
folder already holds this content analysed with these settings.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path

from core.analysis.progress import Progress
from core.analysis.recording import (
    ANNOTATED_MP4,
    FRAMES_CSV,
    SUMMARY_JSON,
    TIMELINE_PNG,
    RecordingSummary,
    analyze_recording,
)
from core.analysis.tracked import frame_analyzer
from core.analysis.video_reader import MAX_SIDE, VideoAnalysisError
from core.model.calibration import calibration_path
from core.model.classifier import EmotionClassifier
from core.model.lite import RECORD_SUFFIX, SHIPPED_SUFFIX
from core.vision.faces import make_detector
from core.vision.track import PersonTracker

OUTPUTS = (FRAMES_CSV, SUMMARY_JSON, ANNOTATED_MP4, TIMELINE_PNG)
PROVENANCE = "provenance"
"""summary.json's key for what the outputs were made from."""
STAGING_MARK = ".partial-"
"""Folders named ``.<name>.partial-<id>`` are outputs being written (or left by a killed run): never trusted."""
_CHUNK = 1 << 20


class IncompleteVideoError(VideoAnalysisError):
    """The video broke off before its end (cut short or damaged part-way)."""


def content_record(path: str | Path, sha256: str | None = None) -> dict:
    """Size, modification time and SHA-256 of a file (``sha256`` given: trusted, not recomputed)."""
    stat = Path(path).stat()
    return {"size_bytes": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": sha256 or file_sha256(path)}


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def model_fingerprint(model_path: str | Path) -> str:
    """SHA-256 over a model file and the files beside it that change its predictions (calibration, LiteRT copy)."""
    path = Path(model_path)
    digest = hashlib.sha256()
    beside = (calibration_path(path), path.with_suffix(SHIPPED_SUFFIX), path.with_name(path.stem + RECORD_SUFFIX))
    for part in (path, *beside):
        if part.is_file():
            digest.update(part.name.encode())
            digest.update(file_sha256(part).encode())
    return digest.hexdigest()


def analyze_video_file(
    source: str | Path,
    out_dir: str | Path,
    classifier: EmotionClassifier,
    detector: str = "blazeface",
    every: int = 1,
    max_side: int = MAX_SIDE,
    progress: Callable[[Progress], None] | None = None,
    settings: Mapping | None = None,
    keep_incomplete: bool = False,
) -> RecordingSummary:
    """Analyse ``source`` into ``out_dir`` (replacing what is there only once the new outputs are whole).

    ``detector`` is a detector's name: a fresh one is made per file, as a detector keeps per-person state.
    ``settings`` (what the outputs depend on besides the file, e.g. the model's fingerprint) is recorded in
    summary.json's ``provenance`` with the input's :func:`content_record`. Raises :class:`VideoAnalysisError`
    for a file with no readable video, and :class:`IncompleteVideoError` for one that breaks off part-way
    (unless ``keep_incomplete``: then its outputs are published and the summary says ``complete`` False);
    when it raises, ``out_dir`` is left as it was.
    """
    source, out_dir = Path(source), Path(out_dir)
    record = content_record(source)  # before the analysis: a file changed during it is not trusted later
    staging = out_dir.with_name(f".{out_dir.name}{STAGING_MARK}{uuid.uuid4().hex[:12]}")
    try:
        analyze_frame = frame_analyzer(classifier, make_detector(detector, video=True), PersonTracker())
        summary = analyze_recording(source, staging, analyze_frame, every=every, progress=progress, max_side=max_side)
        if not summary.complete and not keep_incomplete:
            raise IncompleteVideoError(summary.error or "the video breaks off before its end")
        summary_path = staging / SUMMARY_JSON
        written = json.loads(summary_path.read_text())
        written[PROVENANCE] = {"input": record, "settings": dict(settings or {})}
        summary_path.write_text(json.dumps(written, indent=2))
        publish(staging, out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return summary


def publish(staging: Path, target: Path) -> None:
    """Put the finished folder ``staging`` at ``target``, replacing an older one; each step is one rename."""
    for name in OUTPUTS:
        _fsync(staging / name)
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}{STAGING_MARK}old-{uuid.uuid4().hex[:12]}")
        os.replace(target, old)  # from here until the next rename the target is absent: never half there
    os.replace(staging, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _fsync(path: Path) -> None:
    if path.is_file():
        with open(path, "rb") as handle:
            os.fsync(handle.fileno())


def completed_output(out_dir: str | Path, source: str | Path, settings: Mapping) -> dict | None:
    """summary.json of ``out_dir`` when it holds complete outputs of ``source``'s present content made with
    ``settings``; None otherwise (missing, incomplete, other settings, or the file has changed since).

    The SHA-256 is recomputed only when the file's size is the same but its modification time differs.
    """
    out_dir = Path(out_dir)
    try:
        summary = json.loads((out_dir / SUMMARY_JSON).read_text())
        made_from = summary[PROVENANCE]
        recorded = made_from["input"]
        stat = Path(source).stat()
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not summary.get("complete") or made_from.get("settings") != dict(settings):
        return None
    if not all((out_dir / name).is_file() for name in OUTPUTS):
        return None
    if stat.st_size != recorded.get("size_bytes"):
        return None
    if stat.st_mtime_ns != recorded.get("mtime_ns") and file_sha256(source) != recorded.get("sha256"):
        return None
    return summary


def clean_staging(folder: str | Path) -> int:
    """Remove staging folders a killed run left in ``folder``; how many went."""
    folder = Path(folder)
    if not folder.is_dir():
        return 0
    left = [path for path in folder.iterdir() if path.is_dir() and path.name.startswith(".")
            and STAGING_MARK in path.name]
    for path in left:
        shutil.rmtree(path, ignore_errors=True)
    return len(left)
