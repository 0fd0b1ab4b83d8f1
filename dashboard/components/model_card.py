"""The model card: what model the app runs, how well it does and how it was trained, from its report.json.
Owns model_card (a TrainingReport, or why there is none, as a bordered panel).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import streamlit as st

from components.model import describe_choice, display_path, model_choice, model_path
from core.evaluation.report import TrainingReport
from core.labels import SPLITS


def _format_when(stamp: str | None) -> str:
    if not stamp:
        return "an unknown date"
    try:
        return datetime.fromisoformat(stamp.replace("+0000", "+00:00")).strftime("%Y-%m-%d %H:%M UTC")
    except ValueError:
        return stamp


def _format_duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {secs:02d} s"


def _epochs(member: dict) -> str:
    """An ensemble member's training length (" after N epochs") when its record came with it, else nothing."""
    epochs = (member.get("training") or {}).get("epochs_run")
    return f" after {epochs} epochs" if epochs else ""


def _accuracy_at_own_blur(member: dict) -> float | None:
    """An ensemble member's accuracy alone at the input blur chosen for it, from the grid `ensemble` measured;
    None when the report has no such grid (every member is then described as it was given)."""
    smoothing = member.get("input_smoothing") or {}
    rows = [row for row in smoothing.get("grid", []) if row.get("sigma") == smoothing.get("sigma")]
    return rows[0].get("accuracy") if rows else None


def second_accuracy_label(report: TrainingReport) -> str:
    """What ``accuracy_without_tta`` measures: the served model without its flips, or (for a model served
    without them) the float32 Keras model before LiteRT conversion."""
    return "Accuracy without TTA" if report.flip_tta else "Float32 model, no TTA"


def label_set_figures(report: TrainingReport) -> None:
    """The emotions the model predicts, and its figures on both label sets: FER-2013's labels and the FER+ majority
    of ten annotators (when its training data had the votes)."""
    st.caption(f"Predicts {len(report.emotions)} emotions: " + ", ".join(report.emotions) + ".")
    if report.ferplus is None and report.fer2013_accuracy is None:
        return
    columns = st.columns(2)
    if report.fer2013_accuracy is not None:
        columns[0].metric("PublicTest, FER-2013 labels", f"{report.fer2013_accuracy:.1%}",
                          help="Accuracy on FER-2013's own label of each face, as the model is served.")
    if report.ferplus:
        figures = report.ferplus
        columns[1].metric(
            "PublicTest, FER+ majority", f"{figures['accuracy']:.1%}",
            help=f"Accuracy against the majority of ten FER+ annotators (FER+'s official protocol, "
                 f"{figures['faces']:,} faces). Cross-entropy to their votes {figures['cross_entropy']:.3f} nats "
                 f"(their own entropy {figures['annotator_entropy']:.3f}).",
        )


def model_card(report: TrainingReport | None, error: str | None = None) -> None:
    """Parameters, PublicTest accuracy and how the model in use was trained, from its report."""
    path = model_path()
    with st.container(border=True):
        st.subheader(":material/memory: Model card")
        st.caption(f"**{describe_choice(model_choice())}** · `{display_path(path)}`")
        if report is None:
            st.warning(f"No training report to show: {error}")
            return
        config = report.config
        columns = st.columns(2) + st.columns(2)
        split = report.evaluated_on
        tta = " (flip TTA)" if report.flip_tta else " (no TTA)"
        # A newer run names the faces it selected on ("3,199 PublicTest faces' FER+ majority"): too long for a label.
        whole_split = split in SPLITS
        columns[0].metric(f"{split if whole_split else 'Selection'} accuracy{tta}", f"{report.accuracy:.1%}",
                          help=f"Accuracy on {split}, where training chose its epoch.")
        if report.accuracy_without_tta is not None:
            columns[1].metric(second_accuracy_label(report), f"{report.accuracy_without_tta:.1%}")
        columns[2].metric("Parameters", f"{report.parameters:,}")
        members = config.get("ensemble")
        if members:
            columns[3].metric("Ensemble members", len(members))
        else:
            epochs = report.epochs_run if report.epochs_run is not None else len(report.history.get("epoch", []))
            best = f" (best {report.best_epoch})" if report.best_epoch is not None else ""
            columns[3].metric("Epochs", f"{epochs}{best}")
        label_set_figures(report)
        trained_on = report.split_sizes.get(report.training_split)
        data = Path(report.data_file or "").name or "FER-2013"
        sha = report.data_sha256 or ""
        when = _format_when(report.finished)
        took = f" in {_format_duration(report.training_seconds)}" if report.training_seconds is not None else ""
        text = (f"Assembled **{when}** from networks trained on `{data}`" if members
                else f"Trained **{when}**{took} on `{data}`")
        if sha:
            text += f" (sha256 `{sha[:12]}…`)"
        if isinstance(trained_on, int):
            text += f": {trained_on:,} training faces"
        text += "; accuracy measured on " + (f"{report.samples:,} {split} faces" if whole_split else split)
        st.markdown(text + ".")
        exported = report.exported_epoch
        if exported and exported != report.best_epoch:
            st.caption(
                f"The model is the last epoch ({exported}, `--export last`), where the learning-rate schedule "
                f"ends; epoch {report.best_epoch} had the best PublicTest accuracy without TTA."
            )
        if report.accuracy_lite is not None:
            flips = report.serves_flip_tta
            served = ("with flip TTA (each face averaged with its mirror image)" if flips
                      else "without flip TTA (each face once), as its calibration was fitted")
            float32 = report.accuracy if flips == report.flip_tta else report.accuracy_without_tta
            versus = (f", against {float32:.2%} for the float32 model"
                      if float32 is not None and report.accuracy_lite != float32 else "")
            st.caption(
                f"This app runs the model converted to LiteRT with int8 weights, {served}: "
                f"{report.accuracy_lite:.2%} on {split}{versus}."
            )
        correction = config.get("prior_correction")
        if correction:
            rare_below = correction.get("rare_below", 1.0)
            shares = sorted(correction["prior"].items(), key=lambda item: -item[1])
            prior = ", ".join(f"{name} {share:.1%}" for name, share in shares if share < rare_below)
            command = f"`rebalance --strength {correction['strength']:g} --rare-below {rare_below:g}`"
            st.caption(
                f"Rebalanced ({command}): its probabilities are divided by how often people name each emotion on "
                f"Training ({prior}), to that power, so it leans less towards the commonest." if rare_below == 1 else
                f"Rebalanced ({command}): the emotions people name on fewer than {rare_below:.0%} of Training's "
                f"faces ({prior}) are lifted towards that share, so a clear but rare expression is not answered with "
                "a common one; the others keep their order."
            )
        widths = report.smoothing_widths
        if any(widths):
            fitted_on = config["input_smoothing"].get("fitted_on", split)
            criterion = config["input_smoothing"].get("criterion", "log-loss").split(",")[0]
            blur = (f"the model blurs each face with a 3x3 Gaussian (sigma {widths[0]:g} px) before its network"
                    if len(set(widths)) == 1 else "each network first blurs the face with a 3x3 Gaussian of its own "
                    "width (sigma " + ", ".join(f"{sigma:g}" for sigma in widths) + " px, in member order)")
            st.caption(
                f"Input smoothing: {blur}, because training only ever showed the network resampled, slightly "
                f"blurred faces. The width was chosen on {fitted_on} by {criterion}."
            )
        if members:
            alone = [_accuracy_at_own_blur(m) for m in members]
            if all(accuracy is not None for accuracy in alone):
                how = (f"each alone at its own input blur (float32, {'with' if report.flip_tta else 'without'} "
                       "flip TTA, as the blur was fitted)")
            else:
                alone = [m["accuracy_lite"] for m in members]
                how = ("each alone as given to `ensemble` (LiteRT, with flip TTA; with the input blur of a network "
                       "given with one, without a blur otherwise)")
            st.caption(
                f"An ensemble: the mean of {len(members)} models' probabilities. On {split}, {how}: "
                + "; ".join(f"`{Path(m['file']).name}` {accuracy:.2%}{_epochs(m)}"
                            for m, accuracy in zip(members, alone, strict=True))
                + f"; together {report.accuracy:.2%}."
            )
        elif config:
            augment = ", ".join(
                f"{name} {config[name]}" for name in ("flip", "shift", "rotation_degrees", "zoom") if name in config
            )
            if augment and config.get("single_warp"):
                augment += " (rotation, shift and zoom in one resampling)"
            st.caption(
                f"CNN filters {config.get('filters', '?')}, batch {config.get('batch_size', '?')}, "
                f"learning rate {config.get('learning_rate', '?')} (warm-up {config.get('warmup_epochs', 0)} epochs), "
                f"label smoothing {config.get('label_smoothing', 0)}, early-stopping patience "
                f"{config.get('patience', '?')}, mixed precision {config.get('mixed_precision', False)}; "
                f"augmentation: {augment or 'none'}."
            )
            with st.expander("Full training configuration"):
                st.json(config, expanded=True)
