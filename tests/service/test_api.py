"""The API as a client meets it, against ``train_cli.py serve --api-keys FILE``: keys, photos, hostile uploads, metrics.

Video jobs are in test_videos.py; start-up, shutdown and the serving path's imports in test_serving.py.
"""

from __future__ import annotations

import io
import json
import socket
import struct
import subprocess
import sys
import time
import zlib
from urllib.parse import urlparse

import cv2
import numpy as np
import pytest
import requests
from PIL import Image

from core.model.registry import SHIPPED_MODELS
from service.schemas import FacesResponse
from service.security import UNAUTHORIZED
from tests.service.conftest import REPO, app_server


def auth(live) -> dict:
    return {"Authorization": f"Bearer {live.key}"}


def png_header_bomb(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` pixels, with almost no pixel data."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 1024)) + chunk(b"IEND", b""))


def gif() -> bytes:
    buffer = io.BytesIO()
    Image.new("P", (4, 4)).save(buffer, "GIF")
    return buffer.getvalue()


@pytest.mark.parametrize("headers", [
    {}, {"Authorization": "Bearer fer_not-a-key"}, {"Authorization": "Basic dXNlcjpwYXNz"}, {"Authorization": "Bearer"},
])
def test_calls_without_a_valid_key_get_401_and_learn_nothing(live, one_face_photo, headers):
    for method, path, body in (("POST", "/v1/faces", one_face_photo), ("POST", "/v1/videos", b"x"),
                               ("GET", "/v1/videos/anything", None), ("DELETE", "/v1/videos/anything", None)):
        answer = requests.request(method, live.url + path, data=body, headers=headers, timeout=30)
        assert answer.status_code == 401, (method, path)
        assert answer.json() == {"detail": UNAUTHORIZED}
        assert answer.headers["WWW-Authenticate"] == "Bearer"


def test_a_photo_with_two_faces_answers_as_predict_json_does(live, two_face_photo, tmp_path):
    as_field = requests.post(f"{live.url}/v1/faces", files={"image": ("two.jpg", two_face_photo, "image/jpeg")},
                             headers=auth(live), timeout=30)
    as_body = requests.post(f"{live.url}/v1/faces", data=two_face_photo, headers=auth(live), timeout=30)
    assert as_field.status_code == as_body.status_code == 200, as_field.text
    answer = as_field.json()
    assert as_body.json() == answer
    FacesResponse.model_validate(answer)
    labels = answer["model"]["labels"]
    assert answer["model"]["name"] in SHIPPED_MODELS and len(labels) == len(set(labels)) >= 7
    assert answer["image"] == {"width": 640, "height": 480}
    assert len(answer["faces"]) == 2
    for face in answer["faces"]:
        assert set(face) == {"box", "emotion", "probability", "uncertain", "probabilities"}
        assert list(face["probabilities"]) == labels and face["emotion"] in labels
        assert face["probability"] == max(face["probabilities"].values())
    photo = tmp_path / "two.jpg"
    photo.write_bytes(two_face_photo)
    predicted = subprocess.run([sys.executable, "train_cli.py", "predict", str(photo), "--json"], cwd=REPO,
                               capture_output=True, text=True, check=True)
    assert json.loads(predicted.stdout)[0]["faces"] == answer["faces"]


def test_a_photo_without_faces_has_an_empty_list(live):
    blank = cv2.imencode(".png", np.full((200, 300, 3), 128, np.uint8))[1].tobytes()
    answer = requests.post(f"{live.url}/v1/faces", data=blank, headers=auth(live), timeout=30)
    assert answer.status_code == 200 and answer.json()["faces"] == []


def _truncated_jpeg() -> bytes:
    data = cv2.imencode(".jpg", np.random.default_rng(0).integers(0, 255, (200, 300, 3), np.uint8))[1].tobytes()
    return data[: len(data) // 3]


@pytest.mark.parametrize(
    ("body", "content_type", "status", "detail"),
    [
        (png_header_bomb(32000, 32000), None, 413, "image too large: over 179 megapixels"),
        (png_header_bomb(8000, 7000), None, 413, "image too large: 8000 x 7000 pixels, the limit is 50 megapixels"),
        (_truncated_jpeg(), None, 422, "truncated or corrupt image"),
        (b"%PDF-1.4 not a photo", None, 415, "not an image file (expected JPEG, PNG, BMP, WebP or TIFF)"),
        (gif(), None, 415, "not an image file"),
        (b"", None, 422, "no image in the request"),
        (b"--x\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nhello\r\n--x--\r\n",
         "multipart/form-data; boundary=x", 422, "no image in the request"),
        (b"garbage", "multipart/form-data", 422, "the multipart body cannot be read"),
    ],
)
def test_hostile_photos_get_a_clear_4xx_and_the_server_carries_on(live, one_face_photo, body, content_type, status,
                                                                   detail):
    headers = {**auth(live), **({"Content-Type": content_type} if content_type else {})}
    answer = requests.post(f"{live.url}/v1/faces", data=body, headers=headers, timeout=30)
    assert answer.status_code == status, answer.text
    assert set(answer.json()) == {"detail"} and detail in answer.json()["detail"]
    assert "Traceback" not in answer.text
    follow_up = requests.post(f"{live.url}/v1/faces", data=one_face_photo, headers=auth(live), timeout=30)
    assert follow_up.status_code == 200 and len(follow_up.json()["faces"]) == 1


def raw_request(url: str, head: str, body: bytes = b"") -> bytes:
    """Send a hand-written request (headers that a client library would correct) and read the answer."""
    address = urlparse(url)
    with socket.create_connection((address.hostname, address.port), timeout=30) as connection:
        connection.sendall(head.encode() + b"\r\n\r\n" + body)  # the body promised is never finished
        answer = b""
        while b"\r\n\r\n" not in answer:
            answer += connection.recv(65536)
        headers, _, content = answer.partition(b"\r\n\r\n")
        length = int(next(line.split(b":")[1] for line in headers.split(b"\r\n")
                          if line.lower().startswith(b"content-length:")))
        while len(content) < length:
            content += connection.recv(65536)
        return headers + b"\r\n\r\n" + content


def test_a_declared_length_over_the_limit_is_refused_before_the_body_is_read(live):
    for path in ("/v1/faces", "/v1/videos"):
        answer = raw_request(live.url, f"POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {live.key}\r\n"
                                       "Content-Type: application/octet-stream\r\nContent-Length: 300000000")
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
        assert b'"detail":"' in answer and b"too large: over 200 MB" in answer
    assert requests.get(f"{live.url}/healthz", timeout=10).json() == {"status": "ok"}


def test_a_chunked_body_cannot_pass_the_byte_limit(one_face_photo):
    with app_server(max_image_bytes=100_000, max_video_bytes=100_000) as url:
        def chunks():
            for _ in range(40):
                yield b"\xff" * 10_000

        for path in ("/v1/faces", "/v1/videos"):
            answer = requests.post(url + path, data=chunks(), timeout=30)  # a generator goes chunked
            assert answer.status_code == 413, answer.text
            assert answer.json()["detail"].endswith("too large: over 0.0953674 MB, the limit")
        multipart = requests.post(url + "/v1/faces", files={"image": ("big.jpg", b"\xff" * 150_000)}, timeout=30)
        assert multipart.status_code == 413
        assert requests.post(url + "/v1/faces", data=one_face_photo, timeout=30).status_code == 200


def test_the_rate_limit_is_per_key(tmp_path, one_face_photo):
    from core.access import add_key

    keys = tmp_path / "keys.txt"
    first, second = add_key(keys), add_key(keys)
    with app_server(api_keys=keys, rate_limit=2) as url:
        statuses = [requests.post(f"{url}/v1/faces", data=one_face_photo, timeout=30,
                                  headers={"Authorization": f"Bearer {first}"}) for _ in range(3)]
        assert [answer.status_code for answer in statuses] == [200, 200, 429]
        assert "over the limit of 2 requests a minute" in statuses[2].json()["detail"]
        assert 1 <= int(statuses[2].headers["Retry-After"]) <= 60
        other = requests.post(f"{url}/v1/faces", data=one_face_photo, headers={"Authorization": f"Bearer {second}"},
                              timeout=30)
        assert other.status_code == 200


def test_shared_batches_give_the_same_faces(two_face_photo, live):
    alone = requests.post(f"{live.url}/v1/faces", data=two_face_photo, headers=auth(live), timeout=30).json()
    with app_server(batch_wait_ms=5) as url:
        assert requests.post(f"{url}/v1/faces", data=two_face_photo, timeout=30).json() == alone


def test_health_readiness_and_metrics(live, one_face_photo):
    assert requests.get(f"{live.url}/healthz", timeout=10).json() == {"status": "ok"}
    ready = requests.get(f"{live.url}/readyz", timeout=10).json()
    assert ready["status"] == "ready" and ready["model"]["name"] in SHIPPED_MODELS
    requests.post(f"{live.url}/v1/faces", data=one_face_photo, headers=auth(live), timeout=30)
    requests.post(f"{live.url}/v1/faces", data=b"nope", headers=auth(live), timeout=30)
    text = requests.get(f"{live.url}/metrics", timeout=10).text
    assert 'fer_http_requests_total{method="POST",route="/v1/faces",status="200"}' in text
    assert 'fer_http_requests_total{method="POST",route="/v1/faces",status="415"}' in text
    assert 'fer_http_request_duration_seconds_bucket{le="0.1",method="POST",route="/v1/faces"}' in text
    assert "fer_faces_classified_total" in text and 'fer_video_jobs{status="queued"}' in text


def test_the_openapi_page_describes_every_route_and_shape(live):
    schema = requests.get(f"{live.url}/openapi.json", timeout=10).json()
    assert {"/v1/faces", "/v1/videos", "/v1/videos/{job_id}", "/v1/videos/{job_id}/files/{name}", "/healthz",
            "/readyz", "/metrics"} <= set(schema["paths"])
    assert {"FacesResponse", "Face", "ModelInfo", "VideoJobState", "VideoJobCreated", "Problem"} <= set(
        schema["components"]["schemas"])
    body = schema["paths"]["/v1/faces"]["post"]["requestBody"]["content"]
    assert "image" in body["multipart/form-data"]["schema"]["properties"] and "image/*" in body
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert requests.get(f"{live.url}/docs", timeout=10).status_code == 200


def test_a_slow_upload_or_analysis_is_cut_off_at_the_request_timeout(one_face_photo, monkeypatch):
    from service.inference import FacePipeline

    def slow_body():
        yield one_face_photo[:100]
        time.sleep(1.5)
        yield one_face_photo[100:]

    analyze = FacePipeline.analyze
    with app_server(request_timeout_s=0.5) as url:
        slow = requests.post(f"{url}/v1/faces", data=slow_body(), timeout=30)
        assert slow.status_code == 408 and slow.json() == {"detail": "the upload took longer than 0.5 s"}
        monkeypatch.setattr(FacePipeline, "analyze", lambda self, data: time.sleep(1.0) or analyze(self, data))
        busy = requests.post(f"{url}/v1/faces", data=one_face_photo, timeout=30)
        assert busy.status_code == 503 and busy.json()["detail"].startswith("the analysis took longer than 0.5 s")
        monkeypatch.setattr(FacePipeline, "analyze", analyze)
        assert requests.post(f"{url}/v1/faces", data=one_face_photo, timeout=30).status_code == 200
