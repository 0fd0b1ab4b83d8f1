"""The photo path on worker threads: decode, find faces, classify, one request per thread at a time.
Owns FacePipeline (the threads, a face detector per thread) and MicroBatcher (faces of concurrent requests in one
model call).

Each request runs what ``predict`` and the Photo page run: :func:`core.vision.image.decode_image` at the pages'
size, then :meth:`core.model.classifier.EmotionClassifier.analyze_frame`. The detectors are not thread-safe, so
each worker thread builds its own; the classifier is shared (it serialises its model calls).
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from core.model.classifier import EmotionClassifier, FacePrediction
from core.vision.crop import FaceCrop
from core.vision.faces import Detector, extract_faces, make_detector
from core.vision.image import DISPLAY_MAX_SIDE, decode_image

MAX_BATCH_FACES = 64


class MicroBatcher:
    """Classifies the faces of concurrent callers together: the first waits up to ``wait_s`` for others to join.

    ``classify`` is called from one thread of the batcher's own, with every waiting caller's faces in one list.
    """

    def __init__(self, classify: Callable[[list[FaceCrop]], list[FacePrediction]], wait_s: float,
                 max_faces: int = MAX_BATCH_FACES) -> None:
        self._classify, self.wait_s, self.max_faces = classify, wait_s, max_faces
        self._queue: queue.Queue = queue.Queue()
        self.batches = self.faces = 0
        self._thread = threading.Thread(target=self._run, name="face-batcher", daemon=True)
        self._thread.start()

    def classify(self, crops: list[FaceCrop]) -> list[FacePrediction]:
        """The predictions of ``crops``, in order, from a shared model call."""
        if not crops:
            return []
        done: Future = Future()
        self._queue.put((crops, done))
        return done.result()

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()

    def _run(self) -> None:
        while (first := self._queue.get()) is not None:
            batch, count = [first], len(first[0])
            deadline = time.monotonic() + self.wait_s
            closing = False
            while count < self.max_faces and (left := deadline - time.monotonic()) > 0:
                try:
                    item = self._queue.get(timeout=left)
                except queue.Empty:
                    break
                if item is None:
                    closing = True
                    break
                batch.append(item)
                count += len(item[0])
            self._serve(batch)
            if closing:
                return

    def _serve(self, batch: list[tuple[list[FaceCrop], Future]]) -> None:
        try:
            predictions = self._classify([crop for crops, _ in batch for crop in crops])
        except Exception as error:  # handed to every caller of the batch
            for _, done in batch:
                done.set_exception(error)
            return
        self.batches, self.faces = self.batches + 1, self.faces + len(predictions)
        start = 0
        for crops, done in batch:
            done.set_result(predictions[start : start + len(crops)])
            start += len(crops)


class FacePipeline:
    """Photos in, faces out, on ``workers`` threads; :meth:`run` awaits one photo's analysis."""

    def __init__(self, classifier: EmotionClassifier, detector: str = "blazeface", workers: int = 2,
                 batch_wait_ms: float = 0.0, max_pixels: int | None = None) -> None:
        self.classifier, self.detector_name = classifier, detector
        self.max_pixels = max_pixels
        self._local = threading.local()
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="faces")
        self._batcher = MicroBatcher(classifier.classify_crops, batch_wait_ms / 1000) if batch_wait_ms > 0 else None

    def _detector(self) -> Detector:
        detector = getattr(self._local, "detector", None)
        if detector is None:
            detector = self._local.detector = make_detector(self.detector_name)
        return detector

    def analyze(self, data: bytes) -> tuple[tuple[int, int], list[FacePrediction]]:
        """(width, height) of the analysed image and its faces, largest first; raises ImageDecodeError."""
        bounds = {} if self.max_pixels is None else {"max_pixels": self.max_pixels}
        image = decode_image(data, max_side=DISPLAY_MAX_SIDE, **bounds)  # the pages' size: the same faces
        size = (image.shape[1], image.shape[0])
        if self._batcher is None:
            return size, self.classifier.analyze_frame(image, self._detector())
        return size, self._batcher.classify(extract_faces(image, self._detector()))

    async def run(self, data: bytes) -> tuple[tuple[int, int], list[FacePrediction]]:
        return await asyncio.get_running_loop().run_in_executor(self._pool, self.analyze, data)

    def warm_up(self) -> None:
        """One model call and one detection, so the first request pays for neither."""
        self.classifier.predict_faces(np.zeros((1, 48, 48), dtype=np.uint8))
        self._pool.submit(lambda: extract_faces(np.full((64, 64, 3), 128, np.uint8), self._detector())).result()

    def close(self) -> None:
        """Finish the photos in hand, then stop the threads."""
        self._pool.shutdown(wait=True)
        if self._batcher is not None:
            self._batcher.close()
