"""analyze over many files: per-video folders, frames.parquet, batch.json; resume, failures, Ray and a dying worker."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import sys
from pathlib import Path

import cv2
import numpy as np
import pyarrow.parquet as pq
import pytest

import train_cli
from core.analysis.batch import run_batch
from core.analysis.batch_inputs import collect_inputs, unique_names
from core.analysis.batch_worker import BatchSettings, VideoAnalyst
from core.analysis.video_file import completed_output
from core.model.classifier import ModelLoadError
from tests.clips import CLIP_FRAMES, cut_in_half, write_audio_only

GOOD, BAD = {"a_same", "b_same"}, {"cut", "notes", "sound", "still"}


@pytest.fixture(scope="module")
def videos(face_clip, plain_clip, tmp_path_factory) -> Path:
    """Two good clips of the same file name in two folders, a cut-off one, a text file, a sound file, a photo and
    a hidden file."""
    folder = tmp_path_factory.mktemp("videos")
    for sub, clip in (("a", face_clip), ("b", plain_clip)):
        (folder / sub).mkdir()
        shutil.copy(clip, folder / sub / "same.mp4")
    cut_in_half(face_clip, folder / "cut.mp4")
    (folder / "notes.txt").write_text("not a video")
    write_audio_only(folder / "sound.wav")
    cv2.imwrite(str(folder / "still.png"), np.full((48, 48, 3), 128, np.uint8))
    shutil.copy(plain_clip, folder / ".hidden.mp4")
    return folder


@pytest.fixture(scope="module")
def batch_out(videos, tmp_path_factory) -> Path:
    """The folder analysed in this process through the command line (exit 1: some files failed)."""
    out = tmp_path_factory.mktemp("batch") / "out"
    assert train_cli.main(["analyze", str(videos), "--out", str(out)]) == 1
    return out


@pytest.fixture(scope="session")
def ray_session():
    """One local Ray for the whole test session (starting one costs seconds)."""
    ray = pytest.importorskip("ray")
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    if started:
        ray.shutdown()


def record(out: Path) -> dict:
    return json.loads((out / "batch.json").read_text())


def by_name(out: Path) -> dict[str, dict]:
    return {entry["name"]: entry for entry in record(out)["inputs"]}


def csv_rows(out: Path, name: str) -> int:
    return len((out / name / "frames.csv").read_text().splitlines()) - 1


def snapshot(out: Path) -> dict[str, tuple[int, bytes]]:
    """Every file but batch.json (which lists this run's statuses): modification time and content."""
    return {str(path.relative_to(out)): (path.stat().st_mtime_ns, path.read_bytes())
            for path in sorted(out.rglob("*")) if path.is_file() and path.name != "batch.json"}


def test_every_input_gets_a_status_and_the_table_holds_every_good_video(batch_out, capsys):
    entries = by_name(batch_out)
    assert set(entries) == GOOD | BAD  # the hidden file is left out, the two same.mp4 are told apart
    assert {name: entries[name]["status"] for name in entries} == {
        **dict.fromkeys(GOOD, "done"), **dict.fromkeys(BAD, "failed")}
    assert "breaks off" in entries["cut"]["reason"] and "not a video" in entries["notes"]["reason"]
    assert "no video stream" in entries["sound"]["reason"] and "still image" in entries["still"]["reason"]
    done = entries["a_same"]
    assert done["frames"] == CLIP_FRAMES and done["duration_s"] == pytest.approx(CLIP_FRAMES / 30, abs=0.01)
    assert done["seconds"] > 0 and done["model"] == "emotion_cnn.keras"
    assert {path.name for path in batch_out.iterdir()} == {"frames.parquet", "batch.json", *GOOD}
    for name in GOOD:
        assert {path.name for path in (batch_out / name).iterdir()} == {
            "frames.csv", "summary.json", "annotated.mp4", "timeline.png"}

    table = pq.read_table(batch_out / "frames.parquet")
    header = (batch_out / "a_same" / "frames.csv").read_text().splitlines()[0].split(",")
    assert table.column_names == ["video", *header]
    assert table.num_rows == sum(csv_rows(batch_out, name) for name in GOOD) == csv_rows(batch_out, "a_same") > 0
    assert set(table.column("video").to_pylist()) == {"a_same"}  # the plain clip has no face
    assert record(batch_out)["table"]["rows"] == table.num_rows


def test_a_rerun_skips_everything_and_changes_nothing(videos, batch_out, tmp_path, capsys):
    out = tmp_path / "out"
    shutil.copytree(batch_out, out)
    before = snapshot(out)
    assert train_cli.main(["analyze", str(videos), "--out", str(out)]) == 1  # the bad files still count as failed
    assert snapshot(out) == before
    entries = by_name(out)
    assert {entry["status"] for entry in entries.values()} == {"skipped"}
    assert {name for name, entry in entries.items() if entry["result"] == "failed"} == BAD
    assert "failed before" in capsys.readouterr().err


def test_changed_content_or_settings_are_not_trusted(videos, batch_out, tmp_path):
    settings = BatchSettings.make().fingerprint()
    source = tmp_path / "same.mp4"
    shutil.copy(videos / "a" / "same.mp4", source)
    folder = batch_out / "a_same"
    assert completed_output(folder, source, settings) is not None  # same bytes, another file time: hashed, trusted
    assert completed_output(folder, source, {**settings, "every": 2}) is None
    with open(source, "r+b") as handle:  # same size, other content
        handle.seek(-1, os.SEEK_END)
        last = handle.read(1)
        handle.seek(-1, os.SEEK_END)
        handle.write(bytes([last[0] ^ 0xFF]))
    assert completed_output(folder, source, settings) is None


class StopsMidway(VideoAnalyst):
    """Ctrl-C in the middle of the second file."""

    calls = 0

    def analyze(self, job, progress=None):
        StopsMidway.calls += 1
        if StopsMidway.calls == 2:
            def interrupt(update):
                if update.frames_decoded == 10:
                    raise KeyboardInterrupt
            return super().analyze(job, interrupt)
        return super().analyze(job, progress)


def test_an_interrupted_batch_resumes_to_the_same_table(videos, batch_out, tmp_path):
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        run_batch([str(videos)], out, BatchSettings.make(), analyst=StopsMidway)
    statuses = {entry["name"]: entry["status"] for entry in record(out)["inputs"]}
    assert statuses == {"a_same": "done", **dict.fromkeys({"b_same", *BAD}, "pending")}
    assert {path.name for path in out.iterdir()} == {"a_same", "batch.json", "frames.parquet"}
    (out / ".b_same.partial-killed").mkdir()  # as a run killed outright would leave it, with a whole-looking output
    shutil.copytree(out / "a_same", out / ".b_same.partial-killed", dirs_exist_ok=True)

    result = run_batch([str(videos)], out, BatchSettings.make())
    assert result.count("skipped") == 1 and result.count("done") == 1 and result.count("failed") == len(BAD)
    assert not list(out.glob(".*"))
    assert pq.read_table(out / "frames.parquet").equals(pq.read_table(batch_out / "frames.parquet"))


def test_ray_gives_the_same_rows_as_this_process(ray_session, videos, batch_out, tmp_path, capsys):
    out = tmp_path / "out"
    assert train_cli.main(["analyze", str(videos), "--out", str(out), "--ray"]) == 1
    assert {name: entry["status"] for name, entry in by_name(out).items()} == {
        name: entry["status"] for name, entry in by_name(batch_out).items()}
    assert pq.read_table(out / "frames.parquet").equals(pq.read_table(batch_out / "frames.parquet"))
    engine = record(out)["engine"]
    assert engine["kind"] == "ray" and engine["workers"] >= 1 and engine["tensorflow_on_workers"] is False
    assert "on Ray" in capsys.readouterr().out


class DiesOnFirstTry(VideoAnalyst):
    """A worker process that dies outright: on the first try of 'once', on every try of 'always'."""

    def analyze(self, job, progress=None):
        if job.name == "always" or (job.name == "once" and job.attempt == 1):
            os._exit(1)
        return super().analyze(job, progress)


def test_a_dead_worker_is_replaced_and_its_file_tried_once_more(ray_session, face_clip, plain_clip, tmp_path):
    ray_session.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the workers cannot import tests
    folder = tmp_path / "in"
    folder.mkdir()
    for name, clip in (("once", face_clip), ("always", plain_clip), ("fine", plain_clip)):
        shutil.copy(clip, folder / f"{name}.mp4")
    result = run_batch([str(folder)], tmp_path / "out", BatchSettings.make(), "local", analyst=DiesOnFirstTry)
    entries = {entry["name"]: entry for entry in result.entries}
    assert entries["once"]["status"] == "done" and entries["once"]["attempts"] == 2
    assert entries["fine"]["status"] == "done" and entries["fine"]["attempts"] == 1
    assert entries["always"]["status"] == "failed" and entries["always"]["kind"] == "worker"
    assert "died 2 times" in entries["always"]["reason"]
    assert {path.name for path in (tmp_path / "out").iterdir()} == {"once", "fine", "batch.json", "frames.parquet"}


def test_workers_refuse_a_model_other_than_the_drivers(ray_session, plain_clip, tmp_path):
    other = dataclasses.replace(BatchSettings.make(), model_sha256="0" * 64)  # as a stale copy on a worker would be
    with pytest.raises(ModelLoadError, match="is not the model the batch was started with"):
        run_batch([str(plain_clip)], tmp_path / "out", other, "local")
    assert [entry["status"] for entry in record(tmp_path / "out")["inputs"]] == ["pending"]


def test_inputs_folders_patterns_and_unique_names(tmp_path):
    for relative in ("x/day1/talk.mp4", "x/day2/talk.mp4", "x/talk.mov", "x/.cache/skip.mp4", "x/out/old.mp4",
                     "y/batch.json.mp4"):
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_bytes(b"")
    x = tmp_path / "x"
    inputs, missing = collect_inputs([str(x), str(tmp_path / "y" / "*.mp4"), str(x / "talk.mov"), "nowhere.mp4"],
                                     x / "out")
    assert missing == ["nowhere.mp4"]
    assert [(item.path.relative_to(tmp_path).as_posix(), item.name) for item in inputs] == [
        ("x/day1/talk.mp4", "day1_talk"), ("x/day2/talk.mp4", "day2_talk"), ("x/talk.mov", "x_talk"),
        ("y/batch.json.mp4", "batch.json_video")]
    kept = unique_names([x / "day1" / "talk.mp4", x / "talk.mov"], {str(x / "talk.mov"): "talk"})
    assert kept == {x / "day1" / "talk.mp4": "day1_talk", x / "talk.mov": "talk"}
