"""Choosing FER-2013 in the sidebar: by path (default FER2013_PATH) or upload, parsed once and shared.
Owns LoadedData, data_picker, load_data_from_path, load_data_from_upload, labelled_splits, dataset_emotions and
ALLOWED_FOLDERS_HELP.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from components.model import mtime_ns
from components.text import escape_markdown
from core.data import DATA_ENV_VAR, DataFormatError, FerDataset, load_dataset
from core.data_roots import DEFAULT_DATA_ROOT, ROOTS_ENV_VAR, PathNotAllowed, resolve_user_path
from core.fer_csv import BadRowsError
from core.labels import FER2013, FERPLUS

SKIP_HINT = "Tick **Skip bad rows** to leave them out."

UPLOAD_TYPES = ["csv", "gz"]

ALLOWED_FOLDERS_HELP = (
    f"A typed path must lie in an allowed data folder of the server: `{DEFAULT_DATA_ROOT}`, the folder of "
    f"`{DATA_ENV_VAR}`, or a folder listed in `{ROOTS_ENV_VAR}` (several separated by `:`). To allow another "
    f"folder, start the app with `{ROOTS_ENV_VAR}` set to it."
)
"""What the Home page and the sidebar say before anything is typed (core.data_roots.ALLOWED_FOLDERS in Markdown)."""


@dataclass(frozen=True)
class LoadedData:
    dataset: FerDataset
    key: str
    """Identifies the file version and options, for caches downstream."""
    label: str
    path: Path | None = None
    """The file or folder it was read from; None for an upload."""


@st.cache_resource(show_spinner="Parsing FER-2013…", max_entries=3)
def _load_path(path: str, mtime_ns: int, skip_bad_rows: bool) -> tuple[FerDataset | None, str | None]:
    try:
        return load_dataset(path, skip_bad_rows=skip_bad_rows), None
    except DataFormatError as error:
        return None, _message(str(error), error)


def _message(text: str, error: DataFormatError) -> str:
    """The error as Markdown: user text escaped, and how to skip bad rows in this app (not the CLI flag)."""
    return escape_markdown(text) + (f" {SKIP_HINT}" if isinstance(error, BadRowsError) else "")


def _upload_suffix(name: str) -> str:
    lowered = name.lower()
    if lowered.endswith(".gz"):
        return ".csv.gz"
    return ".csv"


@st.cache_resource(show_spinner="Parsing the uploaded file…", max_entries=2)
def _load_upload(digest: str, name: str, skip_bad_rows: bool, _data: bytes) -> tuple[FerDataset | None, str | None]:
    with tempfile.TemporaryDirectory(prefix="fer-upload-") as folder:
        path = Path(folder) / f"upload{_upload_suffix(name)}"
        path.write_bytes(_data)
        try:
            dataset = load_dataset(path, skip_bad_rows=skip_bad_rows)
        except DataFormatError as error:
            return None, _message(str(error).replace(str(path), name).replace(path.name, name), error)
    dataset.source = name
    dataset.skipped = [reason.replace(path.name, name) for reason in dataset.skipped]
    return dataset, None


def load_data_from_path(path: str, skip_bad_rows: bool = False) -> tuple[LoadedData | None, str | None]:
    """A data set from a typed path inside the allowed data folders, parsed once per file version (shared)."""
    try:
        resolved = resolve_user_path(path)
    except PathNotAllowed as error:
        return None, escape_markdown(str(error))
    if not resolved.exists():
        return None, escape_markdown(f"There is no file or folder at {path.strip()}: check the name.")
    mtime = mtime_ns(resolved)
    dataset, error = _load_path(str(resolved), mtime, skip_bad_rows)
    if dataset is None:
        return None, error
    return LoadedData(dataset, f"path:{resolved}:{mtime}:{skip_bad_rows}", str(resolved), resolved), None


def load_data_from_upload(name: str, data: bytes, skip_bad_rows: bool = False) -> tuple[LoadedData | None, str | None]:
    """A data set from uploaded bytes, parsed once per content (keyed by its SHA-256)."""
    digest = hashlib.sha256(data).hexdigest()
    dataset, error = _load_upload(digest, name, skip_bad_rows, data)
    if dataset is None:
        return None, error
    return LoadedData(dataset, f"upload:{digest}:{skip_bad_rows}", f"{name} (uploaded)"), None


def data_picker(key: str) -> LoadedData | None:
    """Sidebar widgets to choose FER-2013 by path (default ``FER2013_PATH``) or upload; shows any error."""
    with st.sidebar:
        st.header("Data set")
        source = st.radio("Source", ["Path", "Upload"], horizontal=True, key=f"{key}_source")
        skip = st.checkbox("Skip bad rows", key=f"{key}_skip", help="Drop unreadable rows instead of stopping.")
        if source == "Path":
            default = os.environ.get(DATA_ENV_VAR, "")
            path = st.text_input(
                "FER-2013 path", value=default, key=f"{key}_path",
                help="fer2013.csv or .csv.gz, the seed's CSV folder, or an image folder ROOT/<split>/<emotion>/. "
                     + ALLOWED_FOLDERS_HELP,
            ).strip()
            st.caption(ALLOWED_FOLDERS_HELP)
            if not path:
                st.info(f"No data set given. Set `{DATA_ENV_VAR}` before starting the app, type a path, or upload.")
                return None
            loaded, error = load_data_from_path(path, skip)
        else:
            uploaded = st.file_uploader("FER-2013 CSV (.csv or .csv.gz)", type=UPLOAD_TYPES, key=f"{key}_upload")
            if uploaded is None:
                st.info("Upload fer2013.csv or fer2013.csv.gz.")
                return None
            loaded, error = load_data_from_upload(uploaded.name, uploaded.getvalue(), skip)
        if loaded is None:
            st.error(f"**Could not read the data set.** {error}", icon=":material/warning:")
            return None
        dataset = loaded.dataset
        st.success(f"{len(dataset):,} faces: " + ", ".join(
            f"{name} {int((dataset.usage == name).sum()):,}" for name in dataset.splits))
        if dataset.skipped:
            st.warning(f"Skipped {len(dataset.skipped):,} bad rows; first: {escape_markdown(dataset.skipped[0])}")
        return loaded


def labelled_splits(dataset: FerDataset) -> list[str]:
    """Splits that have at least one labelled face (the unsplit test file has none)."""
    return [name for name in dataset.splits if ((dataset.usage == name) & (dataset.labels >= 0)).any()]


def dataset_emotions(dataset: FerDataset) -> tuple[str, ...]:
    """The names of a data set's own labels: FER-2013's seven, and Contempt too where an image folder has it."""
    return FERPLUS.emotions if len(dataset.labels) and int(dataset.labels.max()) >= len(FER2013) else FER2013.emotions
