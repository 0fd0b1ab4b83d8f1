"""``/v1/videos``: upload a video for analysis in the background, follow its job, download its files, delete it.
Owns the videos router and video_analysis (one file's analysis, as ``train_cli.py analyze`` runs it).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import anyio
from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import FileResponse, JSONResponse

from core.analysis.jobs import DONE, QueueFullError, VideoJob, VideoLimitError, probe_video
from core.analysis.progress import Progress
from core.analysis.recording import ANNOTATED_MP4, FRAMES_CSV, SUMMARY_JSON, TIMELINE_PNG
from core.analysis.video_file import analyze_video_file
from core.analysis.video_reader import VideoAnalysisError
from core.model.classifier import EmotionClassifier
from service.schemas import Problem, VideoJobCreated, VideoJobState
from service.security import Caller, authorize
from service.uploads import declare_upload, save_video

router = APIRouter(prefix="/v1", tags=["videos"], dependencies=[Depends(authorize)])
OUTPUTS = {FRAMES_CSV: "text/csv", SUMMARY_JSON: "application/json", ANNOTATED_MP4: "video/mp4",
           TIMELINE_PNG: "image/png"}
UPLOADS = "uploads"
NO_JOB = {404: {"model": Problem, "description": "No such job (or it expired, or it is another key's)"}}
ERRORS = {status: {"model": Problem, "description": text} for status, text in (
    (401, "No API key, or a wrong one"),
    (408, "The upload took longer than the request timeout"),
    (413, "Over the byte limit, the duration limit or the frame size limit"),
    (415, "Not a video FFmpeg can read"),
    (422, "No video in the request"),
    (429, "Over the rate limit (see the Retry-After header)"),
    (503, "The queue of videos is full (see the Retry-After header)"),
)}


def video_analysis(classifier: EmotionClassifier, detector: str = "blazeface"):
    """``analyze(video, out_dir, progress)`` for a job: core's one-file analysis, as ``train_cli.py analyze`` and
    batches run it (a file that breaks off part-way keeps what came before, its summary says so), with
    summary.json naming the uploaded file rather than the server's path to it."""

    def analyze(video: Path, out_dir: Path, progress) -> None:
        analyze_video_file(video, out_dir, classifier, detector, progress=progress, keep_incomplete=True)
        summary_file = out_dir / SUMMARY_JSON
        summary_file.write_text(json.dumps({**json.loads(summary_file.read_text()), "source": video.name}, indent=2))

    return analyze


@router.post("/videos", status_code=202, response_model=VideoJobCreated, responses=ERRORS,
             openapi_extra=declare_upload("video", "video"), summary="Queue a video for analysis")
async def submit_video(request: Request, caller: Caller) -> JSONResponse:
    """Send one video as the multipart file field `video`, or as the whole request body.

    The answer comes once the file is stored and checked; the analysis (what `python train_cli.py analyze`
    does) then runs in the background. Follow it at `url`.
    """
    service = request.app.state.service
    settings, jobs = service.settings, service.jobs
    if jobs.counts().queued >= jobs.max_queued:  # before the upload is read, not after
        raise HTTPException(503, "the queue of videos is full; try again later", headers={"Retry-After": "30"})
    try:
        async with asyncio.timeout(settings.request_timeout_s):
            path, upload = await save_video(request, settings.max_video_bytes, jobs.root / UPLOADS)
    except TimeoutError:
        raise HTTPException(408, f"the upload took longer than {settings.request_timeout_s:g} s") from None
    try:
        await anyio.to_thread.run_sync(probe_video, path, settings.max_video_seconds, settings.max_image_pixels)
        job = jobs.submit(path, upload.name, caller)
    except VideoAnalysisError as error:
        raise HTTPException(415, f"not a video this service can read: {str(error).replace(path.name, upload.name)}"
                            ) from None
    except VideoLimitError as error:
        raise HTTPException(413, str(error)) from None
    except QueueFullError as error:
        raise HTTPException(503, str(error), headers={"Retry-After": "30"}) from None
    finally:
        path.unlink(missing_ok=True)  # once submitted, the file has moved into the job's folder
    url = str(request.url_for("video_job", job_id=job.id))
    return JSONResponse({"id": job.id, "status": job.status, "url": url}, status_code=202,
                        headers={"Location": url})


def _job(request: Request, job_id: str, caller: str | None) -> VideoJob:
    job = request.app.state.service.jobs.get(job_id, caller)
    if job is None:
        raise HTTPException(404, "no such video job: it never existed, expired or was deleted")
    return job


def _progress(progress: Progress | None) -> dict | None:
    if progress is None:
        return None
    fraction = min(1.0, progress.video_s / progress.duration_s) if progress.duration_s else None
    return {"fraction": fraction, "frames": progress.frames_decoded, "video_seconds": round(progress.video_s, 3),
            "duration_seconds": progress.duration_s}


@router.get("/videos/{job_id}", name="video_job", response_model=VideoJobState, responses=NO_JOB,
            summary="A video job's status, progress and, when done, its files")
async def video_job(request: Request, job_id: str, caller: Caller) -> JSONResponse:
    job = _job(request, job_id, caller)
    jobs = request.app.state.service.jobs
    files = {}
    if job.status == DONE:
        files = {name: str(request.url_for("video_file", job_id=job.id, name=name)) for name in OUTPUTS
                 if (job.out_dir / name).is_file()}
    return JSONResponse({
        "id": job.id, "name": job.name, "status": job.status, "created": job.created,
        "progress": _progress(job.progress), "error": job.error,
        "expires": None if job.finished is None else job.finished + jobs.keep_s, "files": files,
    })


@router.get("/videos/{job_id}/files/{name}", name="video_file", responses=NO_JOB, response_class=FileResponse,
            summary="Download one of a finished job's files")
async def video_file(request: Request, job_id: str, name: str, caller: Caller) -> FileResponse:
    job = _job(request, job_id, caller)
    path = job.out_dir / name
    if name not in OUTPUTS or job.status != DONE or not path.is_file():
        raise HTTPException(404, f"no file {name!r} for this job; a finished job has {', '.join(OUTPUTS)}")
    return FileResponse(path, media_type=OUTPUTS[name], filename=f"{Path(job.name).stem}-{name}")


@router.delete("/videos/{job_id}", status_code=204, responses=NO_JOB,
               summary="Remove a job and its files (a running analysis stops)")
async def delete_video(request: Request, job_id: str, caller: Caller) -> Response:
    if not request.app.state.service.jobs.delete(job_id, caller):
        raise HTTPException(404, "no such video job: it never existed, expired or was deleted")
    return Response(status_code=204)
