"""End to end: `streamlit run dashboard/Home.py` driven by headless Chromium (Playwright, sync API).

Screenshots of every page go to test-artifacts/ (full, with data) and the documentation's copies (cut above any
FER-2013 faces so that no image of the data set lands in the repository) to test-artifacts/docs/, or to
docs/screenshots/ with ``FER_SCREENSHOTS=docs/screenshots``: a test run leaves the checkout unchanged.
"""

from __future__ import annotations

import re
import time

import cv2
import pytest
from components.live_session import CAMERA_MESSAGES
from dash_support import (
    CHROMIUM_ARGS,
    FER_CSV,
    PAGES,
    WEBRTC_IFRAME,
    paste_faces,
    screenshot,
    wait_until_idle,
    write_y4m,
)

from core.labels import FERPLUS
from core.vision.detect import FaceDetector

pytestmark = pytest.mark.browser

ANY_EMOTION = "|".join(FERPLUS.emotions)  # whichever model the app runs
EMOTION_WITH_CONFIDENCE = re.compile(rf"Current face: ({ANY_EMOTION})\?? \d{{1,3}}%")  # ? when uncertain


def open_app_page(tab, server: str, page_file: str) -> None:
    url_path, title, _ = PAGES[page_file]
    tab.goto(f"{server}/{url_path}")
    wait_until_idle(tab, title)
    assert tab.locator('[data-testid="stException"]').count() == 0
    assert tab.get_by_role("heading", name=title).first.is_visible()


def test_home_in_browser(page, server):
    open_app_page(page, server, "Home.py")
    assert page.get_by_text("Model card").first.is_visible()
    assert page.get_by_text("Model loaded and ready").is_visible()
    for label in ("Live webcam", "Photo", "Dataset explorer", "Evaluation"):
        assert page.locator('[data-testid="stPageLink"]').get_by_text(label, exact=True).count() == 1
    screenshot(page, "home")


def test_photo_in_browser(page, server, detectable_faces, tmp_path):
    open_app_page(page, server, "pages/2_Photo.py")
    screenshot(page, "photo")  # before any upload: no FER face in the documentation's copy
    picture = tmp_path / "two_faces.png"
    image = paste_faces(detectable_faces[:2], shape=(480, 960))
    assert len(FaceDetector().detect(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))) == 2
    cv2.imwrite(str(picture), image)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(picture))
    page.get_by_text("2 faces found").wait_for(timeout=120_000)
    wait_until_idle(page, "Photo")
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.get_by_text(re.compile(rf"Face 1: ({ANY_EMOTION})\?? \d+%")).count() == 1
    screenshot(page, "photo_result", docs=False)

    # The saliency toggle overlays Grad-CAM on every face.
    page.get_by_text("Show saliency (Grad-CAM) on every face").click()
    page.get_by_text(re.compile(r"Face 2: .* \(saliency\)")).wait_for(timeout=120_000)
    wait_until_idle(page, "Photo")
    assert page.locator('[data-testid="stException"]').count() == 0
    for number in (1, 2):
        overlay = page.locator(f".st-key-photo_face_card_{number} [data-testid='stImage'] img")
        assert overlay.count() == 1 and overlay.evaluate("img => img.naturalWidth") > 0
    screenshot(page, "photo_saliency", docs=False)


def test_dataset_explorer_in_browser(page, server):
    open_app_page(page, server, "pages/3_Dataset_explorer.py")
    if not FER_CSV.is_file():  # the server runs without FER2013_PATH
        assert page.get_by_text("No data set loaded").is_visible()
        screenshot(page, "dataset_explorer")
        return
    assert page.get_by_text("32,298 faces").first.is_visible()
    assert page.get_by_role("heading", name="Mean face per class").is_visible()
    screenshot(page, "dataset_explorer", clip_above="Faces")


def test_evaluation_in_browser(page, server, report):
    open_app_page(page, server, "pages/4_Evaluation.py")
    assert page.get_by_role("heading", name="Confusion matrix").is_visible()
    assert page.get_by_role("heading", name="Learning curves").is_visible()
    page.locator('[data-testid="stPlotlyChart"]').nth(1).wait_for(timeout=60_000)  # plotly loads lazily
    screenshot(page, "evaluation")

    # Clicking a cell of the confusion matrix selects it: the True/Predicted boxes follow.
    matrix = page.locator('[data-testid="stPlotlyChart"]').first.locator(".nsewdrag").first
    matrix.scroll_into_view_if_needed()  # a click lands only inside the viewport
    box = matrix.bounding_box()
    emotions = report.emotions  # the matrix is the model's, one row and column per emotion
    true_index, predicted_index = emotions.index("Sad"), emotions.index("Happy")
    page.mouse.click(box["x"] + box["width"] * (predicted_index + 0.5) / len(emotions),
                     box["y"] + box["height"] * (true_index + 0.5) / len(emotions))
    page.get_by_text(re.compile(r"of [\d,]+ Sad faces predicted Happy")).wait_for(timeout=60_000)
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.get_by_role("heading", name="Calibration").is_visible()
    assert page.get_by_text(re.compile(r"Labels below the dashed line \(\d+%\)")).is_visible()  # the shipped diagram
    if not FER_CSV.is_file():
        return

    # Recomputed on a data set: the drill-down shows the faces of the cell, and their saliency.
    page.locator(".st-key-evaluation_run button").click()
    page.get_by_text(re.compile(r"Recomputed on")).wait_for(timeout=240_000)
    wait_until_idle(page, "Evaluation")
    page.get_by_text("Show saliency (Grad-CAM for Happy)").click()
    wait_until_idle(page, "Evaluation")
    assert page.locator('[data-testid="stException"]').count() == 0
    faces = page.locator(".st-key-evaluation_cell_faces [data-testid='stImage'] img")
    faces.first.wait_for(timeout=120_000)
    assert faces.count() > 0 and faces.first.evaluate("img => img.naturalWidth") > 0
    screenshot(page, "evaluation_saliency", docs=False)  # FER-2013 faces: test-artifacts/ only

    # With FER+ votes beside the data: the figures against the annotators, and one face's two distributions.
    if page.get_by_text("FER+ votes:").count():
        assert page.get_by_role("heading", name="Against people: ten FER+ annotators per face").is_visible()
        distributions = page.locator(".st-key-evaluation_face_distributions")
        distributions.get_by_text("FER+ majority:").wait_for(timeout=60_000)
        assert distributions.locator('[data-testid="stPlotlyChart"]').count() == 1
        assert distributions.get_by_text("annotators", exact=True).count() >= 1  # the legend
        screenshot(page, "evaluation_face_vs_annotators", docs=False)


def test_live_webcam_labels_the_fake_camera_faces(page, server, fer_csv):
    open_app_page(page, server, "pages/1_Live_webcam.py")
    screenshot(page, "live_webcam")  # before Start: no FER face in the documentation's copy
    component = page.frame_locator(WEBRTC_IFRAME)
    component.get_by_role("button", name="Start").click()
    page.get_by_text(EMOTION_WITH_CONFIDENCE).first.wait_for(timeout=90_000)
    assert page.locator('[data-testid="stException"]').count() == 0
    # The annotated video plays inside the component.
    playing = component.locator("video").first.evaluate("v => v.readyState >= 2 && !v.paused && v.videoWidth > 0")
    assert playing
    fps = page.locator('[data-testid="stMetric"]').filter(has_text="Frames per second")
    assert float(fps.locator('[data-testid="stMetricValue"]').inner_text()) > 0
    screenshot(page, "live_webcam_running", docs=False)
    # The snapshot keeps the current face with its saliency map (Grad-CAM from the Keras model).
    page.get_by_role("button", name="Snapshot the current face").click()
    caption = page.get_by_text(re.compile(rf"Saliency: where ({ANY_EMOTION}) comes from"))
    caption.wait_for(timeout=180_000)
    saliency = page.locator('[data-testid="stImage"]').filter(has=caption).locator("img")
    assert saliency.first.evaluate("img => img.complete && img.naturalWidth > 0")
    assert page.locator('[data-testid="stException"]').count() == 0
    screenshot(page, "live_webcam_snapshot", docs=False)
    component.get_by_role("button", name="Stop").click()


def test_live_webcam_explains_a_denied_camera(playwright, chromium_path, server):
    # No fake-UI flag and no camera permission: getUserMedia is refused, as when a user clicks "Block".
    args = [arg for arg in CHROMIUM_ARGS if arg != "--use-fake-ui-for-media-stream"]
    chromium = playwright.chromium.launch(executable_path=str(chromium_path), headless=True, args=args)
    try:
        tab = chromium.new_context(viewport={"width": 1400, "height": 900}).new_page()
        open_app_page(tab, server, "pages/1_Live_webcam.py")
        component = tab.frame_locator(WEBRTC_IFRAME)
        problem = tab.locator('[data-testid="camera-problem"]')
        assert not problem.is_visible()
        component.get_by_role("button", name="Start").click()
        problem.get_by_text(CAMERA_MESSAGES["device_access_denied"]).wait_for(timeout=60_000)
        assert tab.locator('[data-testid="stException"]').count() == 0
        screenshot(tab, "live_webcam_denied", docs=False)
    finally:
        chromium.close()


def test_video_page_analyses_an_upload(page, server, face_clip):
    open_app_page(page, server, "pages/6_Video.py")
    # Remember whether a progress bar ever shows (a short clip's analysis may end between two polls).
    page.evaluate("""() => { window.sawProgress = false; new MutationObserver(() => {
        if (document.querySelector('[data-testid="stProgress"]')) window.sawProgress = true;
    }).observe(document.body, {childList: true, subtree: true}); }""")
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(face_clip))
    page.get_by_text(re.compile(r"64 of 64 frames analysed")).wait_for(timeout=120_000)
    wait_until_idle(page, "Video")
    assert page.evaluate("() => window.sawProgress")
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.get_by_text("1 person found").is_visible()
    video = page.locator("video").first
    video.wait_for(timeout=30_000)
    assert video.evaluate("v => new Promise(done => v.readyState >= 1 ? done(v.duration) : "
                          "v.addEventListener('loadedmetadata', () => done(v.duration)))") > 1.5
    charts = page.locator('[data-testid="stPlotlyChart"]')
    assert charts.count() == 2  # the shares and the timeline
    assert page.get_by_role("heading", name="Emotion shares per person").is_visible()
    assert page.locator('[data-testid="stDataFrame"]').count() == 1
    downloads = page.locator('[data-testid="stDownloadButton"]')
    names = [downloads.nth(i).inner_text().split()[-1] for i in range(downloads.count())]  # after the icon
    assert names == ["frames.csv", "summary.json", "annotated.mp4"]

    # Clicking a moment on the timeline plays the video from there.
    plot = charts.nth(1).locator(".nsewdrag").first
    plot.scroll_into_view_if_needed()
    box = plot.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.get_by_text(re.compile(r"From \d+\.\d\d s, the moment clicked on the timeline")).wait_for(timeout=60_000)
    assert page.locator('[data-testid="stException"]').count() == 0
    screenshot(page, "video_result", docs=False)


def test_video_page_analyses_the_sample_clip(page, server):
    open_app_page(page, server, "pages/6_Video.py")
    page.get_by_text("Sample clip (two drawn faces").click()
    page.get_by_text("2 people found").wait_for(timeout=120_000)
    wait_until_idle(page, "Video")
    page.locator('[data-testid="stDownloadButton"]').nth(2).wait_for(timeout=60_000)  # the page's last element
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.locator("video").count() == 1 and page.locator('[data-testid="stDownloadButton"]').count() == 3
    assert page.locator('[data-testid="stDataFrame"]').count() == 1  # each person's shares as a table
    screenshot(page, "video")  # drawn faces only: no FER image in the documentation's copy


def test_video_page_explains_a_file_that_is_not_a_video(page, server, tmp_path):
    fake = tmp_path / "notes.mp4"
    fake.write_text("this is text, not a video")
    open_app_page(page, server, "pages/6_Video.py")
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(fake))
    page.get_by_text("This file cannot be analysed").wait_for(timeout=60_000)
    assert page.get_by_text("notes.mp4 is not a video FFmpeg can read").is_visible()
    assert page.locator('[data-testid="stException"]').count() == 0
def test_live_webcam_keeps_two_people_apart(playwright, chromium_path, server, fer_csv, detectable_faces, tmp_path):
    # A fake camera of its own: two faces side by side, held still; the page must show the same two ids throughout.
    camera = tmp_path / "two_faces.y4m"
    write_y4m(camera, [paste_faces(detectable_faces[:2], size=176)] * 30)
    args = [*CHROMIUM_ARGS, f"--use-file-for-fake-video-capture={camera}"]
    chromium = playwright.chromium.launch(executable_path=str(chromium_path), headless=True, args=args)
    try:
        tab = chromium.new_context(viewport={"width": 1400, "height": 900}, permissions=["camera"]).new_page()
        open_app_page(tab, server, "pages/1_Live_webcam.py")
        tab.frame_locator(WEBRTC_IFRAME).get_by_role("button", name="Start").click()
        tab.get_by_text("People in view: #1, #2").wait_for(timeout=90_000)
        people = tab.get_by_text(re.compile(r"^People in view: "))
        seen = set()
        for _ in range(12):  # six seconds of polling
            time.sleep(0.5)
            seen |= set(re.findall(r"#(\d+)", people.first.inner_text()))
        assert seen == {"1", "2"}
        assert tab.locator('[data-testid="stException"]').count() == 0
        screenshot(tab, "live_webcam_two_people", docs=False)
        tab.frame_locator(WEBRTC_IFRAME).get_by_role("button", name="Stop").click()
    finally:
        chromium.close()
