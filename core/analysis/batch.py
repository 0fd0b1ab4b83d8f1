"""Many video files in one run, in this process or on Ray: per-video folders, batch.json and frames.parquet.
Owns run_batch, BatchResult, RAY_LOCAL and the Ray driver; the one module that imports Ray (lazily).

The driver lists the inputs (:mod:`core.analysis.batch_inputs`), skips those whose folder already holds
complete outputs of the same content and settings (and those that failed on their content before, unless
told to retry them), hands the rest to workers (:class:`core.analysis.batch_worker.VideoAnalyst`), and
writes batch.json after every file and frames.parquet at the end (:mod:`core.analysis.batch_record`).
In process the files run one after another: one analysis already keeps both cores of a small machine
busy. On Ray each worker is an actor that loads the model once; a worker that dies is replaced and its
file handed out once more, then marked failed.
"""

from __future__ import annotations

import logging
import os
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from core.analysis.batch_inputs import BatchInput, collect_inputs
from core.analysis.batch_record import BATCH_JSON, read_batch_record, write_combined_table, write_json_atomic
from core.analysis.batch_worker import (
    CONTENT,
    DONE,
    ERROR,
    FAILED,
    PENDING,
    SKIPPED,
    WORKER,
    BatchSettings,
    VideoAnalyst,
    VideoJob,
    failed,
    figures,
)
from core.analysis.progress import BatchProgress, Progress
from core.analysis.video_file import clean_staging, completed_output
from core.analysis.video_reader import VideoAnalysisError, VideoReader
from core.model.classifier import ModelLoadError

RAY_LOCAL = "local"
"""``ray_address`` for a Ray instance started on this machine for the batch (and stopped after it)."""
CPUS_PER_WORKER = 1.0
"""Ray CPUs each worker asks for: one actor per core (an analysis's decoding and encoding threads fill gaps)."""
ATTEMPTS = 2
PROJECT_ROOT = Path(__file__).resolve().parents[2]
"""A file whose worker dies is handed out this many times in all."""
FORMAT = 1


@dataclass
class BatchResult:
    record: dict
    """batch.json's content."""
    out_dir: Path

    @property
    def entries(self) -> list[dict]:
        return self.record["inputs"]

    def count(self, status: str) -> int:
        return sum(entry["status"] == status for entry in self.entries)

    @property
    def failures(self) -> list[dict]:
        """Inputs that failed, in this run or (skipped now) in an earlier one."""
        return [entry for entry in self.entries if FAILED in (entry["status"], entry.get("result"))]


def run_batch(
    paths: Sequence[str],
    out_dir: str | Path,
    settings: BatchSettings,
    ray_address: str | None = None,
    progress: Callable[[BatchProgress], None] | None = None,
    retry_failed: bool = False,
    analyst: type[VideoAnalyst] = VideoAnalyst,
    cpus_per_worker: float = CPUS_PER_WORKER,
) -> BatchResult:
    """Analyse every video the paths name into ``out_dir``; ``ray_address`` None runs them in this process,
    :data:`RAY_LOCAL` on a Ray started here, else on the Ray cluster at that address (``auto``, ``ray://...``).

    Raises KeyboardInterrupt after writing batch.json and frames.parquet of what finished.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    clean_staging(out_dir)
    previous = read_batch_record(out_dir)
    fingerprint = settings.fingerprint()
    known = {entry["path"]: entry["name"] for entry in previous.get("inputs", []) if entry.get("name")}
    inputs, missing = collect_inputs(paths, out_dir, known)
    same_settings = previous.get("settings") == fingerprint
    earlier = {entry["path"]: entry for entry in previous.get("inputs", [])} if same_settings else {}
    entries = [_plan(item, out_dir, fingerprint, earlier.get(str(item.path)), retry_failed) for item in inputs]
    entries += [{"input": argument, "path": None, "name": None, "status": FAILED, "kind": CONTENT,
                 "reason": "no such file or folder, and no file matches it as a pattern"} for argument in missing]
    record = {"format": FORMAT, "settings": fingerprint, "model": settings.model, "engine": None,
              "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "inputs": entries}
    jobs = [VideoJob(entry["path"], str(out_dir / entry["name"]), entry["name"]) for entry in entries
            if entry["status"] == PENDING]
    tracker = _Tracker(entries, jobs, progress)
    save = lambda: write_json_atomic(out_dir / BATCH_JSON, record)  # noqa: E731
    started = time.perf_counter()
    try:
        if not jobs:
            record["engine"] = {"kind": "none: nothing to analyse"}
        elif ray_address is None:
            record["engine"] = _run_here(settings, analyst, jobs, tracker, save)
        else:
            record["engine"] = _run_on_ray(settings, analyst, jobs, tracker, save, ray_address, cpus_per_worker)
    finally:  # also after Ctrl-C: what finished is recorded, and the table holds exactly it
        record["wall_seconds"] = round(time.perf_counter() - started, 3)
        finished = [entry["name"] for entry in entries if DONE in (entry["status"], entry.get("result"))]
        record["table"] = write_combined_table(out_dir, finished, previous.get("table"))
        record["counts"] = {status: sum(entry["status"] == status for entry in entries)
                            for status in (DONE, FAILED, SKIPPED, PENDING)}
        save()
        clean_staging(out_dir)  # what a worker killed mid-file left: never trusted, now gone
    return BatchResult(record, out_dir)


def _plan(item: BatchInput, out_dir: Path, fingerprint: dict, earlier: dict | None, retry_failed: bool) -> dict:
    """The input's entry: skipped if its outputs are complete (or it failed on this same content before)."""
    entry = {"input": item.given, "path": str(item.path), "name": item.name, "status": PENDING,
             "model": fingerprint["model"]}
    try:
        stat = item.path.stat()
    except OSError as error:  # gone since it was listed
        return {**entry, **failed(f"cannot read it: {error.strerror or error}", CONTENT)}
    entry["content"] = {"size_bytes": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    summary = completed_output(out_dir / item.name, item.path, fingerprint)
    if summary is not None:
        return {**entry, **figures(summary), "status": SKIPPED, "result": DONE, "seconds": 0.0,
                "reason": "outputs complete for this content and these settings"}
    if earlier and not retry_failed and earlier.get("kind") == CONTENT and earlier.get("content") == entry["content"] \
            and FAILED in (earlier.get("status"), earlier.get("result")):
        return {**entry, "status": SKIPPED, "result": FAILED, "kind": CONTENT, "seconds": 0.0,
                "reason": earlier.get("reason")}
    return entry


class _Tracker:
    """Folds outcomes into the entries and reports the whole batch's progress."""

    def __init__(self, entries: list[dict], jobs: list[VideoJob], progress: Callable | None) -> None:
        self.entries = {entry["name"]: entry for entry in entries if entry["name"]}
        self.total = len(entries)
        self.finished = self.total - len(jobs)
        self.failed = sum(entry["status"] == FAILED for entry in entries)
        self.progress = progress
        self.video_s = 0.0
        self.video_s_total = _total_seconds([job.source for job in jobs]) if progress else None
        self.started = time.perf_counter()

    def finish(self, job: VideoJob, outcome: dict) -> None:
        self.entries[job.name].update(outcome)
        self.finished += 1
        self.failed += outcome["status"] == FAILED
        self.video_s += outcome.get("video_seconds") or 0.0
        self.report()

    def report(self, current_s: float = 0.0) -> None:
        if self.progress is not None:
            self.progress(BatchProgress(self.finished, self.total, self.failed, self.video_s + current_s,
                                        self.video_s_total, time.perf_counter() - self.started))


def _total_seconds(sources: list[str]) -> float | None:
    """The files' lengths as their headers give them; None when one does not say (or cannot be read)."""
    total = 0.0
    for source in sources:
        try:
            with VideoReader(source) as reader:
                if reader.info.duration_s is None:
                    return None
                total += reader.info.duration_s
        except VideoAnalysisError:
            continue  # it will fail with its reason when its turn comes
    return total


def _run_here(settings: BatchSettings, analyst: type[VideoAnalyst], jobs: list[VideoJob], tracker: _Tracker,
              save: Callable[[], None]) -> dict:
    started = time.perf_counter()
    worker = analyst(settings)
    startup = time.perf_counter() - started

    def progress(update: Progress) -> None:
        tracker.report(update.video_s)

    for job in jobs:
        tracker.finish(job, worker.analyze(job, progress))
        save()
    return {"kind": "in-process", "workers": 1, "startup_s": round(startup, 3),
            "worker_peak_rss_mb": [worker.peak_rss_mb()]}


def _run_on_ray(settings: BatchSettings, analyst: type[VideoAnalyst], jobs: list[VideoJob], tracker: _Tracker,
                save: Callable[[], None], address: str, cpus_per_worker: float) -> dict:
    import ray
    from ray.exceptions import RayActorError, RayTaskError, WorkerCrashedError

    started = time.perf_counter()
    ours = not ray.is_initialized()
    if ours:  # else: already connected (a test's Ray, a notebook's), and left connected
        options: dict = {"num_cpus": os.cpu_count(), "include_dashboard": False} if address == RAY_LOCAL else {}
        if address.startswith("ray://"):  # Ray Client: the workers get this checkout, as with `--working-dir`
            options["runtime_env"] = {"working_dir": str(PROJECT_ROOT)}
        ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING, **options)
    actor_class = ray.remote(num_cpus=cpus_per_worker, max_restarts=0, max_task_retries=0)(analyst)
    count = max(1, min(len(jobs), int(ray.available_resources().get("CPU", 1) // cpus_per_worker)))
    actors = [actor_class.remote(settings) for _ in range(count)]
    try:
        try:
            nodes = ray.get([actor.ready.remote() for actor in actors])  # a model that will not load fails here, once
        except RayActorError as error:
            raise ModelLoadError(f"the workers could not start: {_last_line(error)}") from error
        startup = time.perf_counter() - started
        waiting, running, idle = deque(jobs), {}, list(actors)
        while waiting or running:
            while waiting and idle:
                actor, job = idle.pop(), waiting.popleft()
                running[actor.analyze.remote(job)] = (actor, job)
            ready, _ = ray.wait(list(running), num_returns=1, timeout=1.0)
            tracker.report()
            for reference in ready:
                actor, job = running.pop(reference)
                try:
                    outcome = ray.get(reference)
                except (RayActorError, WorkerCrashedError) as error:
                    ray.kill(actor, no_restart=True)
                    actors.remove(actor)
                    actor = actor_class.remote(settings)  # a fresh worker, its model loaded anew
                    actors.append(actor)
                    if job.attempt < ATTEMPTS:
                        waiting.appendleft(job.again())
                        idle.append(actor)
                        continue
                    outcome = failed(f"the worker analysing it died {ATTEMPTS} times (last: {_first_line(error)})",
                                     WORKER, attempt=job.attempt)
                except RayTaskError as error:  # the analysis raised past its own handling (it should not)
                    outcome = failed(_first_line(error), ERROR, attempt=job.attempt)
                idle.append(actor)
                tracker.finish(job, outcome)
                save()
        memory = ray.get([actor.peak_rss_mb.remote() for actor in actors])
    finally:
        for actor in actors:
            ray.kill(actor, no_restart=True)
        if ours:
            ray.shutdown()
    return {"kind": "ray", "address": address, "workers": count, "cpus_per_worker": cpus_per_worker,
            "startup_s": round(startup, 3), "nodes": sorted({node["node"] for node in nodes}),
            "tensorflow_on_workers": any(node["tensorflow"] for node in nodes), "worker_peak_rss_mb": memory}


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0][:200] if text else type(error).__name__


def _last_line(error: BaseException) -> str:
    """The worker's own exception, which Ray's message ends with."""
    text = str(error).strip().splitlines()
    return text[-1][:300] if text else type(error).__name__
