"""Adversarial: how small pixel changes fool the model, and how robust it is against them.
The page holds the layout; the panels are :mod:`components.attack_panel` and :mod:`components.robustness_panel`.

Pick a face (data set, uploaded photo or the Live page's snapshot), a method and a target; the budget slider
(grey levels) shows original, perturbation, adversarial face and the probabilities before and after. Below, the
model's robustness curves and, when it exists, the adversarially fine-tuned ("hardened") model beside it.
"""

from __future__ import annotations

import streamlit as st
from components.attack_panel import attack_panel
from components.data_picker import data_picker
from components.model import get_classifier, model_path
from components.page import page_header
from components.robustness_panel import robustness_panel

page_header(
    "Adversarial", ":material/gpp_maybe:",
    "Small, deliberate pixel changes that fool the model: pick a face, a method and a target, and move the budget. "
    "Below, how accuracy falls as the budget grows.",
)

classifier = get_classifier(backend="keras")  # attacks need the Keras model's gradients
loaded = data_picker("adversarial_data")  # its widget keys start with adversarial_data_
model_file = model_path()
robustness_dir = model_file.parent / "robustness"
hardened_dir = model_file.parent / "hardened"

if classifier is None:
    st.info("The attacks need the model; the robustness files below are still shown when they exist.",
            icon=":material/info:")
    shown_budget = None
else:
    shown_budget = attack_panel(classifier, loaded, model_file, hardened_dir)
robustness_panel(classifier, shown_budget, loaded, model_file, robustness_dir, hardened_dir)
