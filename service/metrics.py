"""Prometheus metrics of one app: requests by route and status, latency histograms, faces classified, video jobs.
Owns Metrics and MetricsMiddleware (a plain ASGI middleware, so streaming bodies pass through untouched).

Each app has a registry of its own, so tests can build several apps in one process.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from core.analysis.jobs import STATUSES, JobCounts

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
CONTENT_TYPE = CONTENT_TYPE_LATEST


class Metrics:
    def __init__(self) -> None:
        disable_created_metrics()  # no *_created series beside each counter: they only lengthen every scrape
        self.registry = CollectorRegistry()
        self.requests = Counter("fer_http_requests", "HTTP requests answered, by route template, method and status",
                                ["route", "method", "status"], registry=self.registry)
        self.latency = Histogram("fer_http_request_duration_seconds", "Seconds from request to the end of the answer",
                                 ["route", "method"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self.faces = Counter("fer_faces_classified", "Faces classified in photos", registry=self.registry)
        self.jobs = Gauge("fer_video_jobs", "Video jobs by status", ["status"], registry=self.registry)

    def watch_jobs(self, counts: Callable[[], JobCounts]) -> None:
        """Read the video jobs' counts at each scrape."""
        for status in STATUSES:
            self.jobs.labels(status).set_function(lambda status=status: getattr(counts(), status))

    def render(self) -> bytes:
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Counts and times every HTTP request under its route's template (``/v1/videos/{job_id}``, not the id)."""

    def __init__(self, app, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), [500]

        async def send_counted(message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_counted)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", "unmatched")
            self.metrics.requests.labels(path, scope["method"], str(status[0])).inc()
            self.metrics.latency.labels(path, scope["method"]).observe(time.perf_counter() - started)
