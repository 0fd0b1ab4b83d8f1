"""The dashboard's building blocks (model card, data picker, charts, attack and robustness panels, live session).
Owns the import bootstrap: importing this package first puts the repository on sys.path and loads aiortc's SRTP.

Streamlit puts the main script's folder (dashboard/) on ``sys.path``, so pages ``from components.x import ...``;
the repository root is added here so that ``core`` imports when run as ``streamlit run dashboard/Home.py``.
Pages hold layout and widgets; anything a test could check without a browser lives in ``core`` or here.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # before any page loads TensorFlow: no cuInit / CUDA lines

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# aiortc's SRTP binding (pylibsrtp, used by the live page) crashes the process when it is loaded after
# TensorFlow, so load it first. A process that imported TensorFlow already cannot load it safely at all.
if "tensorflow" not in sys.modules:
    try:
        import pylibsrtp  # noqa: F401
    except ImportError:  # components.page.webrtc_problem() explains; the other pages work without it
        pass
