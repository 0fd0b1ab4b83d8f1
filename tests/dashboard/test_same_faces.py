"""One image, three front ends: ``predict``, ``stream`` and the Photo page find the same faces and labels."""

from __future__ import annotations

import json
import re

import cv2
from dash_support import no_exception, paste_faces, png

import train_cli
from core.analysis.video import sample_faces
from core.model.classifier import EmotionClassifier
from core.vision.faces import make_detector


def test_predict_stream_and_photo_page_agree(open_page, no_data, detectable_faces, tmp_path, capsys):
    image = paste_faces(detectable_faces[:2], size=192, shape=(480, 960))
    picture = tmp_path / "two_faces.png"
    cv2.imwrite(str(picture), image)
    cv2.imwrite(str(tmp_path / "frame000.png"), image)  # a lossless one-frame "video" for stream

    assert train_cli.main(["predict", str(picture), "--json"]) == 0
    predicted = json.loads(capsys.readouterr().out)[0]["faces"]
    boxes = [tuple(face["box"][key] for key in "xywh") for face in predicted]
    labels = [face["emotion"] for face in predicted]
    assert len(boxes) == 2

    source = str(tmp_path / "frame%03d.png")
    assert train_cli.main(["stream", "--source", source, "--max-samples", "1"]) == 0
    printed = re.findall(r": #(\d+) (\w+)\?? \d+%", capsys.readouterr().out)
    assert [label for _, label in printed] == labels
    assert sorted(int(person) for person, _ in printed) == [1, 2]
    sample = next(sample_faces(source, EmotionClassifier.load(), make_detector(video=True), max_samples=1))
    assert [(f.box.x, f.box.y, f.box.w, f.box.h) for f in sample.faces] == boxes

    app = open_page("pages/2_Photo.py")
    app.file_uploader(key="photo_upload").set_value(("two_faces.png", png(image), "image/png"))
    app.run()
    no_exception(app)
    table = app.dataframe[0].value
    assert list(table["emotion"]) == labels
    assert list(table["box"]) == [f"x={x} y={y} w={w} h={h}" for x, y, w, h in boxes]
