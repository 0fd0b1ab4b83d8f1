"""The dashboard's building blocks (model card, data picker, charts, attack and robustness panels, live session).
Owns the import bootstrap: importing this package first puts the repository on sys.path, quiets the server's
console (core.quiet) and loads aiortc's SRTP.

Streamlit puts the main script's folder (dashboard/) on ``sys.path``, so pages ``from components.x import ...``;
the repository root is added here so that ``core`` imports when run as ``streamlit run dashboard/Home.py``.
Pages hold layout and widgets; anything a test could check without a browser lives in ``core`` or here.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from core.quiet import quiet_for_good  # noqa: E402  (needs ROOT on sys.path)

if "streamlit.web.bootstrap" in sys.modules:  # a `streamlit run` server (not a test's AppTest): before any page
    quiet_for_good()  # loads TensorFlow or LiteRT, their start-up lines are dropped, unless FER_VERBOSE=1

# aiortc's SRTP binding (pylibsrtp, used by the live page) crashes the process when it is loaded after
# TensorFlow, so load it first. A process that imported TensorFlow already cannot load it safely at all.
if "tensorflow" not in sys.modules:
    try:
        import pylibsrtp  # noqa: F401
    except ImportError:  # components.page.webrtc_problem() explains; the other pages work without it
        pass
