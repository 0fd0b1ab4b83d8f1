"""The FastAPI app: built by create_app from ServiceSettings, the model loaded once when it starts.
Owns create_app, Service (what the routes share: the model, the face threads, the video jobs, keys, limits,
metrics) and model_info.

Start-up loads the model (LiteRT: no TensorFlow), warms the face pipeline and starts the video worker, before the
first request is taken; shutdown, after uvicorn has finished the requests in flight, stops the video worker and
the face threads and removes the jobs' temporary folder.
"""

from __future__ import annotations

import logging
import shutil
import sys
import tempfile
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import anyio
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from core.access import KeyFile, RateLimiter
from core.analysis.jobs import VideoJobs
from core.model.classifier import EmotionClassifier, default_model_path
from core.model.registry import SHIPPED_MODELS, resolve_model_path
from service import faces, health, videos
from service.inference import FacePipeline
from service.metrics import Metrics, MetricsMiddleware
from service.settings import ServiceSettings

logger = logging.getLogger("service")
DESCRIPTION = """Emotions of the faces in photos and videos.

Send `Authorization: Bearer KEY` with every `/v1` call when the server was started with `--api-keys FILE`.
Every error is JSON: `{"detail": "what was wrong"}`. The guide, with curl and Python examples, is docs/api.md.
"""


def model_info(classifier: EmotionClassifier, model: str | None) -> dict:
    """What the answers say about the model: its name, its emotions and how it is served."""
    path = resolve_model_path(model) if model else default_model_path()
    name = next((shipped.name for shipped in SHIPPED_MODELS.values() if shipped.path.resolve() == path.resolve()),
                path.name)
    return {"name": name, "labels": list(classifier.labels.emotions), "label_set": classifier.labels.name,
            "backend": classifier.backend, "flip_tta": classifier.flip_tta,
            "uncertain_below": classifier.uncertain_below}


@dataclass
class Service:
    settings: ServiceSettings
    keys: KeyFile | None
    limiter: RateLimiter | None
    metrics: Metrics
    classifier: EmotionClassifier | None = None
    model_info: dict | None = None
    pipeline: FacePipeline | None = None
    jobs: VideoJobs | None = None
    ready: bool = False
    _temporary: Path | None = None

    def start(self) -> None:
        settings = self.settings
        self.classifier = EmotionClassifier.load(settings.model)
        if "tensorflow" in sys.modules:
            logger.warning("the model has no LiteRT conversion beside it: TensorFlow was loaded to serve it")
        self.model_info = model_info(self.classifier, settings.model)
        self.pipeline = FacePipeline(self.classifier, settings.detector, settings.workers, settings.batch_wait_ms,
                                     settings.max_image_pixels)
        self.pipeline.warm_up()
        root = settings.jobs_dir
        if root is None:
            root = self._temporary = Path(tempfile.mkdtemp(prefix="fer-service-"))
        self.jobs = VideoJobs(root, videos.video_analysis(self.classifier, settings.detector),
                              settings.max_queued_videos, settings.video_keep_s, settings.max_video_seconds)
        self.jobs.start()
        self.metrics.watch_jobs(self.jobs.counts)
        self.ready = True

    def stop(self) -> None:
        self.ready = False
        if self.jobs is not None:
            self.jobs.close()
        if self.pipeline is not None:
            self.pipeline.close()
        if self._temporary is not None:
            shutil.rmtree(self._temporary, ignore_errors=True)


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    """The app; a bad key file fails here, a bad model when the app starts."""
    settings = settings or ServiceSettings()
    service = Service(
        settings,
        KeyFile(settings.api_keys) if settings.api_keys else None,
        RateLimiter(settings.rate_limit) if settings.rate_limit else None,
        Metrics(),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        await anyio.to_thread.run_sync(service.start)
        try:
            yield
        finally:
            await anyio.to_thread.run_sync(service.stop)

    app = FastAPI(title="Facial emotion recognition API", version="1", description=DESCRIPTION, lifespan=lifespan)
    app.state.service = service
    for module in (faces, videos, health):
        app.include_router(module.router)
    app.add_exception_handler(Exception, _internal_error)
    app.add_middleware(MetricsMiddleware, metrics=service.metrics)
    return app


async def _internal_error(request: Request, error: Exception) -> JSONResponse:
    logger.error("%s %s failed", request.method, request.url.path, exc_info=error)
    return JSONResponse({"detail": "internal error: the server could not answer this request"}, status_code=500)
