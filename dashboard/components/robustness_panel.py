"""The Adversarial page's robustness panel: accuracy-vs-budget curves and the hardened model beside the standard one.
Owns robustness_panel (curves on disk or computed here) and harden_comparison (harden_report.json as metrics).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from components.data_picker import LoadedData
from components.model import display_path, mtime_ns
from components.text import escape_markdown
from core.adversarial.attacks import DEFAULT_MAX_GREY
from core.adversarial.harden import HARDEN_REPORT
from core.adversarial.robustness import ROBUSTNESS_CSV, ROBUSTNESS_PNG, robustness_curve, subset
from core.data import DATA_ENV_VAR, DataFormatError, FerDataset, file_sha256, require_labels
from core.model.classifier import EmotionClassifier

CURVE_STATE = "adversarial_curve"


@st.cache_data(max_entries=4, show_spinner=False)
def read_curve(path: str, mtime: int) -> tuple[pd.DataFrame | None, str | None]:
    try:
        curve = pd.read_csv(path)
    except FileNotFoundError:
        return None, None
    except (OSError, ValueError) as error:
        return None, f"{path} is not a readable CSV: {error}"
    missing = {"method", "grey_levels", "accuracy"} - set(curve.columns)
    if missing:
        return None, f"{path} lacks the column(s) {', '.join(sorted(missing))}"
    return curve, None


@st.cache_data(max_entries=4, show_spinner=False)
def read_harden_report(path: str, mtime: int) -> tuple[dict | None, str | None]:
    try:
        report = json.loads(Path(path).read_text())
    except FileNotFoundError:
        return None, None
    except (OSError, ValueError) as error:
        return None, f"{path} is not readable JSON: {error}"
    if not all(isinstance(report.get(name), dict) and "clean_accuracy" in report[name]
               for name in ("standard", "hardened")):
        return None, f"{path} lacks the standard/hardened clean_accuracy entries"
    return report, None


def curve_figure(curve: pd.DataFrame, budget: int | None) -> go.Figure:
    figure = go.Figure()
    for method, part in curve.groupby("method", sort=False):
        steps = int(part["steps"].iloc[0]) if "steps" in part else None
        name = "FGSM" if method == "fgsm" else (f"PGD-{steps}" if steps else str(method).upper())
        figure.add_trace(go.Scatter(
            x=part["grey_levels"], y=part["accuracy"], mode="lines+markers", name=name,
            hovertemplate=f"{name}, %{{x}} grey levels: %{{y:.1%}}<extra></extra>",
        ))
    if budget is not None:
        figure.add_vline(x=budget, line_dash="dash", line_color="#888",
                         annotation_text=f"slider: {budget}/255", annotation_position="top right")
    figure.update_layout(
        height=340, margin=dict(l=10, r=10, t=20, b=10),
        legend=dict(x=0.98, xanchor="right", y=0.9, yanchor="top", bgcolor="rgba(255,255,255,0.7)"),
        xaxis=dict(title="L-inf budget (grey levels out of 255)", dtick=2, rangemode="tozero"),
        yaxis=dict(title="accuracy", range=[0, 1], tickformat=".0%"),
    )
    return figure


def describe_curve(curve: pd.DataFrame) -> str:
    faces = f"{int(curve['faces'].iloc[0]):,} " if "faces" in curve else ""
    split = f"{curve['split'].iloc[0]} " if "split" in curve else ""
    return f"{faces}{split}faces, untargeted attacks, 8-bit adversarial faces"


def compute_curve(
    standard: EmotionClassifier | None, budget: int | None, loaded: LoadedData | None, model_file: Path
) -> None:
    """A small curve computed here, on the data set chosen in the sidebar, kept for this session."""
    if standard is None:
        return
    if loaded is None:
        st.caption(f"With a data set (`{DATA_ENV_VAR}` or the sidebar), a small curve can be computed here.")
        return
    try:
        require_labels(loaded.dataset, "compute a robustness curve")
    except DataFormatError as error:
        st.caption(escape_markdown(str(error)))
        return
    data = loaded.dataset.evaluation_split()
    keep = data.labels >= 0
    data = FerDataset(data.images[keep], data.labels[keep], data.usage[keep], data.source)
    if not len(data):
        st.caption("The chosen data set has no labelled faces to compute a curve on.")
        return
    size_column, grey_column = st.columns(2)
    faces = size_column.number_input("Faces", min(10, len(data)), min(2000, len(data)), min(100, len(data)),
                                     step=10, key="adversarial_curve_faces")
    max_grey = grey_column.number_input("Largest budget (grey levels)", 1, DEFAULT_MAX_GREY, 8,
                                        key="adversarial_curve_grey")
    split = str(data.usage[0]) if len(set(data.usage)) == 1 else "labelled"
    if st.button(f"Compute a curve on {faces} {split} faces", key="adversarial_curve_run", type="primary"):
        chosen = subset(data, int(faces), seed=0)
        total = 2 * (int(max_grey) + 1)  # FGSM and PGD, each budget 0..max_grey
        bar = st.progress(0.0, text="Attacking…")
        done = [0]

        def progress(message: str) -> None:
            done[0] += 1
            bar.progress(min(done[0] / total, 1.0), text=message)

        curve = robustness_curve(standard, chosen, int(max_grey), progress=progress)
        curve.insert(0, "split", split)
        bar.empty()
        st.session_state[CURVE_STATE] = {"model": f"{model_file}:{mtime_ns(model_file)}", "curve": curve}
    computed = st.session_state.get(CURVE_STATE)
    if computed is not None and computed["model"] == f"{model_file}:{mtime_ns(model_file)}":
        curve = computed["curve"]
        st.plotly_chart(curve_figure(curve, budget), key="adversarial_computed_curve")
        st.caption(f"Computed here: {describe_curve(curve)} (FGSM and PGD-10).")
        st.download_button("Download this curve (CSV)", curve.to_csv(index=False), file_name=ROBUSTNESS_CSV,
                           mime="text/csv", on_click="ignore", key="adversarial_curve_download")


def robustness_panel(
    standard: EmotionClassifier | None,
    budget: int | None,
    loaded: LoadedData | None,
    model_file: Path,
    robustness_dir: Path,
    hardened_dir: Path,
) -> None:
    """Curves next to the model (or computed here on ``loaded``) and the hardened model's report, side by side."""
    st.divider()
    curve_column, harden_column = st.columns([3, 2], gap="large")
    with curve_column:
        st.subheader(":material/show_chart: Robustness curves")
        csv_path, png_path = robustness_dir / ROBUSTNESS_CSV, robustness_dir / ROBUSTNESS_PNG
        curve, error = read_curve(str(csv_path), mtime_ns(csv_path))
        if error:
            st.warning(error, icon=":material/warning:")
        if curve is not None:
            st.plotly_chart(curve_figure(curve, budget), key="adversarial_curve_chart")
            st.caption(f"`{display_path(csv_path)}`: {describe_curve(curve)}.")
        if png_path.is_file():
            with st.expander("Static figure (robustness.png)", expanded=curve is None):
                st.image(str(png_path), width="stretch")
        found = curve is not None or png_path.is_file()
        if not found:
            st.info(
                f"No robustness curve next to the model (looked for `{display_path(csv_path)}`). "
                "Produce it with\n\n```bash\npython train_cli.py robustness --data /path/to/fer2013.csv \\\n"
                f"    --model {display_path(model_file)} \\\n"
                f"    --out {display_path(robustness_dir)}\n```\n"
                "(`--limit 500` for a quicker one), or compute a small one below.", icon=":material/info:")
        with st.expander("Compute a small curve here", expanded=not found):
            compute_curve(standard, budget, loaded, model_file)
    with harden_column:
        st.subheader(":material/shield: Hardened model")
        report_path = hardened_dir / HARDEN_REPORT
        report, error = read_harden_report(str(report_path), mtime_ns(report_path))
        if error:
            st.warning(error, icon=":material/warning:")
        if report is None:
            st.info(
                f"No hardened model yet (looked for `{display_path(report_path)}`). Adversarial fine-tuning "
                "writes it:\n\n```bash\npython train_cli.py harden --data /path/to/fer2013.csv \\\n"
                f"    --model {display_path(model_file)} \\\n"
                f"    --out {display_path(hardened_dir)}\n```",
                icon=":material/info:")
            return
        harden_comparison(report, report_path)
        source_note(report, model_file)


@st.cache_data(max_entries=4, show_spinner=False)
def model_sha256(path: str, mtime: int) -> str | None:
    return file_sha256(path) if Path(path).is_file() else None


def source_note(report: dict, model_file: Path) -> None:
    """Whether the hardened model was made from the model loaded now: the report's ``source_model`` against its file."""
    source = report.get("source_model")
    if not isinstance(source, dict) or not source.get("sha256"):
        st.caption("The report does not name the model it hardened: its standard figures may be another model's "
                   "than the one loaded.")
        return
    name = Path(str(source.get("file"))).name
    if source["sha256"] == model_sha256(str(model_file), mtime_ns(model_file)):
        st.caption(f"Hardened from the model loaded now (`{name}`).")
    else:
        st.warning(f"Hardened from another model than the one loaded (`{name}`, "
                   f"SHA-256 {str(source['sha256'])[:12]}…): the standard figures are that model's.",
                   icon=":material/info:")


def harden_comparison(report: dict, path: Path) -> None:
    standard, hardened = report["standard"], report["hardened"]
    keys = sorted(set(standard.get("robust_accuracy", {})) & set(hardened.get("robust_accuracy", {})),
                  key=lambda name: int(name.rsplit("_", 1)[-1]) if name.rsplit("_", 1)[-1].isdigit() else 0)
    rows = [("Clean", standard["clean_accuracy"], hardened["clean_accuracy"])]
    for key in keys:
        method, _, grey = key.partition("_")
        rows.append((f"{method.upper()} {grey}/255", standard["robust_accuracy"][key],
                     hardened["robust_accuracy"][key]))
    st.caption("The hardened model's accuracy, and its change from the standard model's:")
    columns = st.columns(len(rows))
    for column, (name, before, after) in zip(columns, rows, strict=True):
        column.metric(name, f"{after:.1%}", delta=f"{(after - before) * 100:+.1f} pts",
                      help=f"hardened {after:.1%}, standard {before:.1%}")
    figure = go.Figure([
        go.Bar(name="standard", x=[row[0] for row in rows], y=[row[1] for row in rows], marker_color="#a0a4ab",
               text=[f"{row[1]:.1%}" for row in rows], textposition="outside"),
        go.Bar(name="hardened", x=[row[0] for row in rows], y=[row[2] for row in rows], marker_color="#2e86ab",
               text=[f"{row[2]:.1%}" for row in rows], textposition="outside"),
    ])
    figure.update_layout(barmode="group", height=300, margin=dict(l=10, r=10, t=30, b=10),
                         yaxis=dict(title="accuracy", range=[0, 1.1], tickformat=".0%"),
                         legend=dict(orientation="h", y=1.15, x=0))
    st.plotly_chart(figure, key="adversarial_harden_chart", config={"displayModeBar": False})
    training = report.get("training", {})
    faces = report.get("eval_faces")
    st.caption(
        f"`{display_path(path)}`: {faces:,} {report.get('evaluated_on', 'PublicTest')} faces; "
        f"{report.get('evaluation', '')}. Fine-tuned {training.get('epochs', '?')} epochs on "
        f"{training.get('faces', 0):,} Training faces with {str(training.get('method', '?')).upper()} up to "
        f"{training.get('max_grey', '?')}/255."
        if isinstance(faces, int) else f"`{display_path(path)}`"
    )
