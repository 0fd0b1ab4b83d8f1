"""Video jobs through the API: upload, follow, download, delete; and videos that are refused on upload."""

from __future__ import annotations

import csv
import io
import json
import time

import cv2
import numpy as np
import pytest
import requests

from service.schemas import VideoJobCreated, VideoJobState
from tests.clips import write_audio_only, write_clip
from tests.service.conftest import app_server


def auth(live) -> dict:
    return {"Authorization": f"Bearer {live.key}"}


def wait_done(url: str, headers: dict, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = requests.get(url, headers=headers, timeout=10).json()
        VideoJobState.model_validate(state)
        if state["status"] in ("done", "failed"):
            return state
        time.sleep(0.2)
    raise AssertionError(f"the job did not finish in {timeout} s: {state}")


def test_a_video_job_completes_and_its_files_download(live, face_clip):
    with open(face_clip, "rb") as video:
        created = requests.post(f"{live.url}/v1/videos", files={"video": ("my clip.mp4", video, "video/mp4")},
                                headers=auth(live), timeout=60)
    assert created.status_code == 202, created.text
    VideoJobCreated.model_validate(created.json())
    job_url = created.json()["url"]
    assert created.headers["Location"] == job_url and job_url.endswith(created.json()["id"])
    state = wait_done(job_url, auth(live))
    assert state["status"] == "done" and state["error"] is None and state["name"] == "my_clip.mp4"
    assert state["progress"]["fraction"] == pytest.approx(1.0, abs=0.05) and state["expires"] > state["created"]
    assert set(state["files"]) == {"frames.csv", "summary.json", "annotated.mp4", "timeline.png"}
    files = {name: requests.get(url, headers=auth(live), timeout=30) for name, url in state["files"].items()}
    assert all(answer.status_code == 200 for answer in files.values())
    rows = list(csv.DictReader(io.StringIO(files["frames.csv"].text)))
    assert len(rows) > 50 and {row["person"] for row in rows} == {"1"}
    summary = json.loads(files["summary.json"].content)
    assert summary["complete"] and summary["source"] == "my_clip.mp4" and len(summary["people"]) == 1
    assert files["annotated.mp4"].content[4:8] == b"ftyp" and files["annotated.mp4"].headers["content-type"] == (
        "video/mp4")
    assert requests.get(state["files"]["frames.csv"], timeout=10).status_code == 401  # downloads need the key too
    assert requests.delete(job_url, headers=auth(live), timeout=10).status_code == 204
    assert requests.get(job_url, headers=auth(live), timeout=10).status_code == 404
    assert requests.get(state["files"]["frames.csv"], headers=auth(live), timeout=10).status_code == 404


def test_a_raw_body_video_is_taken_too(live, face_clip):
    created = requests.post(f"{live.url}/v1/videos", data=face_clip.read_bytes(), headers=auth(live), timeout=60)
    assert created.status_code == 202
    state = wait_done(created.json()["url"], auth(live))
    assert state["status"] == "done" and state["name"] == "upload"
    requests.delete(created.json()["url"], headers=auth(live), timeout=10)


def test_unknown_jobs_and_files_are_404(live):
    assert requests.get(f"{live.url}/v1/videos/nope", headers=auth(live), timeout=10).status_code == 404
    assert requests.delete(f"{live.url}/v1/videos/nope", headers=auth(live), timeout=10).status_code == 404


@pytest.mark.parametrize(("kind", "detail"), [
    ("text", "not a video this service can read"),
    ("photo", "an image"),
    ("audio", "has no video stream"),
])
def test_what_is_not_a_video_gets_415_and_the_server_carries_on(live, tmp_path, kind, detail):
    if kind == "text":
        body = b"just some words, no video"
    elif kind == "photo":
        body = cv2.imencode(".jpg", np.zeros((64, 64, 3), np.uint8))[1].tobytes()
    else:
        body = write_audio_only(tmp_path / "sound.wav").read_bytes()
    answer = requests.post(f"{live.url}/v1/videos", files={"video": ("v.mp4", body)}, headers=auth(live), timeout=30)
    assert answer.status_code == 415, answer.text
    assert detail in answer.json()["detail"] and "upload-" not in answer.json()["detail"]
    assert requests.get(f"{live.url}/readyz", timeout=10).status_code == 200


def test_long_or_large_videos_get_413_and_leave_nothing_behind(tmp_path, face_clip):
    big = write_clip(tmp_path / "big.mp4", [np.zeros((480, 640, 3), np.uint8)] * 2)
    with app_server(max_video_seconds=1.0, max_image_pixels=200_000, jobs_dir=tmp_path / "jobs") as url:
        long = requests.post(f"{url}/v1/videos", data=face_clip.read_bytes(), timeout=30)
        assert long.status_code == 413 and long.json()["detail"].startswith("video too long: 2.1 s, the limit is 1 s")
        large = requests.post(f"{url}/v1/videos", data=big.read_bytes(), timeout=30)
        assert large.status_code == 413 and "640 x 480 pixels" in large.json()["detail"]
        assert list((tmp_path / "jobs" / "uploads").iterdir()) == []


def test_the_queue_of_videos_is_bounded(tmp_path, face_clip):
    with app_server(max_queued_videos=1) as url:
        statuses = [requests.post(f"{url}/v1/videos", data=face_clip.read_bytes(), timeout=30) for _ in range(4)]
        codes = [answer.status_code for answer in statuses]
        # one running and one waiting at most (the first may still wait when the second comes), then refused
        assert codes[0] == 202 and codes[-1] == 503 and set(codes) == {202, 503} and codes.count(202) <= 2, codes
        refused = statuses[codes.index(503)]
        assert "queue of videos is full" in refused.json()["detail"] and refused.headers["Retry-After"] == "30"
