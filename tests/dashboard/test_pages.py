"""Page logic through Streamlit's AppTest: what each page shows with and without data, and on bad input."""

from __future__ import annotations

import gzip
import io
import json
import re
import sys

import av
import cv2
import numpy as np
import pytest
from components.live_session import LiveSession, make_video_callback
from dash_support import PAGES, captions, check_bad_uploads, no_exception, paste_faces, png, texts

from core.analysis.live import LiveAnalyzer
from core.evaluation.metrics import classification_metrics
from core.evaluation.report import REPORT_FILE, read_report
from core.labels import FER2013
from core.model.calibration import display_label, ece_sampling_noise
from core.model.registry import SHIPPED_MODELS
from core.vision.detect import FaceDetector
from tests.clips import write_audio_only


def grid_captions(app) -> list[str]:
    """Captions of the explorer's grid ("#row Label"), not of the enlarged face ("#row: labelled ...")."""
    return [caption for caption in captions(app) if re.match(r"#\d+ ", caption)]


# ---------------------------------------------------------------- every page, with and without a model


@pytest.mark.parametrize("page", list(PAGES))
def test_every_page_renders_without_data(open_page, no_data, page):
    app = open_page(page)
    no_exception(app)
    assert PAGES[page][1] in app.title[0].value
    assert not app.error, texts(app.error)


@pytest.mark.parametrize("problem", ["missing", "broken"])
def test_every_page_explains_a_missing_or_broken_model(open_page, no_data, monkeypatch, tmp_path, problem):
    model = tmp_path / "emotion_cnn.keras"
    if problem == "broken":
        model.write_bytes(b"this is not a keras archive")
    monkeypatch.setenv("FER_MODEL_PATH", str(model))
    for page in PAGES:
        app = open_page(page)
        no_exception(app)
        assert PAGES[page][1] in app.title[0].value
        assert "could not be loaded" in texts(app.error), (page, texts(app.error))
        assert str(model) in texts(app.error)


# ---------------------------------------------------------------- Home


@pytest.mark.parametrize("name", list(SHIPPED_MODELS))
def test_home_shows_the_model_card_data_status_and_page_links(open_page, no_data, monkeypatch, name):
    monkeypatch.setenv("FER_MODEL_PATH", name)
    report = read_report(SHIPPED_MODELS[name].path.with_name(REPORT_FILE))
    app = open_page()
    metrics = {metric.label: metric.value for metric in app.metric}
    tta = "flip TTA" if report.flip_tta else "no TTA"
    first = report.evaluated_on if report.evaluated_on == "PublicTest" else "Selection"  # a votes model's is long
    assert metrics[f"{first} accuracy ({tta})"] == f"{report.accuracy:.1%}"
    assert metrics["Parameters"] == f"{report.parameters:,}"
    second = "Accuracy without TTA" if report.flip_tta else "Float32 model, no TTA"
    assert metrics[second] == f"{report.accuracy_without_tta:.1%}"
    assert "FER2013_PATH" in texts(app.info)
    assert {"Live webcam", "Photo", "Dataset explorer", "Evaluation"} <= {link.value for link in app.page_link}
    assert "Model loaded and ready" in texts(app.caption)
    made = "from networks trained on" if report.config.get("ensemble") else "Trained **"
    assert made in texts(app.markdown) and "unknown" not in texts(app.markdown)
    served = "with flip TTA" if report.serves_flip_tta else "without flip TTA"
    assert f"int8 weights, {served}" in texts(app.caption)
    assert f"{report.accuracy_lite:.2%} on {report.evaluated_on}" in texts(app.caption)
    correction = report.config.get("prior_correction")
    assert ("Rebalanced (`rebalance --strength" in texts(app.caption)) == bool(correction)
    if correction and correction.get("rare_below", 1) < 1:  # only the rare emotions were lifted, and it says which
        assert f"fewer than {correction['rare_below']:.0%} of Training's faces (" in texts(app.caption)
        for name, share in correction["prior"].items():
            assert (f"{name} {share:.1%}" in texts(app.caption)) == (share < correction["rare_below"])
    widths = [f"{sigma:g}" for sigma in report.smoothing_widths]
    if widths:  # both shipped models blur their input
        shown = widths[0] if len(set(widths)) == 1 else ", ".join(widths)
        assert f"(sigma {shown} px" in texts(app.caption)  # the shipped model's blur, each network's
        criterion = "cross-entropy to the votes" if report.config.get("labels") == "ferplus" else "log-loss"
        assert f"chosen on {report.config['input_smoothing']['fitted_on']} by {criterion}." in texts(app.caption)


def test_home_reports_a_data_set_found_through_the_environment(open_page, monkeypatch, tmp_path):
    data = tmp_path / "fer2013.csv"
    data.write_text("emotion,pixels,Usage\n")
    monkeypatch.setenv("FER2013_PATH", str(data))
    app = open_page()
    assert str(data) in texts(app.success)


# ---------------------------------------------------------------- Photo


def test_photo_boxes_and_labels_every_face(open_page, no_data, detectable_faces, classifier):
    image = paste_faces(detectable_faces[:2], size=192, shape=(480, 960))
    expected = len(FaceDetector().detect(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)))
    assert expected == 2
    app = open_page("pages/2_Photo.py")
    app.file_uploader(key="photo_upload").set_value(("two_faces.png", png(image), "image/png"))
    app.run()
    no_exception(app)
    assert "2 faces found" in texts(app.success)
    face_captions = [caption for caption in captions(app) if caption.startswith("Face ")]
    assert len(face_captions) == 2
    for caption in face_captions:
        # '?': below the uncertain threshold
        assert re.fullmatch(rf"Face \d: ({'|'.join(classifier.labels.emotions)})\?? \d+%", caption)


def test_photo_explains_a_non_image_and_a_picture_without_faces(open_page, no_data):
    app = open_page("pages/2_Photo.py")
    check_bad_uploads(app, "photo_upload", "No face found")


# ---------------------------------------------------------------- Video


def test_video_analyses_the_sample_clip_and_offers_the_downloads(open_page, no_data, classifier):
    app = open_page("pages/6_Video.py")
    source = app.radio(key="video_source")
    source.set_value(source.options[1]).run()
    no_exception(app)
    assert "2 people found" in texts(app.success)
    shares = app.dataframe[0].value
    emotions = list(classifier.labels.emotions)
    assert list(shares.person) == ["#1", "#2"] and shares[emotions].sum(axis=1).round(3).eq(1).all()
    assert len(app.get("download_button")) == 3 and len(app.get("plotly_chart")) == 2
    result = app.session_state["video_result"][1]
    assert result.annotated_mp4[4:8] == b"ftyp" and result.frames_csv.startswith(b"frame,time_s,person")


@pytest.mark.parametrize("name, content, message", [
    ("notes.mp4", b"definitely not a video", "is not a video FFmpeg can read"),
    ("half.mp4", "truncated", "breaks off before its first frame"),
    ("sound.mp4", "audio", "has no video stream"),
])
def test_video_explains_a_file_it_cannot_analyse(open_page, no_data, tmp_path, name, content, message):
    from components.video_sample import sample_clip

    if content == "truncated":
        content = sample_clip(tmp_path)[:3000]  # the header and not one whole frame
    elif content == "audio":
        content = write_audio_only(tmp_path / "sound.wav").read_bytes()
    app = open_page("pages/6_Video.py")
    app.file_uploader(key="video_upload").set_value((name, content, "video/mp4"))
    app.run()
    no_exception(app)
    assert "This file cannot be analysed" in texts(app.error) and message in texts(app.error)
    assert "video_result" not in app.session_state


def test_video_analyses_several_files_into_one_table(open_page, no_data, tmp_path):
    from components.video_sample import sample_clip

    clip = sample_clip(tmp_path)
    app = open_page("pages/6_Video.py")
    app.file_uploader(key="video_upload").set_value(
        [("talk.mp4", clip, "video/mp4"), ("talk.mp4", clip, "video/mp4"), ("notes.mp4", b"no video", "video/mp4")])
    app.run()
    no_exception(app)
    assert "2 of 3 videos analysed; 1 could not be." in texts(app.success)
    statuses = app.dataframe[0].value
    assert list(statuses.status) == ["done", "done", "failed"] and statuses.video.is_unique
    assert "not a video" in statuses.reason.iloc[2]
    assert len(app.dataframe) == 3 and len(app.get("download_button")) == 1  # each file's people, one download
    assert "video_result" not in app.session_state  # one analysis per session: the batch replaced it
    from components.video_batch import combined_csv

    files = app.session_state["video_batch_result"][1]
    rows = combined_csv(files).decode().splitlines()
    assert rows[0].startswith("video,frame,time_s,person")
    assert len(rows) - 1 == sum(file.frames_csv.count(b"\n") - 1 for file in files if file.frames_csv)


# ---------------------------------------------------------------- Dataset explorer


def test_explorer_browses_filters_and_enlarges(open_page, monkeypatch, small_csv, public_rows, classifier):
    monkeypatch.setenv("FER2013_PATH", str(small_csv))
    app = open_page("pages/3_Dataset_explorer.py")
    no_exception(app)
    assert "200 faces" in texts(app.success)
    assert {m.label: m.value for m in app.metric}["Faces"] == "200"

    app.selectbox(key="explorer_class").set_value("Happy").run()
    happy = int((public_rows.head(200).emotion == FER2013.index("Happy")).sum())  # the data set's labels
    grid = grid_captions(app)
    assert len(grid) == min(happy, 32)
    assert all(caption.endswith("Happy") for caption in grid)

    app.toggle(key="explorer_predictions").set_value(True).run()
    grid = grid_captions(app)
    assert grid and all("→" in caption for caption in grid)

    chosen = app.selectbox(key="explorer_enlarge").value
    face = np.array(public_rows.pixels[chosen].split(), dtype=np.uint8).reshape(48, 48)
    probabilities = classifier.predict_faces(face)[0]
    prediction = classifier.labels.emotions[int(np.argmax(probabilities))]
    assert f"Model's prediction: **{prediction}** {probabilities.max():.0%}" in texts(app.markdown)

    means = [caption for caption in captions(app) if "(n=" in caption]
    assert f"Happy (n={happy})" in means


def test_explorer_pages_through_the_grid(open_page, monkeypatch, small_csv):
    monkeypatch.setenv("FER2013_PATH", str(small_csv))
    app = open_page("pages/3_Dataset_explorer.py")
    first = grid_captions(app)
    app.number_input(key="explorer_page").set_value(7).run()  # 200 faces, 32 a page: the last page holds 8
    last = grid_captions(app)
    assert len(first) == 32 and len(last) == 8
    assert first[0].startswith("#0 ") and last[0].startswith("#192 ")


@pytest.mark.parametrize(("name", "content", "message"), [
    ("notes.csv", b"name,age\nada,36\n", "missing column 'pixels'"),
    ("fer2013.csv.gz", b"\x1f\x8b\x08\x00garbage", "corrupt or truncated gzip"),
    ("empty.csv", b"", "empty"),
    ("bad.csv", b"emotion,pixels,Usage\n9,1 2 3,Training\n", "bad.csv row 2"),
])
def test_explorer_shows_the_data_format_error_of_a_bad_upload(open_page, no_data, name, content, message):
    app = open_page("pages/3_Dataset_explorer.py")
    app.sidebar.radio(key="explorer_source").set_value("Upload").run()
    app.file_uploader(key="explorer_upload").set_value((name, content, "application/octet-stream"))
    app.run()
    no_exception(app)
    assert "Could not read the data set" in texts(app.error)
    assert message in texts(app.error)
    assert "/tmp" not in texts(app.error)  # the message names the upload, not the temporary copy


def test_explorer_reads_a_gzipped_upload(open_page, no_data, public_rows):
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb") as out:
        out.write(public_rows.head(50).to_csv(index=False).encode())
    app = open_page("pages/3_Dataset_explorer.py")
    app.sidebar.radio(key="explorer_source").set_value("Upload").run()
    app.file_uploader(key="explorer_upload").set_value(("fer_part.csv.gz", buffer.getvalue(), "application/gzip"))
    app.run()
    no_exception(app)
    assert "50 faces" in texts(app.success)
    assert len(grid_captions(app)) == 32


# ---------------------------------------------------------------- Evaluation


def test_evaluation_shows_the_shipped_report(open_page, no_data, report):
    app = open_page("pages/4_Evaluation.py")
    no_exception(app)
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Accuracy"] == f"{report.accuracy:.1%}"
    second = "Accuracy without TTA" if report.flip_tta else "Float32 model, no TTA"
    assert metrics[second] == f"{report.accuracy_without_tta:.1%}"  # names what it measures for this model
    assert "Shipped training report" in texts(app.info)
    app.selectbox(key="evaluation_true").set_value("Sad").run()
    app.selectbox(key="evaluation_predicted").set_value("Happy").run()
    count = report.confusion_matrix[4][3]
    total = sum(report.confusion_matrix[4])
    assert f"{count:,} of {total:,} **Sad** faces predicted **Happy**" in texts(app.markdown)
    table = next(frame.value for frame in app.dataframe if "f1" in frame.value.columns)  # the per-class table
    assert list(table.index[:-1]) == list(report.emotions)  # then the macro average
    assert table.loc["Happy", "f1"] == pytest.approx(report.per_class["Happy"]["f1"])
    assert len(app.get("plotly_chart")) >= 3  # the confusion matrix, the reliability diagram, the learning curves
    assert "The report has no training history." not in texts(app.caption)  # its own, or each member's
    held_out = report.calibration["cross_fit"]
    assert f"{held_out['ece_held_out']:.2%} held out" in texts(app.caption)  # not only the flattering in-sample ECE


def test_an_ensembles_pages_show_each_members_own_training(open_page, no_data, monkeypatch, tmp_path, report):
    """An ensemble was never trained as one: its learning curves are its members', from their training records."""
    history = {"epoch": [0, 1, 2], "loss": [1.8, 1.4, 1.2], "accuracy": [0.3, 0.5, 0.6],
               "val_loss": [1.7, 1.5, 1.4], "val_accuracy": [0.35, 0.45, 0.5]}
    ensemble = [{"file": "runs/members/first.keras", "accuracy_lite": 0.6,
                 "training": {"history": history, "epochs_run": 3, "best_epoch": 3, "exported_epoch": 3}},
                {"file": "runs/members/second.keras", "accuracy_lite": 0.6},  # no training report at hand
                {"file": "runs/members/third.keras", "accuracy_lite": 0.6,
                 "training": {"history": history, "best_epoch": 3, "exported_epoch": 2}},
                {"file": "runs/sw41/third.keras", "accuracy_lite": 0.6,  # the same name from another folder
                 "training": {"history": history, "best_epoch": 3, "exported_epoch": 3}}]
    written = {**report.to_dict(), "history": {}, "config": {"ensemble": ensemble}}
    (tmp_path / "report.json").write_text(json.dumps(written))
    monkeypatch.setenv("FER_MODEL_PATH", str(tmp_path / "emotion_cnn.keras"))

    app = open_page("pages/4_Evaluation.py")

    no_exception(app)
    assert [tab.label for tab in app.tabs] == ["1. first", "2. third", "3. third"]
    assert "The report has no training history." not in texts(app.caption)
    assert "epoch 2's weights (`--export last`)" in texts(app.caption)  # the third member's, not the first's
    curves = [chart for chart in app.get("plotly_chart") if "evaluation_curves_" in chart.proto.id]
    assert len(curves) == 3
    card = texts(open_page().caption)  # the model card says how long each member trained, where it knows
    assert "`first.keras` 60.00% after 3 epochs; `second.keras` 60.00%;" in card


def test_evaluation_recomputes_on_a_chosen_file_and_shows_cell_faces(open_page, monkeypatch, small_csv, public_rows,
                                                                    classifier):
    monkeypatch.setenv("FER2013_PATH", str(small_csv))
    app = open_page("pages/4_Evaluation.py")
    assert app.sidebar.selectbox(key="evaluation_split").value == "PublicTest"
    app.sidebar.button(key="evaluation_run").click().run()
    no_exception(app)
    assert "Recomputed on **PublicTest**" in texts(app.success)

    faces = np.stack([np.array(p.split(), dtype=np.uint8).reshape(48, 48) for p in public_rows.pixels[:200]])
    labels = public_rows.emotion[:200].to_numpy()
    probabilities = classifier.predict_faces(faces)
    expected = classification_metrics(labels, probabilities.argmax(axis=1), classifier.labels.emotions)
    assert {m.label: m.value for m in app.metric}["Accuracy"] == f"{expected['accuracy']:.1%}"
    noise = ece_sampling_noise(probabilities)  # on 200 faces the noise is large, and the page says so
    assert f"a perfectly calibrated model would measure {noise['mean']:.2%} on as many faces" in texts(app.caption)

    matrix = np.array(expected["confusion_matrix"])
    true, predicted = np.unravel_index(np.argmax(matrix), matrix.shape)  # the fullest cell
    app.selectbox(key="evaluation_true").set_value(classifier.labels.emotions[true]).run()
    app.selectbox(key="evaluation_predicted").set_value(classifier.labels.emotions[predicted]).run()
    cell = expected["confusion_matrix"][true][predicted]
    shown = [caption for caption in captions(app) if caption.endswith("%")]
    assert len(shown) == min(cell, 48) > 0

    app.sidebar.button(key="evaluation_reset").click().run()
    assert "Shipped training report" in texts(app.info)


# ---------------------------------------------------------------- Live webcam (component mocked)


def test_live_page_renders_controls_and_snapshots_the_current_face(open_page, no_data, classifier, detectable_faces):
    if "pylibsrtp" not in sys.modules:
        pytest.fail("TensorFlow was imported before aiortc's pylibsrtp, which then cannot load: "
                    "import pylibsrtp at the top of tests/conftest.py")
    app = open_page("pages/1_Live_webcam.py")
    no_exception(app)
    assert app.slider(key="live_smoothing").value == 0.3
    assert app.radio(key="live_detector").value == "blazeface"
    assert "Waiting for video" in texts(app.caption)

    app.button(key="live_snapshot").click().run()
    assert "No face to snapshot yet" in texts(app.warning)
    assert "snapshot_face" not in app.session_state

    # Feed one frame through the same callback the video thread uses, then snapshot from the page.
    session: LiveSession = app.session_state["live_session"]
    frame = av.VideoFrame.from_ndarray(paste_faces([detectable_faces[0]]), format="bgr24")
    make_video_callback(LiveAnalyzer(classifier), session)(frame)
    app.slider(key="live_smoothing").set_value(1.0).run()
    assert session.smoothing == 1.0
    assert app.selectbox(key="live_person").options == ["the largest face", "person #1"]
    current = session.snapshot()
    shown = display_label(current.label, current.confidence, classifier.uncertain_below)  # as the video and CLI
    assert f"Current face: **{shown}** (person #1)" in texts(app.markdown)

    app.button(key="live_snapshot").click().run()
    no_exception(app)
    face = app.session_state["snapshot_face"]
    assert face.shape == (48, 48) and face.dtype == np.uint8
    assert np.array_equal(face, current.face)
    assert any(caption.startswith(current.label) for caption in captions(app))
    assert "1 rows so far" in texts(app.caption)
