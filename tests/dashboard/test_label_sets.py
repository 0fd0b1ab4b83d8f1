"""The label set belongs to the model: the sidebar's model picker on every page, a FER+ model's eight emotions on
every page, and the FER+ votes views (Dataset explorer, Evaluation), through Streamlit's AppTest."""

from __future__ import annotations

import base64
import json
import re

import numpy as np
import pytest
from components.model import PICKER_KEY, default_model_choice, model_choices
from components.votes import DISAGREE, VOTE_NAMES
from dash_support import PAGES, captions, no_exception, paste_faces, png, texts

from core.evaluation.agreement import ferplus_metrics, in_ferplus_order
from core.evaluation.report import REPORT_FILE, read_report
from core.ferplus import load_votes, majority_labels, vote_distribution
from core.labels import FER2013, FERPLUS
from core.model.classifier import DEFAULT_MODEL_PATH
from core.model.registry import SHIPPED_MODELS, ShippedModel


@pytest.fixture
def shipped_only(monkeypatch):
    """No ``FER_MODEL_PATH``: the picker offers the shipped models only."""
    monkeypatch.delenv("FER_MODEL_PATH", raising=False)


@pytest.fixture
def ferplus_missing(monkeypatch, tmp_path):
    """The shipped ``ferplus`` model's file is not there (a checkout without it)."""
    missing = tmp_path / "ferplus" / "emotion_cnn.keras"
    shipped = ShippedModel("ferplus", missing, SHIPPED_MODELS["ferplus"].description)
    monkeypatch.setitem(SHIPPED_MODELS, "ferplus", shipped)
    return missing


@pytest.fixture
def eight(monkeypatch, eight_emotion_model):
    """``FER_MODEL_PATH`` names a model of FER+'s eight emotions."""
    monkeypatch.setenv("FER_MODEL_PATH", str(eight_emotion_model))
    return eight_emotion_model


def picker(app):
    return app.selectbox(key=PICKER_KEY)


def metrics(app) -> dict[str, str]:
    return {metric.label: metric.value for metric in app.metric}


def chart(app, key: str) -> dict:
    """The Plotly figure (as JSON) of the chart with this key."""
    found = [element for element in app.get("plotly_chart") if key in element.proto.id]
    assert len(found) == 1, [element.proto.id for element in app.get("plotly_chart")]
    return json.loads(found[0].proto.spec)


def values(data) -> np.ndarray:
    """A trace's values: Plotly writes numeric arrays as base64 (``{"dtype", "bdata"}``), others as lists."""
    if isinstance(data, dict):
        return np.frombuffer(base64.b64decode(data["bdata"]), dtype=data["dtype"])
    return np.asarray(data)


def grid_captions(app) -> list[str]:
    """Captions of the explorer's grid ("#row Label ..."), not of the enlarged face ("#row: labelled ...")."""
    return [caption for caption in captions(app) if re.match(r"#\d+ ", caption)]


# ---------------------------------------------------------------- the picker


def test_the_picker_lists_the_shipped_models_and_falls_back_from_a_missing_one(monkeypatch, shipped_only,
                                                                              ferplus_missing):
    choices = model_choices()
    assert list(choices) == list(SHIPPED_MODELS) and choices["ferplus"] == ferplus_missing
    assert default_model_choice(choices) == "fer2013"  # the default, ferplus, is not on this machine
    assert default_model_choice({**choices, "ferplus": DEFAULT_MODEL_PATH}) == "ferplus"  # once it is there
    monkeypatch.setenv("FER_MODEL_PATH", "runs/mine/emotion_cnn.keras")  # a model of one's own comes last, chosen
    assert list(model_choices())[-1] == "runs/mine/emotion_cnn.keras"
    assert default_model_choice(model_choices()) == "runs/mine/emotion_cnn.keras"


def test_every_page_shows_the_picker_and_explains_a_shipped_model_that_is_not_there(open_page, no_data, shipped_only,
                                                                                   ferplus_missing):
    app = open_page("pages/2_Photo.py")
    assert picker(app).value == "fer2013"
    assert picker(app).options == ["ferplus (not available yet)", "fer2013"]
    assert app.get("file_uploader")  # the page runs on fer2013, the shipped model that is there

    picker(app).set_value("ferplus").run()
    no_exception(app)
    assert "not on this machine yet" in texts(app.error) and "Choose another model in the sidebar" in texts(app.error)
    assert not app.get("file_uploader")  # it stops there

    app.switch_page("pages/4_Evaluation.py").run()  # the choice follows to the next page, with the same message
    no_exception(app)
    assert picker(app).value == "ferplus" and "not on this machine yet" in texts(app.error)

    picker(app).set_value("fer2013").run()
    no_exception(app)
    assert not app.error and metrics(app)["Accuracy"]


def test_the_chosen_model_follows_the_user_from_page_to_page(open_page, no_data, eight):
    shipped = read_report(SHIPPED_MODELS["fer2013"].path.with_name(REPORT_FILE))
    app = open_page("pages/4_Evaluation.py")
    assert picker(app).value == str(eight)  # FER_MODEL_PATH's model is the default
    assert picker(app).options[-1].endswith("(FER_MODEL_PATH)")
    assert metrics(app)["Accuracy"] == "81.2%"

    picker(app).set_value("fer2013").run()
    no_exception(app)
    assert metrics(app)["Accuracy"] == f"{shipped.accuracy:.1%}"
    assert app.selectbox(key="evaluation_true").options == list(FER2013.emotions)

    for page in ("pages/2_Photo.py", "Home.py"):
        app.switch_page(page).run()
        no_exception(app)
        assert picker(app).value == "fer2013", page
    assert "**fer2013**" in texts(app.caption)  # the model card names it
    assert "Predicts 7 emotions" in texts(app.caption)


# ---------------------------------------------------------------- a model of eight emotions, everywhere


@pytest.mark.parametrize("page", list(PAGES))
def test_every_page_runs_on_a_model_of_eight_emotions(open_page, no_data, eight, page):
    app = open_page(page)
    no_exception(app)
    assert PAGES[page][1] in app.title[0].value
    assert not app.error, texts(app.error)


def test_photo_page_shows_the_models_eight_emotions(open_page, no_data, eight, detectable_faces):
    app = open_page("pages/2_Photo.py")
    app.file_uploader(key="photo_upload").set_value(("face.png", png(paste_faces(detectable_faces[:1])), "image/png"))
    app.run()
    no_exception(app)
    table = app.dataframe[0].value
    assert list(table.columns[3:]) == list(FERPLUS.emotions)
    assert table.iloc[0]["emotion"] in FERPLUS.emotions
    assert chart(app, "photo_face_1")["data"][0]["y"] == list(FERPLUS.emotions)


def test_video_page_names_the_models_eight_emotions(open_page, no_data, eight):
    app = open_page("pages/6_Video.py")
    source = app.radio(key="video_source")
    source.set_value(source.options[1]).run()
    no_exception(app)
    shares = app.dataframe[0].value
    assert list(shares.columns[5:]) == list(FERPLUS.emotions)
    assert shares[list(FERPLUS.emotions)].sum(axis=1).round(3).eq(1).all()
    result = app.session_state["video_result"][1]
    assert result.frames_csv.splitlines()[0].endswith(b",Neutral,Contempt")


def test_model_card_and_evaluation_show_both_label_sets(open_page, no_data, eight):
    app = open_page()
    card = metrics(app)
    assert card["PublicTest, FER-2013 labels"] == "68.8%" and card["PublicTest, FER+ majority"] == "81.2%"
    assert "Predicts 8 emotions: " + ", ".join(FERPLUS.emotions) + "." in texts(app.caption)

    app.switch_page("pages/4_Evaluation.py").run()
    no_exception(app)
    figures = metrics(app)
    assert figures["FER+ accuracy"] == "81.2%" and figures["Cross-entropy to the votes"] == "0.731 nats"
    assert "Where FER-2013's label equals the majority (2,136 faces): accuracy 87.5%" in texts(app.caption)
    assert app.selectbox(key="evaluation_true").options == list(FERPLUS.emotions)
    app.selectbox(key="evaluation_true").set_value("Contempt").run()
    app.selectbox(key="evaluation_predicted").set_value("Contempt").run()
    assert "10 of 17 **Contempt** faces predicted **Contempt**" in texts(app.markdown)
    per_class = app.dataframe[-1].value
    assert list(per_class.index[:-1]) == list(FERPLUS.emotions)


# ---------------------------------------------------------------- FER+ votes


def test_explorer_shows_a_faces_votes_and_the_faces_where_the_labels_disagree(open_page, monkeypatch, shipped_only,
                                                                               voted_csv, public_rows):
    monkeypatch.setenv("FER2013_PATH", str(voted_csv))
    votes = load_votes(voted_csv.with_name("fer2013new.csv"))
    labels = public_rows.emotion.to_numpy()[:200]
    majority = majority_labels(votes)
    judged = majority >= 0
    app = open_page("pages/3_Dataset_explorer.py")
    no_exception(app)
    assert "FER+ votes: `fer2013new.csv`" in texts(app.sidebar.caption)
    agree = (majority[judged] == labels[judged]).mean()
    assert f"equals their majority on {agree:.1%} of the {judged.sum():,} faces" in texts(app.caption)

    app.selectbox(key="explorer_agreement").set_value(DISAGREE).run()
    no_exception(app)
    disagree = np.flatnonzero(judged & (majority != labels))
    grid = grid_captions(app)
    assert len(grid) == min(len(disagree), 32) > 0
    for caption, row in zip(grid, disagree, strict=False):
        assert caption == f"#{row} {FER2013.emotions[labels[row]]} · FER+ {FERPLUS.emotions[majority[row]]}"

    chosen = app.selectbox(key="explorer_enlarge").value
    assert chosen == disagree[0]
    assert (f"FER-2013 label: **{FER2013.emotions[labels[chosen]]}** · FER+ majority: "
            f"**{FERPLUS.emotions[majority[chosen]]}** (they disagree)") in texts(app.markdown)
    bars = chart(app, "explorer_votes_chart")["data"][0]
    assert values(bars["x"]).tolist() == votes[chosen].tolist() and bars["y"] == list(VOTE_NAMES)


def test_evaluation_shows_a_faces_distribution_beside_the_annotators(open_page, monkeypatch, shipped_only, voted_csv,
                                                                   public_rows, classifier):
    monkeypatch.setenv("FER2013_PATH", str(voted_csv))
    votes = load_votes(voted_csv.with_name("fer2013new.csv"))
    faces = np.stack([np.array(p.split(), dtype=np.uint8).reshape(48, 48) for p in public_rows.pixels[:200]])
    labels = public_rows.emotion.to_numpy()[:200]
    probabilities = classifier.predict_faces(faces)
    emotions = classifier.labels.emotions
    expected = ferplus_metrics(probabilities, emotions, votes, labels)

    app = open_page("pages/4_Evaluation.py")
    app.sidebar.button(key="evaluation_run").click().run()
    no_exception(app)
    figures = metrics(app)
    assert figures["FER+ accuracy"] == f"{expected['accuracy']:.1%}"
    assert figures["Cross-entropy to the votes"] == f"{expected['cross_entropy']:.3f} nats"

    predicted = probabilities.argmax(axis=1)
    app.selectbox(key="evaluation_true").set_value("Happy").run()
    app.selectbox(key="evaluation_predicted").set_value("Happy").run()
    cell = np.flatnonzero((labels == emotions.index("Happy")) & (predicted == emotions.index("Happy")))
    face = app.selectbox(key="evaluation_face").value
    assert face in cell.tolist()
    model, people = chart(app, "evaluation_face_chart")["data"]
    assert model["name"] == "model" and people["name"] == "annotators" and model["y"] == list(FERPLUS.emotions)
    assert np.allclose(values(model["x"]), in_ferplus_order(probabilities[face][None], emotions)[0], atol=1e-4)
    assert np.allclose(values(people["x"]), vote_distribution(votes[face][None])[0])
    assert "FER+ majority: **" in texts(app.markdown)
