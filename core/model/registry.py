"""The shipped models by name: what ``--model NAME`` and ``--init NAME`` mean.
Owns SHIPPED_MODELS, ShippedModel, resolve_model_path and DEFAULT_MODEL_NAME.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

MODELS_DIR = Path(__file__).resolve().parents[2] / "models"


@dataclass(frozen=True)
class ShippedModel:
    name: str
    path: Path
    description: str

    @property
    def evaluation(self) -> Path:
        """Its PublicTest figures on both label sets, as ``evaluate --json`` wrote them."""
        return MODELS_DIR / "evaluations" / f"{self.name}-publictest.json"


SHIPPED_MODELS: dict[str, ShippedModel] = {
    model.name: model
    for model in (
        ShippedModel("ferplus", MODELS_DIR / "ferplus" / "emotion_cnn.keras",
                     "one network trained on the FER+ votes of ten annotators (eight emotions), rebalanced"),
        ShippedModel("fer2013", MODELS_DIR / "emotion_cnn.keras",
                     "three networks trained on FER-2013's labels (seven emotions): the FER-2013 benchmark"),
    )
}


DEFAULT_MODEL_NAME = "ferplus"
"""What the photo, video, live and API paths use unless told otherwise."""


def resolve_model_path(name_or_path: str | os.PathLike) -> Path:
    """A shipped model's file for its name, else the path as given."""
    shipped = SHIPPED_MODELS.get(str(name_or_path))
    return shipped.path if shipped is not None else Path(name_or_path).expanduser()
