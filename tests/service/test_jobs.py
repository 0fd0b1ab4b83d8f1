"""Video jobs without a server: the bounded queue, statuses and progress, deletion, expiry, and the checks on upload."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from core.analysis.jobs import DONE, FAILED, QUEUED, RUNNING, QueueFullError, VideoJobs, VideoLimitError, probe_video
from core.analysis.progress import Progress
from core.analysis.video_reader import VideoAnalysisError
from tests.clips import write_audio_only, write_clip


def wait_for(condition, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


class GatedAnalysis:
    """An analysis that reports progress frame by frame and waits at a gate before each frame."""

    def __init__(self, frames: int = 3) -> None:
        self.frames, self.gate, self.started = frames, threading.Semaphore(0), threading.Event()

    def __call__(self, video: Path, out: Path, progress) -> None:
        self.started.set()
        out.mkdir(parents=True)
        for frame in range(1, self.frames + 1):
            assert self.gate.acquire(timeout=10)
            progress(Progress(frame, frame, frame / 10, self.frames / 10, 0.1))
        (out / "summary.json").write_text(video.read_text())


def upload(tmp_path: Path, name: str = "clip.mp4") -> Path:
    path = tmp_path / f"upload-{time.monotonic_ns()}"
    path.write_text(name)
    return path


@pytest.fixture()
def jobs(tmp_path):
    made = []

    def make(analyze, **options) -> VideoJobs:
        queue = VideoJobs(tmp_path / "jobs", analyze, **options)
        queue.start()
        made.append(queue)
        return queue

    yield make
    for queue in made:
        queue.close()


def test_a_job_runs_reports_progress_and_keeps_its_outputs(jobs, tmp_path):
    analysis = GatedAnalysis()
    queue = jobs(analysis)
    job = queue.submit(upload(tmp_path), "clip.mp4", owner="k1")
    assert analysis.started.wait(10) and job.status == RUNNING
    analysis.gate.release()
    wait_for(lambda: job.progress is not None)
    assert job.progress.frames_decoded == 1
    analysis.gate.release(2)
    wait_for(lambda: job.status == DONE)
    assert (job.out_dir / "summary.json").read_text() == "clip.mp4"
    assert not job.source.exists()  # the upload goes once analysed
    assert queue.get(job.id, "k1") is job and queue.get(job.id, "k2") is None and queue.get(job.id) is None


def test_the_queue_is_bounded_and_a_refused_upload_is_left_alone(jobs, tmp_path):
    analysis = GatedAnalysis()
    queue = jobs(analysis, max_queued=2)
    running = queue.submit(upload(tmp_path), "a.mp4")
    assert analysis.started.wait(10)
    waiting = [queue.submit(upload(tmp_path), name) for name in ("b.mp4", "c.mp4")]
    refused = upload(tmp_path)
    with pytest.raises(QueueFullError, match="2 videos are waiting"):
        queue.submit(refused, "d.mp4")
    assert refused.exists()
    assert queue.counts() == (2, 1, 0, 0) and all(job.status == QUEUED for job in waiting)
    assert queue.delete(waiting[0].id)
    assert queue.counts().queued == 1 and not waiting[0].folder.exists()
    queue.submit(refused, "d.mp4")
    analysis.gate.release(9)
    wait_for(lambda: queue.counts().done == 3)
    assert running.status == DONE


def test_deleting_a_running_job_stops_it_and_removes_its_files(jobs, tmp_path):
    analysis = GatedAnalysis(frames=100)
    queue = jobs(analysis)
    job = queue.submit(upload(tmp_path), "a.mp4")
    assert analysis.started.wait(10)
    assert queue.delete(job.id)
    assert not queue.delete(job.id)
    analysis.gate.release(2)
    wait_for(lambda: job.status == FAILED)
    wait_for(lambda: not job.folder.exists())
    assert "deleted" in job.error


def test_a_failing_analysis_fails_its_job_only(jobs, tmp_path):
    def analyze(video, out, progress):
        if video.name == "bad.mp4":
            raise VideoAnalysisError("the video breaks off after 3 frames")
        out.mkdir(parents=True)

    queue = jobs(analyze)
    bad, good = queue.submit(upload(tmp_path), "bad.mp4"), queue.submit(upload(tmp_path), "good.mp4")
    wait_for(lambda: good.status == DONE)
    assert bad.status == FAILED and bad.error == "the video breaks off after 3 frames"


def test_a_video_with_no_duration_in_its_header_is_stopped_at_the_limit(jobs, tmp_path):
    def analyze(video, out, progress):
        for second in range(100):
            progress(Progress(second, second, float(second), None, 0.1))

    queue = jobs(analyze, max_seconds=5)
    job = queue.submit(upload(tmp_path), "endless.mp4")
    wait_for(lambda: job.status == FAILED)
    assert "video too long" in job.error


def test_finished_jobs_expire_with_their_files(tmp_path):
    now = [1000.0]
    queue = VideoJobs(tmp_path / "jobs", lambda video, out, progress: out.mkdir(parents=True), keep_s=60,
                      clock=lambda: now[0])
    queue.start()
    try:
        job = queue.submit(upload(tmp_path), "a.mp4")
        wait_for(lambda: job.status == DONE)
        now[0] += 59
        assert queue.expire() == 0 and job.folder.exists()
        now[0] += 2
        assert queue.expire() == 1 and not job.folder.exists() and queue.get(job.id) is None
    finally:
        queue.close()


def test_probe_refuses_what_is_not_a_video_or_is_over_the_limits(tmp_path):
    import cv2

    clip = write_clip(tmp_path / "clip.mp4", [np.full((64, 96, 3), 90, np.uint8)] * 30, fps=10)  # 3 s
    assert probe_video(clip, max_seconds=10, max_pixels=10_000).width == 96
    with pytest.raises(VideoLimitError, match=r"video too long: 3\.0 s, the limit is 2 s"):
        probe_video(clip, max_seconds=2, max_pixels=10_000)
    with pytest.raises(VideoLimitError, match="video frames too large: 96 x 64 pixels"):
        probe_video(clip, max_seconds=10, max_pixels=5000)
    photo = tmp_path / "photo.mp4"
    photo.write_bytes(cv2.imencode(".jpg", np.zeros((32, 32, 3), np.uint8))[1].tobytes())
    with pytest.raises(VideoAnalysisError, match="an image"):
        probe_video(photo, 10, 10_000)
    text = tmp_path / "notes.mp4"
    text.write_text("not a video at all")
    with pytest.raises(VideoAnalysisError):
        probe_video(text, 10, 10_000)
    with pytest.raises(VideoAnalysisError, match="no video stream"):
        probe_video(write_audio_only(tmp_path / "sound.wav"), 10, 10_000)
