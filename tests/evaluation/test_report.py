"""report.json's schema: the shipped report and an unversioned one load, a written report reads back the same, and a
report this code cannot read is refused with the reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.evaluation.report import REPORT_FILE, REPORT_VERSION, ReportError, TrainingReport, read_report
from core.labels import FER2013

SHIPPED_REPORT = Path(__file__).resolve().parents[2] / "models" / REPORT_FILE


def test_the_shipped_report_loads_and_one_without_a_version_loads_as_version_1(tmp_path):
    raw = json.loads(SHIPPED_REPORT.read_text())
    loaded = read_report(SHIPPED_REPORT).to_dict()
    assert {key: loaded[key] for key in raw} == raw
    assert loaded["emotions"] == list(FER2013.emotions)  # a report from before models named their emotions
    unversioned = {key: value for key, value in raw.items() if key != "version"}  # as written before the schema
    (tmp_path / REPORT_FILE).write_text(json.dumps(unversioned))

    report = read_report(tmp_path / REPORT_FILE)

    assert report.version == 1
    assert report.accuracy == raw["accuracy"] and report.per_class == raw["per_class"]
    assert report.metrics["confusion_matrix"] == raw["confusion_matrix"]
    assert {key: value for key, value in report.to_dict().items() if key in unversioned} == unversioned


def test_a_written_report_reads_back_the_same(tmp_path):
    report = TrainingReport.from_dict(json.loads(SHIPPED_REPORT.read_text()))
    report.write(tmp_path / REPORT_FILE)
    written = json.loads((tmp_path / REPORT_FILE).read_text())
    assert next(iter(written)) == "version" and written["version"] == REPORT_VERSION
    assert read_report(tmp_path / REPORT_FILE) == report


def test_a_minimal_report_fills_the_optional_fields():
    minimal = {"model_file": "m.keras", "parameters": 1, "evaluated_on": "PublicTest", "flip_tta": False,
               "accuracy": 0.5, "samples": 2, "per_class": {}, "confusion_matrix": []}
    report = TrainingReport.from_dict(minimal)
    assert report.best_epoch is None and report.history == {} and report.config == {}
    assert report.smoothing_widths == []


@pytest.mark.parametrize(
    ("config", "widths"),
    [
        ({"input_smoothing": {"sigma": 0.6}}, [0.6]),  # one network
        ({"ensemble": [{}, {}, {}], "input_smoothing": {"sigmas": [0.6, 0.6, 0.45]}}, [0.6, 0.6, 0.45]),
        ({"ensemble": [{}, {}], "input_smoothing": {"sigma": 0.6}}, [0.6, 0.6]),  # one width for all, as first made
        ({"input_smoothing": {"sigma": 0.0}}, []),  # fitted, and the network wanted none
    ],
)
def test_the_report_gives_each_networks_blur(config, widths):
    minimal = {"model_file": "m.keras", "parameters": 1, "evaluated_on": "PublicTest", "flip_tta": False,
               "accuracy": 0.5, "samples": 2, "per_class": {}, "confusion_matrix": [], "config": config}
    assert TrainingReport.from_dict(minimal).smoothing_widths == widths


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("{not json", "not readable JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"accuracy": 0.5}', "missing field(s) model_file"),
        (json.dumps({"version": REPORT_VERSION + 1}), f"report version {REPORT_VERSION + 1}"),
    ],
)
def test_an_unreadable_report_is_refused_with_the_reason(tmp_path, content, reason):
    path = tmp_path / REPORT_FILE
    path.write_text(content)
    with pytest.raises(ReportError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        read_report(path)


def test_a_missing_report_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_report(tmp_path / REPORT_FILE)
