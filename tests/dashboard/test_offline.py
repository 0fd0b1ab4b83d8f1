"""Nothing the app serves reaches outside the machine: every page loads in headless Chromium with the network cut
(every request beyond loopback is refused, and recorded), and none is attempted. The server, a new user's (no
data set), prints no library start-up line meanwhile; and its Home page, at 1400 px, cuts off no command.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import pytest
from dash_support import PAGES, wait_until_idle

from bench.browser import streamlit_server
from core.quiet import VERBOSE_ENV_VAR

pytestmark = pytest.mark.browser

LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


def is_local(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("data", "blob", "about") or parts.hostname in LOOPBACK


NOISE = ("absl::InitializeLog", "oneDNN", "cuda", "cuInit", "XNNPACK", "TensorFlow binary is optimized")


@pytest.fixture(scope="module")
def bare_server(chromium_path, tmp_path_factory):
    """``streamlit run dashboard/Home.py`` as a new user starts it: no FER2013_PATH, nothing in ~/fer-data."""
    env = {key: value for key, value in os.environ.items()
           if key not in ("FER2013_PATH", "FER_DATA_ROOTS", "FER_ICE_SERVERS", VERBOSE_ENV_VAR, "TF_CPP_MIN_LOG_LEVEL")}
    env["HOME"] = str(tmp_path_factory.mktemp("home"))
    log = tmp_path_factory.mktemp("bare_server") / "streamlit.log"
    with streamlit_server(env, log) as running:
        yield running.url.rstrip("/"), log


@pytest.fixture
def offline_page(browser, bare_server):
    """A tab whose requests beyond loopback are aborted, as on a machine without a network, and listed."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    outside: list[str] = []

    def cut(route):
        if is_local(route.request.url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort("internetdisconnected")

    context.route("**/*", cut)
    tab = context.new_page()
    tab.set_default_timeout(30_000)
    tab.on("websocket", lambda socket: None if is_local(socket.url) else outside.append(socket.url))
    tab.on("requestfailed", lambda request: None if is_local(request.url) else outside.append(request.url))
    yield tab, outside
    context.close()


def test_every_page_loads_offline_without_reaching_outside_or_printing_library_lines(offline_page, bare_server):
    tab, outside = offline_page
    server, log = bare_server
    for page_file, (url_path, title, _) in PAGES.items():
        tab.goto(f"{server}/{url_path}")
        wait_until_idle(tab, title)
        assert tab.locator('[data-testid="stException"]').count() == 0, page_file
        icons = tab.eval_on_selector_all("link[rel~='icon']", "links => links.map(link => link.href)")
        assert icons and all(is_local(icon) for icon in icons), (page_file, icons)  # favicons bypass routing
    assert outside == []
    printed = [line for line in log.read_text(errors="replace").splitlines() if any(word in line for word in NOISE)]
    assert printed == []


def test_home_command_boxes_are_not_cut_off_at_1400_px(offline_page, bare_server):
    tab, _ = offline_page
    tab.goto(f"{bare_server[0]}/")
    wait_until_idle(tab, PAGES["Home.py"][1])
    boxes = tab.locator('[data-testid="stCode"]')
    boxes.first.wait_for(timeout=60_000)  # without a data set, Home shows how to start the app with one
    assert "export FER2013_PATH=~/fer-data/fer2013.csv.gz" in boxes.first.inner_text()
    for box in boxes.all():
        clipped = box.evaluate(
            "el => [el, ...el.querySelectorAll('*')].some(e => e.scrollWidth > e.clientWidth + 1"
            " && ['auto', 'scroll', 'hidden', 'clip'].includes(getComputedStyle(e).overflowX))"
        )
        assert not clipped, box.inner_text()
