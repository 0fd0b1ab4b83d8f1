"""The Adversarial page: its logic through AppTest, and the budget slider in a real browser (Chromium).

The docs screenshot attacks a drawn face (no FER-2013 image may land in the repository); the data-set face is
screenshotted to test-artifacts/ only.
"""

from __future__ import annotations

import json
import re

import cv2
import numpy as np
import pandas as pd
import pytest
from dash_support import captions, check_bad_uploads, no_exception, paste_faces, png, screenshot, texts, wait_until_idle

from core.data import file_sha256
from core.labels import FER2013
from core.model.classifier import default_model_path

PAGE = "pages/5_Adversarial.py"
SUMMARY = re.compile(r"Budget \**(\d+)\** grey levels .*L-inf \**(\d+)\** grey levels")


def drawn_face() -> np.ndarray:
    """A 48x48 grey cartoon face (not from FER-2013), for pictures that end up in the repository."""
    big = np.full((192, 192), 70, np.uint8)
    cv2.ellipse(big, (96, 100), (62, 80), 0, 0, 360, 185, -1)
    for x in (70, 122):
        cv2.ellipse(big, (x, 82), (13, 8), 0, 0, 360, 40, -1)
        cv2.line(big, (x - 16, 62), (x + 16, 60), 60, 5)
    cv2.line(big, (96, 90), (92, 120), 140, 4)
    cv2.ellipse(big, (96, 134), (28, 14), 0, 10, 170, 50, 5)
    return cv2.resize(cv2.GaussianBlur(big, (9, 9), 0), (48, 48), interpolation=cv2.INTER_AREA)


def summary(app) -> tuple[int, int]:
    """(budget, L-inf) in grey levels, from the page's summary line."""
    found = [SUMMARY.search(text) for text in texts(app.markdown).splitlines()]
    found = [match for match in found if match]
    assert len(found) == 1, texts(app.markdown)
    return int(found[0][1]), int(found[0][2])


def metrics(app) -> dict[str, str]:
    return {metric.label: metric.value for metric in app.metric}


# ---------------------------------------------------------------- AppTest


def test_renders_without_a_data_set(open_page, no_data):
    app = open_page(PAGE)
    no_exception(app)
    assert "Adversarial" in app.title[0].value
    assert not app.error, texts(app.error)
    assert app.radio(key="adversarial_source").value == "Upload a photo"
    assert "FER2013_PATH" in texts(app.caption)
    from core.model.classifier import default_model_path

    if (default_model_path().parent / "robustness" / "robustness.csv").is_file():  # the shipped curve
        assert "robustness.csv" in texts(app.caption)
    else:
        assert "train_cli.py robustness" in texts(app.info)

    app.radio(key="adversarial_source").set_value("Data set").run()
    no_exception(app)
    assert "No data set loaded" in texts(app.info) and "FER2013_PATH" in texts(app.info)


@pytest.mark.parametrize("problem", ["missing", "broken"])
def test_explains_a_missing_or_broken_model(open_page, no_data, monkeypatch, tmp_path, problem):
    model = tmp_path / "emotion_cnn.keras"
    if problem == "broken":
        model.write_bytes(b"this is not a keras archive")
    monkeypatch.setenv("FER_MODEL_PATH", str(model))
    app = open_page(PAGE)
    no_exception(app)
    assert "could not be loaded" in texts(app.error)
    assert str(model) in texts(app.error)
    assert not app.metric  # no attack without a model


def test_attack_on_a_data_set_face_follows_the_slider(open_page, monkeypatch, small_csv, public_rows):
    monkeypatch.setenv("FER2013_PATH", str(small_csv))
    app = open_page(PAGE)
    no_exception(app)
    assert app.radio(key="adversarial_source").value == "Data set"
    app.selectbox(key="adversarial_class").set_value("Happy").run()
    app.number_input(key="adversarial_index").set_value(1).run()
    happy_rows = np.flatnonzero(public_rows.head(200).emotion == FER2013.index("Happy"))
    assert f"PublicTest row {happy_rows[1]}, labelled Happy" in texts(app.caption)

    shown = []
    for grey in (0, 2, 6, 2):
        app.slider(key="adversarial_grey").set_value(grey).run()
        no_exception(app)
        budget, linf = summary(app)
        assert budget == grey and linf <= grey
        values = metrics(app)
        assert values["Budget ε"] == f"{grey}/255"
        assert values["L-inf change (grey levels)"] == str(linf)
        shown.append((texts(app.markdown), values))
    assert shown[0][1]["L-inf change (grey levels)"] == "0"
    assert shown[0][1]["L2 change (grey levels)"] == "0.0"
    assert shown[1] != shown[2]  # the text follows the slider
    assert shown[3] == shown[1]  # back to 2: the cached attack, the same numbers
    assert any(c.startswith("Adversarial (PGD, ε 2/255)") for c in captions(app))

    app.radio(key="adversarial_method").set_value("FGSM").run()
    app.selectbox(key="adversarial_target").set_value("Sad").run()
    no_exception(app)
    budget, linf = summary(app)
    assert budget == 2 and linf <= 2
    assert any(c.startswith("Adversarial (FGSM, ε 2/255)") for c in captions(app))
    assert app.get("download_button")


def test_upload_snapshot_and_their_problems(open_page, no_data, detectable_faces):
    app = open_page(PAGE)
    check_bad_uploads(app, "adversarial_upload", "No face found in wall.png")

    app.file_uploader(key="adversarial_upload").set_value(("face.png", png(paste_faces([detectable_faces[0]])),
                                                           "image/png"))
    app.run()
    no_exception(app)
    assert "face.png, face 1 of 1" in texts(app.caption)
    budget, linf = summary(app)
    assert linf <= budget == 4

    app.file_uploader(key="adversarial_upload").set_value(("small.png", png(drawn_face()), "image/png"))
    app.run()
    no_exception(app)
    assert "small.png (48x48, used as it is)" in texts(app.caption)

    app.session_state["snapshot_face"] = detectable_faces[1]  # as the Live page leaves it
    app.run()
    assert "Live snapshot" in app.radio(key="adversarial_source").options
    app.switch_page("Home.py").run()  # coming back from another page, the snapshot is the default
    app.switch_page(PAGE).run()
    no_exception(app)
    assert app.radio(key="adversarial_source").value == "Live snapshot"
    assert "the Live webcam snapshot" in texts(app.caption)
    app.slider(key="adversarial_grey").set_value(1).run()
    budget, linf = summary(app)
    assert linf <= budget == 1


@pytest.fixture
def model_folder(tmp_path, monkeypatch):
    """The model in use linked into a folder with robustness/ and hardened/ results beside it."""
    model = default_model_path()
    if not model.is_file():
        pytest.skip(f"no model at {model}")
    (tmp_path / "emotion_cnn.keras").symlink_to(model.resolve())
    monkeypatch.setenv("FER_MODEL_PATH", str(tmp_path / "emotion_cnn.keras"))
    return tmp_path


def test_robustness_files_and_the_hardened_model(open_page, no_data, model_folder):
    (model_folder / "robustness").mkdir()
    rows = [{"split": "PublicTest", "method": method, "steps": steps, "grey_levels": grey, "epsilon": grey / 255,
             "accuracy": 0.7 * decay**grey, "faces": 500}
            for method, steps, decay in (("fgsm", 1, 0.8), ("pgd", 10, 0.6)) for grey in range(17)]
    pd.DataFrame(rows).to_csv(model_folder / "robustness" / "robustness.csv", index=False)
    (model_folder / "hardened").mkdir()
    (model_folder / "hardened" / "emotion_cnn_hardened.keras").symlink_to(default_model_path().resolve())
    report = {
        "eval_faces": 300, "evaluated_on": "PublicTest", "evaluation": "flip TTA; untargeted PGD-10",
        "standard": {"clean_accuracy": 0.70, "robust_accuracy": {"pgd_2": 0.20, "pgd_4": 0.05}},
        "hardened": {"clean_accuracy": 0.66, "robust_accuracy": {"pgd_2": 0.45, "pgd_4": 0.30}},
        "training": {"faces": 1000, "epochs": 2, "method": "pgd", "max_grey": 4},
    }
    (model_folder / "hardened" / "harden_report.json").write_text(json.dumps(report))

    app = open_page(PAGE)
    no_exception(app)
    assert "robustness/robustness.csv" in texts(app.caption) and "500 PublicTest faces" in texts(app.caption)
    values = metrics(app)
    assert values["Clean"] == "66.0%" and values["PGD 2/255"] == "45.0%" and values["PGD 4/255"] == "30.0%"
    assert {metric.label: metric.delta for metric in app.metric}["PGD 2/255"] == "+25.0 pts"
    assert "No robustness curve" not in texts(app.info) and "No hardened model" not in texts(app.info)
    assert "does not name the model it hardened" in texts(app.caption)

    # The report names the model it hardened: the one loaded now, or another.
    model_file = model_folder / "emotion_cnn.keras"
    for sha256, said in ((file_sha256(model_file), "Hardened from the model loaded now"), ("0" * 64, None)):
        report["source_model"] = {"file": "emotion_cnn.keras", "sha256": sha256}
        (model_folder / "hardened" / "harden_report.json").write_text(json.dumps(report))
        app.run()
        no_exception(app)
        if said:
            assert said in texts(app.caption) and "another model" not in texts(app.warning)
        else:
            assert "Hardened from another model than the one loaded" in texts(app.warning)

    app.file_uploader(key="adversarial_upload").set_value(("drawn.png", png(drawn_face()), "image/png"))
    app.run()
    assert "against the standard model" in texts(app.caption)
    app.radio(key="adversarial_model").set_value("Hardened").run()
    no_exception(app)
    assert "against the hardened model" in texts(app.caption)
    budget, linf = summary(app)
    assert linf <= budget

    (model_folder / "hardened" / "harden_report.json").write_text("{not json")
    app.run()
    no_exception(app)
    assert "is not readable JSON" in texts(app.warning)


def test_computes_a_small_curve_when_none_is_shipped(open_page, monkeypatch, model_folder, small_csv):
    monkeypatch.setenv("FER2013_PATH", str(small_csv))
    app = open_page(PAGE)
    assert "No robustness curve" in texts(app.info)
    app.number_input(key="adversarial_curve_faces").set_value(20).run()
    app.number_input(key="adversarial_curve_grey").set_value(2).run()
    app.button(key="adversarial_curve_run").click().run()
    no_exception(app)
    assert "Computed here: 20 PublicTest faces" in texts(app.caption)
    curve = app.session_state["adversarial_curve"]["curve"]
    assert sorted(curve.method.unique()) == ["fgsm", "pgd"] and curve.grey_levels.max() == 2
    for _, part in curve.groupby("method"):
        assert np.all(np.diff(part.accuracy.to_numpy()) <= 0)  # accuracy cannot rise with the budget


# ---------------------------------------------------------------- browser


@pytest.mark.browser
def test_adversarial_page_in_browser(page, server, tmp_path):
    page.goto(f"{server}/Adversarial")
    wait_until_idle(page, "Adversarial")
    assert page.locator('[data-testid="stException"]').count() == 0
    screenshot(page, "adversarial_dataset", docs=False)  # may show a FER-2013 face: test-artifacts/ only

    # A drawn face for the documentation's screenshot.
    page.locator('[data-testid="stRadio"]').filter(has_text="Face from").get_by_text("Upload a photo").click()
    wait_until_idle(page, "Adversarial")
    picture = tmp_path / "drawn_face.png"
    cv2.imwrite(str(picture), drawn_face())
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(picture))
    page.get_by_text("drawn_face.png (48x48, used as it is)").wait_for(timeout=120_000)
    wait_until_idle(page, "Adversarial")

    line = page.locator(".st-key-adversarial_summary")
    before = line.inner_text()
    budget, linf = map(int, SUMMARY.search(before).groups())
    assert budget == 4 and linf <= 4
    thumb = page.locator('[data-testid="stSlider"]').filter(has_text="Budget ε").get_by_role("slider")
    thumb.focus()
    for _ in range(3):
        thumb.press("ArrowRight")
    line.filter(has_text=re.compile(r"Budget 7 grey levels")).wait_for(timeout=60_000)
    wait_until_idle(page, "Adversarial")
    after = line.inner_text()
    assert after != before
    budget, linf = map(int, SUMMARY.search(after).groups())
    assert budget == 7 and linf <= 7
    assert page.locator('[data-testid="stException"]').count() == 0
    saliency = page.locator(".st-key-adversarial_saliency [data-testid='stImage'] img")
    assert saliency.count() == 2  # before and after the attack, side by side
    assert all(saliency.nth(i).evaluate("img => img.naturalWidth") > 0 for i in range(2))
    screenshot(page, "adversarial")
