"""Front door of the dashboard: ``streamlit run dashboard/Home.py`` from the repository root.
Shows the model card, whether a data set was found, and a link to every page.
"""

from __future__ import annotations

import streamlit as st
from components.data_picker import ALLOWED_FOLDERS_HELP
from components.model import get_classifier, load_report, model_path
from components.model_card import model_card
from components.page import APP_NAME, PAGES_DIR, data_env_status, page_header

from core.data import DATA_ENV_VAR
from core.data_roots import DEFAULT_DATA_ROOT
from core.labels import FER2013, FERPLUS

PAGE_INFO = {
    "1_Live_webcam.py": (
        ":material/videocam:", "Live webcam",
        "Every face in your webcam boxed and labelled live, with a probability chart, a timeline of the "
        "dominant emotion and a snapshot.",
    ),
    "2_Photo.py": (
        ":material/photo_camera:", "Photo",
        "Upload a picture: every face found, boxed and labelled, with its probabilities.",
    ),
    "3_Dataset_explorer.py": (
        ":material/dataset:", "Dataset explorer",
        "FER-2013 by split and class: image grid, mean faces, pixel intensities, the model's opinion on any image, "
        "and each face's ten FER+ votes, with the faces where FER-2013's label and the annotators disagree.",
    ),
    "4_Evaluation.py": (
        ":material/analytics:", "Evaluation",
        "Confusion matrix with the images behind each cell, per-class precision/recall/F1 and learning curves; "
        "recompute on any split, and see how the model agrees with ten FER+ annotators, face by face.",
    ),
    "5_Adversarial.py": (
        ":material/gpp_maybe:", "Adversarial", "How small, targeted pixel changes fool the model.",
    ),
    "6_Video.py": (
        ":material/movie:", "Video",
        "Upload a video: each person tracked and labelled over time, an annotated video to play and download, "
        "a clickable timeline and each person's emotion shares.",
    ),
}

# The README's data path: ~/fer-data is an allowed data folder without any setting. (A comment, not a docstring:
# Streamlit would draw a bare string on the page.)
START_WITH_DATA = f"export {DATA_ENV_VAR}={DEFAULT_DATA_ROOT}/fer2013.csv.gz\nstreamlit run dashboard/Home.py"


def page_entry(path) -> tuple[str, str, str]:
    """Icon, label and description of a page file; pages added later get a label from their name."""
    if path.name in PAGE_INFO:
        return PAGE_INFO[path.name]
    name = path.stem.split("_", 1)[-1].replace("_", " ")
    return ":material/description:", name, ""


page_header(
    APP_NAME, ":material/mood:",
    "Point a webcam, a photo or a video file at faces and see which emotion each person shows.",
)

st.markdown(
    "A convolutional network trained on **FER-2013** (35,887 48x48 grayscale faces) reads each face that "
    "BlazeFace finds, turned upright about its eyes, and gives a calibrated probability for each emotion the "
    "model knows: FER-2013's seven, " + ", ".join(f"**{name}**" for name in FER2013.emotions) + ", and for a model "
    "of the ten FER+ annotators' votes per face also **" + FERPLUS.emotions[-1] + "**. Pick the model in the sidebar."
)

left, right = st.columns([3, 2], gap="large")
with left:
    report, error = load_report()
    model_card(report, error)
    model_status = st.empty()

with right:
    with st.container(border=True):
        st.subheader(":material/database: Data set")
        found, description = data_env_status()
        if found is not None:
            st.success(f"FER-2013 found through `{DATA_ENV_VAR}`: `{found}`", icon=":material/check_circle:")
            st.caption("The Dataset explorer and Evaluation pages open it automatically.")
        else:
            st.info(f"No data set found ({description}). Every page still works on the shipped model "
                    "and its report; a data set adds browsing and re-evaluation.", icon=":material/info:")
            st.markdown(f"To give one, put `fer2013.csv.gz` in `{DEFAULT_DATA_ROOT}/` and start the app with")
            st.code(START_WITH_DATA, language="bash", wrap_lines=True)
            st.markdown(
                "or type its path, or upload it, in the sidebar of the Dataset explorer and Evaluation pages."
            )
        st.caption(ALLOWED_FOLDERS_HELP)

st.subheader("Pages")
pages = sorted(PAGES_DIR.glob("[0-9]*.py"))
columns = st.columns(2)
for index, path in enumerate(pages):
    icon, label, text = page_entry(path)
    with columns[index % 2].container(border=True):
        st.page_link(f"pages/{path.name}", label=label, icon=icon)
        if text:
            st.caption(text)

# Load the model last, so the page is readable while TensorFlow starts; the other pages then find it cached.
with model_status.container():
    classifier = get_classifier()
    if classifier is not None:
        st.caption(f":material/check_circle: Model loaded and ready (`{model_path().name}`, "
                   f"{len(classifier.labels)} emotions).")
