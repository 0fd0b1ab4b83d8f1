"""Photo: upload a picture and see every face boxed and labelled, with its probabilities.
The page holds the layout; detection and the classifier are core's, the charts :mod:`components.charts`.
"""

from __future__ import annotations

import numpy as np
import streamlit as st
from components.charts import probability_figure
from components.images import bgr_to_rgb, enlarge
from components.model import get_classifier, get_detector, model_path, model_version
from components.page import page_header
from components.saliency import SALIENCY_HELP, saliency_images
from components.text import escape_markdown

from core.analysis.annotate import draw_predictions
from core.vision.image import DISPLAY_MAX_SIDE, UPLOAD_TYPES, ImageDecodeError, decode_image

page_header(
    "Photo", ":material/photo_camera:",
    "Upload a photo: every face found is boxed and labelled, with the model's probabilities for each.",
)

classifier = get_classifier()
if classifier is None:
    st.stop()
emotions = classifier.labels.emotions


uploaded = st.file_uploader("A photo with one or more faces", type=list(UPLOAD_TYPES), key="photo_upload")
if uploaded is None:
    st.info("Upload a JPEG, PNG, BMP, WebP or TIFF picture. Frontal, well-lit faces work best.", icon=":material/info:")
    st.stop()

name = escape_markdown(uploaded.name)
try:
    image = decode_image(uploaded.getvalue(), max_side=DISPLAY_MAX_SIDE)
except ImageDecodeError as error:
    st.error(f"**{name} cannot be used:** {escape_markdown(str(error))}. Upload a JPEG, PNG, BMP, WebP or TIFF "
             "picture.", icon=":material/warning:")
    st.stop()

with st.spinner("Finding faces…"):
    predictions = classifier.analyze_frame(image, get_detector())
show_saliency = st.toggle("Show saliency (Grad-CAM) on every face", key="photo_saliency", help=SALIENCY_HELP)
shown_faces = [prediction.face for prediction in predictions]
if show_saliency and predictions:
    shown_faces = saliency_images(classifier, f"{model_path()}:{model_version()}",
                                  np.stack(shown_faces), [prediction.label_index for prediction in predictions])

annotated_column, faces_column = st.columns([3, 2], gap="large")
annotated_column.image(bgr_to_rgb(draw_predictions(image, predictions)),
                       caption=f"{name}: {image.shape[1]}x{image.shape[0]}", width="stretch")
with faces_column:
    if not predictions:
        st.warning("**No face found in this picture.** Try a closer, well-lit, front-facing shot.",
                   icon=":material/search:")
    else:
        st.success(f"{len(predictions)} face{'s' if len(predictions) > 1 else ''} found (largest first).")
    for number, (prediction, shown) in enumerate(zip(predictions, shown_faces, strict=True), start=1):
        with st.container(border=True, key=f"photo_face_card_{number}"):
            face_column, chart_column = st.columns([1, 2])
            face_column.image(enlarge(shown, 144), caption=f"Face {number}: {prediction.display_label}"
                              + (" (saliency)" if show_saliency else ""))
            chart_column.plotly_chart(probability_figure(prediction.probabilities, emotions, height=220),
                                      key=f"photo_face_{number}", config={"displayModeBar": False})

if predictions:
    with st.expander("Probabilities as a table"):
        st.dataframe(
            {"face": [f"Face {n}" for n in range(1, len(predictions) + 1)],
             "box": [f"x={p.box.x} y={p.box.y} w={p.box.w} h={p.box.h}" for p in predictions],
             "emotion": [p.label for p in predictions],
             **{emotion: [float(p.probabilities[i]) for p in predictions] for i, emotion in enumerate(emotions)}},
            hide_index=True,
            column_config={emotion: st.column_config.ProgressColumn(emotion, format="percent", min_value=0,
                                                                    max_value=1) for emotion in emotions},
        )
