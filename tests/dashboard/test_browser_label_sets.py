"""In a real browser (headless Chromium against `streamlit run dashboard/Home.py`): the sidebar's model picker keeps
its choice from page to page, and the Dataset explorer shows the FER+ votes and the faces whose labels disagree.

Pages are changed with the sidebar's links, as a user does: a new address would start a new session.
"""

from __future__ import annotations

import re

import pytest
from dash_support import FER_CSV, PAGES, screenshot, wait_until_idle

from core.ferplus import find_votes_file

pytestmark = pytest.mark.browser


def open_app_page(tab, server: str, page_file: str) -> None:
    url_path, title, _ = PAGES[page_file]
    tab.goto(f"{server}/{url_path}")
    wait_until_idle(tab, title)
    assert tab.locator('[data-testid="stException"]').count() == 0


def chosen(tab, key: str) -> str:
    """What the selectbox with this key shows."""
    return tab.locator(f".st-key-{key} input[role='combobox']").input_value()


def open_options(tab, key: str) -> None:
    """Open the selectbox's list; again if it closed at once (its popover closes when the page scrolls under it,
    as while charts further down still load)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for _ in range(5):
        tab.locator(f".st-key-{key} button[aria-label='Open']").click()
        try:
            tab.get_by_role("listbox").wait_for(timeout=3000)
            return
        except PlaywrightTimeout:
            tab.wait_for_timeout(1000)
    raise AssertionError(f"the list of {key} did not stay open")


def choose(tab, key: str, option: str | re.Pattern) -> None:
    """Pick an option of the selectbox with this key."""
    open_options(tab, key)
    tab.get_by_role("option", name=option).click()


def go_to(tab, page_file: str) -> None:
    """Follow the sidebar's link to a page (the same session)."""
    _, title, _ = PAGES[page_file]
    link = "Home" if page_file == "Home.py" else title  # Streamlit names the main script's link after its file
    tab.locator('[data-testid="stSidebarNavLink"]').get_by_text(link, exact=True).click()
    wait_until_idle(tab, title)
    assert tab.locator('[data-testid="stException"]').count() == 0


def test_model_picker_keeps_its_choice_from_page_to_page(page, server):
    open_app_page(page, server, "pages/2_Photo.py")
    assert chosen(page, "model_picker") == "ferplus"  # the default shipped model
    open_options(page, "model_picker")
    offered = [option.inner_text() for option in page.get_by_role("option").all()]
    assert offered[:2] == ["ferplus", "fer2013"]
    page.get_by_role("option", name="fer2013").click()
    wait_until_idle(page, "Photo")
    assert page.locator('[data-testid="stFileUploaderDropzoneInput"]').count() == 1
    screenshot(page, "model_picker", docs=False)

    go_to(page, "pages/4_Evaluation.py")
    assert chosen(page, "model_picker") == "fer2013"  # the choice followed
    assert page.get_by_role("heading", name="Confusion matrix").is_visible()
    choose(page, "model_picker", "ferplus")
    wait_until_idle(page, "Evaluation")
    assert page.get_by_role("heading", name="Confusion matrix").is_visible()

    go_to(page, "Home.py")
    assert chosen(page, "model_picker") == "ferplus"
    assert page.get_by_text("Model loaded and ready").is_visible()


def test_dataset_explorer_shows_the_votes_and_the_faces_where_the_labels_disagree(page, server):
    if not FER_CSV.is_file() or find_votes_file(FER_CSV) is None:
        pytest.skip("the server's data set has no FER+ votes beside it")
    open_app_page(page, server, "pages/3_Dataset_explorer.py")
    assert page.get_by_text(re.compile(r"FER\+ votes: .?fer2013new")).first.is_visible()
    assert page.get_by_text(re.compile(r"FER-2013's label equals their majority on \d+\.\d%")).is_visible()

    choose(page, "explorer_agreement", "FER-2013 label ≠ FER+ majority")
    wait_until_idle(page, "Dataset explorer")
    grid = page.locator('[data-testid="stImageCaption"]').filter(has_text=re.compile(r"^#\d+ \w+ · FER\+ \w+$"))
    assert grid.count() == 32
    for text in grid.all_inner_texts():
        label, majority = re.fullmatch(r"#\d+ (\w+) · FER\+ (\w+)", text).groups()
        assert label != majority

    votes = page.locator(".st-key-explorer_votes")
    votes.get_by_text("(they disagree)").wait_for(timeout=60_000)
    assert votes.locator('[data-testid="stPlotlyChart"]').count() == 1
    assert votes.get_by_text("not a face").count() >= 1  # the tenth column's bar, on the chart's axis
    assert page.locator('[data-testid="stException"]').count() == 0
    screenshot(page, "dataset_explorer_votes", docs=False)  # FER-2013 faces: test-artifacts/ only
