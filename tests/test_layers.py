"""The house rules, read from the source: dependencies run down only, no Streamlit below dashboard/ and no FastAPI
below service/, short files, and every module says what it owns in the first two lines of its docstring."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FLOORS = {
    "core.labels": 0, "core.cache": 0, "core.data": 0, "core.fer_csv": 0, "core.data_roots": 0, "core.vision": 0,
    "core.quiet": 0, "core.access": 0, "core.ferplus": 0,
    "core.model": 1,
    "core.analysis": 2, "core.adversarial": 2, "core.evaluation": 2,
    "train_cli": 3, "dashboard": 3, "components": 3, "bench": 3, "service": 3,
}
"""Lower numbers are lower floors; a module may import its own floor and the ones below. ``components`` is
dashboard/components as the pages import it (Streamlit puts dashboard/ on sys.path)."""
MAX_LINES = 350
WEB_FRAMEWORKS = ("fastapi", "starlette", "uvicorn")


def project_files() -> list[Path]:
    return sorted([*REPO.glob("core/**/*.py"), *REPO.glob("dashboard/**/*.py"), *REPO.glob("bench/**/*.py"),
                   *REPO.glob("service/**/*.py"), REPO / "train_cli.py"])


def module_name(path: Path) -> str:
    """The dotted name a file is imported as (dashboard/components/x.py is ``components.x``)."""
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    if parts[:2] == ["dashboard", "components"]:
        parts.pop(0)
    return ".".join(parts)


def floor(module: str) -> int | None:
    """The floor of a project module; None for the bare ``core`` package and anything outside the project."""
    for prefix, number in sorted(FLOORS.items(), key=lambda item: -len(item[0])):
        if module == prefix or module.startswith(prefix + "."):
            return number
    if module.startswith("core."):
        raise AssertionError(f"{module} is on no floor: add its package to FLOORS")
    return None


def imports(source: str) -> list[tuple[int, str]]:
    """(line, module) of every absolute import, top-level or inside a function."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
            if node.module == "core":  # from core import vision
                found += [(node.lineno, f"core.{alias.name}") for alias in node.names]
    return found


def upward_imports(module: str, source: str) -> list[str]:
    own = floor(module)
    problems = []
    for line, imported in imports(source):
        target = floor(imported)
        if own is not None and target is not None and target > own:
            problems.append(f"{module}:{line} imports {imported} (floor {target} above {own})")
        if module.startswith("core") and imported.split(".")[0] == "streamlit":
            problems.append(f"{module}:{line} imports {imported}: no Streamlit below dashboard/")
        if module.startswith("core") and imported.split(".")[0] in WEB_FRAMEWORKS:
            problems.append(f"{module}:{line} imports {imported}: no FastAPI below service/")
    return problems


def test_dependencies_only_run_down_and_core_has_no_streamlit_or_fastapi():
    problems = []
    for path in project_files():
        problems += upward_imports(module_name(path), path.read_text())
    assert not problems, "\n".join(problems)


def test_only_the_batch_module_imports_ray():
    """A user without a cluster never pays for Ray: one module imports it, inside the function that needs it."""
    found = {module_name(path) for path in project_files()
             if any(name.split(".")[0] == "ray" for _, name in imports(path.read_text()))}
    assert found == {"core.analysis.batch"}
    top_level = ast.parse((REPO / "core" / "analysis" / "batch.py").read_text()).body
    names = [alias.name for node in top_level if isinstance(node, ast.Import) for alias in node.names]
    names += [node.module for node in top_level if isinstance(node, ast.ImportFrom) and node.module]
    assert not [name for name in names if name.split(".")[0] == "ray"], "import Ray where it is used, not on import"


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("core.model.training", "def train():\n    from core.evaluation.report import write_training_artifacts\n"),
        ("core.vision.crop", "from core.model.classifier import EmotionClassifier\n"),
        ("core.vision.crop", "from core import model\n"),
        ("core.evaluation.report", "import train_cli\n"),
        ("core.analysis.live", "import streamlit as st\n"),
        ("core.data", "from components.model import model_path\n"),
        ("core.access", "from fastapi import HTTPException\n"),
        ("core.analysis.jobs", "import service.app\n"),
    ],
)
def test_the_check_catches_an_upward_import(module, source):
    assert upward_imports(module, source)


def test_every_project_module_is_on_a_floor():
    for path in project_files():
        name = module_name(path)
        if name.startswith("core."):
            assert floor(name) is not None, name


@pytest.mark.parametrize("folder", ["core", "dashboard", "service"])
def test_no_file_is_longer_than_the_limit(folder):
    long = {str(path.relative_to(REPO)): count for path in (REPO / folder).rglob("*.py")
            if (count := len(path.read_text().splitlines())) > MAX_LINES}
    assert not long, f"over {MAX_LINES} lines: {long}"


@pytest.mark.parametrize("folder", ["core", "dashboard", "service"])
def test_every_module_says_what_it_owns_in_its_first_two_lines(folder):
    missing = []
    for path in sorted((REPO / folder).rglob("*.py")):
        docstring = ast.get_docstring(ast.parse(path.read_text()), clean=False) or ""
        first_two = docstring.split("\n")[:2]
        if len(first_two) < 2 or not all(line.strip() for line in first_two):
            missing.append(str(path.relative_to(REPO)))
    assert not missing, f"no two-line opening docstring: {missing}"
