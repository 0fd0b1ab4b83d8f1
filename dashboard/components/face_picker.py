"""Choosing one 48x48 face to attack: from the data set, an uploaded photo, or the Live page's snapshot.
Owns pick_face (the source radio and each source's widgets) and faces_in_upload.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from components.data_picker import LoadedData, dataset_emotions, labelled_splits
from components.model import get_detector
from components.text import escape_markdown
from core.data import DATA_ENV_VAR
from core.labels import IMAGE_SIZE, PUBLIC_TEST
from core.vision.crop import to_gray
from core.vision.faces import extract_faces
from core.vision.image import DISPLAY_MAX_SIDE, UPLOAD_TYPES, ImageDecodeError, decode_image

SNAPSHOT_KEY = "snapshot_face"  # where the Live webcam page leaves its snapshot: a 48x48 uint8 face
FROM_DATA, FROM_UPLOAD, FROM_SNAPSHOT = "Data set", "Upload a photo", "Live snapshot"


@st.cache_data(max_entries=8, show_spinner="Finding faces…")
def faces_in_upload(data: bytes) -> tuple[str, list[np.ndarray]]:
    """("unreadable: why" | "face" | "photo", 48x48 faces): a 48x48 image is taken as a face crop as it is."""
    try:
        image = decode_image(data, max_side=DISPLAY_MAX_SIDE)
    except ImageDecodeError as error:
        return f"unreadable: {error}", []
    if image.shape[:2] == (IMAGE_SIZE, IMAGE_SIZE):
        return "face", [to_gray(image)]
    return "photo", [crop.pixels for crop in extract_faces(image, get_detector())]


def face_from_data(loaded: LoadedData | None) -> tuple[np.ndarray, str] | None:
    if loaded is None:
        st.info(f"No data set loaded. Set `{DATA_ENV_VAR}=/path/to/fer2013.csv` before `streamlit run "
                "dashboard/Home.py`, give a path or an upload in the sidebar, or pick **Upload a photo**.",
                icon=":material/database:")
        return None
    dataset = loaded.dataset
    splits = labelled_splits(dataset) or dataset.splits
    split = st.selectbox("Split", splits, key="adversarial_split",
                         index=splits.index(PUBLIC_TEST) if PUBLIC_TEST in splits else 0)
    data = dataset.split(split)
    labelled = bool((data.labels >= 0).any())
    names = dataset_emotions(dataset)  # the data set's own labels
    classes = ["Any", *names] if labelled else ["Any"]
    emotion = st.selectbox("Class", classes, key="adversarial_class",
                           index=classes.index("Happy") if "Happy" in classes else 0)
    rows = np.arange(len(data)) if emotion == "Any" else np.flatnonzero(data.labels == names.index(emotion))
    if not len(rows):
        st.warning(f"No {emotion} face in {split}.")
        return None
    if st.session_state.get("adversarial_index", 0) >= len(rows):  # a smaller class than the last one
        st.session_state["adversarial_index"] = 0
    number = st.number_input(f"Index among the {len(rows):,} {'' if emotion == 'Any' else emotion + ' '}faces",
                             0, len(rows) - 1, 0, key="adversarial_index")
    row = int(rows[number])
    label = int(data.labels[row])
    return data.images[row], f"{split} row {row}" + (f", labelled {names[label]}" if label >= 0 else "")


def face_from_upload(loaded: LoadedData | None) -> tuple[np.ndarray, str] | None:
    uploaded = st.file_uploader("A photo with a face", type=list(UPLOAD_TYPES), key="adversarial_upload",
                                help="The largest face found is cropped as the model sees it. A 48x48 image "
                                     "(such as a downloaded adversarial PNG) is used as it is.")
    if uploaded is None:
        st.info("Upload a JPEG, PNG, BMP, WebP or TIFF picture with a frontal face.", icon=":material/upload:")
        if loaded is None:
            st.caption(f"To pick faces from FER-2013 instead, set `{DATA_ENV_VAR}` to fer2013.csv(.gz) before "
                       "starting the app, or choose the data set in the sidebar.")
        return None
    kind, faces = faces_in_upload(uploaded.getvalue())
    name = escape_markdown(uploaded.name)
    if kind.startswith("unreadable"):
        st.error(f"**{name} cannot be used:** {escape_markdown(kind.removeprefix('unreadable: '))}. Upload a JPEG, "
                 "PNG, BMP, WebP or TIFF picture.", icon=":material/warning:")
        return None
    if not faces:
        st.warning(f"**No face found in {name}.** Try a closer, well-lit picture in which the face is at "
                   "least 48 pixels wide.", icon=":material/search:")
        return None
    if kind == "face":
        return faces[0], f"{name} (48x48, used as it is)"
    chosen = 0
    if len(faces) > 1:
        chosen = st.selectbox(f"Face ({len(faces)} found, largest first)", range(len(faces)),
                              format_func=lambda number: f"Face {number + 1}", key="adversarial_face")
    return faces[chosen], f"{name}, face {chosen + 1} of {len(faces)}"


def face_from_snapshot() -> tuple[np.ndarray, str] | None:
    face = np.asarray(st.session_state.get(SNAPSHOT_KEY))
    if face.dtype != np.uint8 or face.shape != (IMAGE_SIZE, IMAGE_SIZE):
        st.error(f"The live snapshot is not a 48x48 8-bit face (got {face.dtype} {face.shape}); take a new one.")
        return None
    return face, "the Live webcam snapshot"


def pick_face(loaded: LoadedData | None) -> tuple[np.ndarray, str] | None:
    """The "Face from" radio and the chosen source's widgets: a 48x48 uint8 face and its description, or None."""
    sources = [FROM_DATA, FROM_UPLOAD]
    if st.session_state.get(SNAPSHOT_KEY) is not None:
        sources.append(FROM_SNAPSHOT)
    default = FROM_SNAPSHOT if FROM_SNAPSHOT in sources else (FROM_DATA if loaded is not None else FROM_UPLOAD)
    source = st.radio("Face from", sources, index=sources.index(default), horizontal=True, key="adversarial_source")
    if source == FROM_DATA:
        return face_from_data(loaded)
    if source == FROM_UPLOAD:
        return face_from_upload(loaded)
    return face_from_snapshot()
