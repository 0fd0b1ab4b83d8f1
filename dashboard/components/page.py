"""The frame every page shares: page config, title, intro, the sidebar's model picker and status, and what the
app can do here. Owns APP_NAME, FAVICON, PAGES_DIR, page_header, webrtc_problem and data_env_status.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import streamlit as st

from components.model import display_path, model_picker
from core.data import DATA_ENV_VAR

APP_NAME = "Facial emotion recognition"
FAVICON = "🙂"
"""The browser tab's icon. An emoji becomes an inline SVG; a ``:material/...:`` icon would be fetched from an
internet font host, and nothing the app serves may reach outside the machine."""
PAGES_DIR = Path(__file__).resolve().parents[1] / "pages"


def page_header(title: str, icon: str, intro: str | None = None) -> None:
    """Page config, title and intro line shared by every page, plus the sidebar's model picker and status."""
    st.set_page_config(page_title=f"{title} · {APP_NAME}", page_icon=FAVICON, layout="wide")
    st.title(f"{icon} {title}")
    if intro:
        st.caption(intro)
    with st.sidebar:
        path = model_picker()
        state = "found" if path.is_file() else "missing"
        st.caption(f"Model file: `{display_path(path)}` ({state})  \nData: {data_env_status()[1]}")


def webrtc_problem() -> str | None:
    """Why the live page cannot stream here, or ``None`` when it can."""
    if importlib.util.find_spec("streamlit_webrtc") is None or importlib.util.find_spec("aiortc") is None:
        return "The live page needs streamlit-webrtc and aiortc: `pip install streamlit-webrtc aiortc av`."
    if "pylibsrtp" not in sys.modules:
        if "tensorflow" in sys.modules:
            return ("aiortc's SRTP library must be loaded before TensorFlow in this process, and TensorFlow came "
                    "first. Start the app with `streamlit run dashboard/Home.py`.")
        import pylibsrtp  # noqa: F401
    return None


def data_env_status() -> tuple[Path | None, str]:
    """The ``FER2013_PATH`` data set if it exists, and a one-line description."""
    value = os.environ.get(DATA_ENV_VAR, "").strip()
    if not value:
        return None, f"`{DATA_ENV_VAR}` not set"
    path = Path(value).expanduser()
    if not path.exists():
        return None, f"`{DATA_ENV_VAR}` = `{value}` does not exist"
    return path, f"`{path}`"
