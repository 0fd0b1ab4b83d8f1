"""What a new user reads before typing anything: where a data set may live, how to give one, and, when a typed
path is refused, a sentence that says what to do and shows no folder of the server. And the model card's words
on its members' figures."""

from __future__ import annotations

from dash_support import no_exception, texts

from core.data_roots import REFUSAL
from core.evaluation.report import REPORT_FILE, read_report
from core.model.registry import SHIPPED_MODELS

ALLOWED = ("~/fer-data", "FER2013_PATH", "FER_DATA_ROOTS")


def test_home_says_where_data_may_live_and_how_to_start_with_it(open_page, no_data, monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    app = open_page()
    no_exception(app)
    assert [block.value for block in app.code] == [
        "export FER2013_PATH=~/fer-data/fer2013.csv.gz\nstreamlit run dashboard/Home.py"]
    help_text = texts(app.caption)
    assert all(name in help_text for name in ALLOWED)
    assert "To allow another folder, start the app with `FER_DATA_ROOTS`" in help_text
    assert str(tmp_path) not in help_text  # the rule, not the server's folders


def test_the_sidebar_says_which_folders_are_allowed_before_anything_is_typed(open_page, no_data):
    app = open_page("pages/3_Dataset_explorer.py")
    no_exception(app)
    sidebar = texts(app.sidebar.caption)
    assert all(name in sidebar for name in ALLOWED)
    assert all(name in app.sidebar.text_input(key="explorer_path").help for name in ALLOWED)


def test_a_refused_path_gets_a_sentence_that_says_what_to_do(open_page, no_data, monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    outside = tmp_path / "elsewhere" / "fer2013.csv.gz"
    outside.parent.mkdir()
    outside.write_bytes(b"")
    app = open_page("pages/3_Dataset_explorer.py")
    app.sidebar.text_input(key="explorer_path").set_value(str(outside)).run()
    no_exception(app)
    error = texts(app.sidebar.error)
    assert error == f"**Could not read the data set.** {REFUSAL}"
    assert str(tmp_path) not in error


def test_the_model_card_gives_each_member_at_its_own_blur(open_page, no_data, monkeypatch):
    monkeypatch.setenv("FER_MODEL_PATH", "fer2013")  # the shipped ensemble
    members = read_report(SHIPPED_MODELS["fer2013"].path.with_name(REPORT_FILE)).config["ensemble"]
    card = texts(open_page().caption)
    assert "each alone at its own input blur" in card and "as its training measured it" not in card
    for member in members:
        smoothing = member["input_smoothing"]
        alone = next(row["accuracy"] for row in smoothing["grid"] if row["sigma"] == smoothing["sigma"])
        assert f"{alone:.2%}" in card


def test_no_page_script_has_a_bare_string_that_streamlit_would_draw():
    """Streamlit's magic writes any bare expression of a page script on the page: an attribute "docstring" there
    shows up as text above the title."""
    import ast
    from pathlib import Path

    dashboard = Path(__file__).resolve().parents[2] / "dashboard"
    found = []
    def bare_strings(statements, first_is_docstring=False):
        for index, statement in enumerate(statements):
            if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                continue  # magic leaves functions alone
            if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant):
                if not (first_is_docstring and index == 0):
                    yield statement.lineno
            for field in ("body", "orelse", "finalbody", "handlers"):
                yield from bare_strings(getattr(statement, field, []) or [])

    for script in [dashboard / "Home.py", *sorted((dashboard / "pages").glob("*.py"))]:
        body = ast.parse(script.read_text()).body
        found += [f"{script.name}:{line}" for line in bare_strings(body, first_is_docstring=True)]
    assert found == []
