"""Probes and metrics outside /v1, never behind a key: ``/healthz``, ``/readyz`` and ``/metrics``.
Owns the health router.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from service.metrics import CONTENT_TYPE

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process answers")
async def healthz() -> dict:
    return {"status": "ok"}


@router.get("/readyz", summary="The model is loaded and requests are taken", responses={503: {"description":
                                                                                                 "Not ready"}})
async def readyz(request: Request) -> JSONResponse:
    service = request.app.state.service
    if not service.ready:
        return JSONResponse({"status": "not ready"}, status_code=503)
    return JSONResponse({"status": "ready", "model": service.model_info})


@router.get("/metrics", summary="Prometheus metrics", response_class=Response,
            responses={200: {"content": {CONTENT_TYPE: {}}, "description": "Prometheus text format"}})
async def metrics(request: Request) -> Response:
    return Response(request.app.state.service.metrics.render(), media_type=CONTENT_TYPE)
