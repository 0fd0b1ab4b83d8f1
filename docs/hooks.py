"""MkDocs hooks: pages and figures that live outside docs/ join the site from where they are, never as copies.

- ``experiments.md`` is ``models/experiments.md`` (the experiments log stays beside the models it made);
- ``security.md`` is the repository's ``SECURITY.md``;
- every PNG under ``models/`` (learning curves, confusion matrix, robustness curves) keeps its path;
- ``reference/*.md``, the library reference, lists every module of ``core/`` as it is now, for mkdocstrings.
"""

from __future__ import annotations

from pathlib import Path

from mkdocs.structure.files import File, Files

PAGES = {"experiments.md": "models/experiments.md", "security.md": "SECURITY.md"}
REFERENCE = {  # page -> (package, what it holds)
    "core": ("core", "The ground floor: the emotion label sets, FER-2013 in every layout, the caches, the data "
                     "folders a typed path may reach, and the quiet console."),
    "vision": ("core.vision", "From an image to 48x48 faces: decoding, detection, alignment, cropping, tracking."),
    "model": ("core.model", "The network, its training, the one predict path, LiteRT, calibration, saliency, export."),
    "analysis": ("core.analysis", "Live frames, video files and batches: faces tracked as people, drawn and written."),
    "adversarial": ("core.adversarial", "Attacks, the Happy-to-Sad search, robustness curves and hardening."),
    "evaluation": ("core.evaluation", "Metrics, plots and the one schema of report.json."),
}


def reference_page(root: Path, package: str, text: str) -> str:
    folder = root.joinpath(*package.split("."))
    modules = sorted(path.stem for path in folder.glob("*.py") if path.stem != "__init__")
    lines = [f"# `{package}`", "", text, ""]
    lines += [f"::: {package}.{module}\n" for module in modules]
    return "\n".join(lines)


def on_files(files: Files, config) -> Files:
    root = Path(config.config_file_path).parent
    for uri, source in PAGES.items():
        files.append(File.generated(config, uri, abs_src_path=str(root / source)))
    for figure in sorted((root / "models").rglob("*.png")):
        files.append(File.generated(config, figure.relative_to(root).as_posix(), abs_src_path=str(figure)))
    for name, (package, text) in REFERENCE.items():
        files.append(File.generated(config, f"reference/{name}.md", content=reference_page(root, package, text)))
    return files
