"""``serve`` itself: no TensorFlow on the serving path, no open network port without keys, a clean stop on SIGTERM."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time

import pytest
import requests

import train_cli
from service.run import check_bind, is_loopback
from tests.service.conftest import REPO, free_port, start_cli_server, wait_ready

SERVE_AND_REPORT = """
import json, os, signal, sys, threading, urllib.request
import train_cli

port, photo = sys.argv[1], sys.argv[2]
report = {}

def client():
    import time
    deadline = time.monotonic() + 90
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz")
            break
        except OSError:
            if time.monotonic() > deadline:
                break
            time.sleep(0.1)
    request = urllib.request.Request(f"http://127.0.0.1:{port}/v1/faces", data=open(photo, "rb").read())
    report["faces"] = len(json.load(urllib.request.urlopen(request))["faces"])
    report["loaded"] = sorted(name for name in sys.modules if name.split(".")[0] in ("tensorflow", "keras"))
    os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C

threading.Thread(target=client, daemon=True).start()
report["exit"] = train_cli.main(["serve", "--port", port])
print(json.dumps(report))
"""


def test_serving_a_photo_never_imports_tensorflow(tmp_path, one_face_photo):
    photo = tmp_path / "face.jpg"
    photo.write_bytes(one_face_photo)
    done = subprocess.run([sys.executable, "-c", SERVE_AND_REPORT, str(free_port()), str(photo)], cwd=REPO,
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report == {"faces": 1, "loaded": [], "exit": 0}, done.stderr[-3000:]


@pytest.mark.parametrize(("host", "loopback"), [
    ("127.0.0.1", True), ("127.8.9.10", True), ("::1", True), ("[::1]", True), ("localhost", True),
    ("0.0.0.0", False), ("::", False), ("192.168.1.20", False), ("example.com", False),
])
def test_only_loopback_addresses_are_open_without_keys(host, loopback):
    assert is_loopback(host) is loopback
    check_bind(host, keys=True, insecure=False)
    check_bind(host, keys=False, insecure=True)
    if loopback:
        check_bind(host, keys=False, insecure=False)
    else:
        with pytest.raises(ValueError, match=f"refusing to serve on {host} without API keys"):
            check_bind(host, keys=False, insecure=False)


def test_serve_refuses_a_network_address_without_keys_and_a_bad_key_file(capsys, tmp_path):
    assert train_cli.main(["serve", "--host", "0.0.0.0", "--port", str(free_port())]) == 2
    assert "refusing to serve on 0.0.0.0 without API keys" in capsys.readouterr().err
    keys = tmp_path / "keys.txt"
    keys.write_text("fer_a-key-pasted-by-mistake\n")
    assert train_cli.main(["serve", "--api-keys", str(keys), "--port", str(free_port())]) == 2
    err = capsys.readouterr().err
    assert "line 1: not a key hash" in err and "pasted-by-mistake" not in err
    assert train_cli.main(["serve", "--model", str(tmp_path / "none.keras"), "--port", str(free_port())]) == 2
    assert "model file not found" in capsys.readouterr().err


def test_api_key_prints_the_key_once_and_stores_its_hash(capsys, tmp_path):
    keys = tmp_path / "keys.txt"
    assert train_cli.main(["api-key", "--file", str(keys)]) == 0
    out, err = capsys.readouterr()
    key = out.strip()
    assert key.startswith("fer_") and key not in keys.read_text() and "shown this once" in err


def test_sigterm_finishes_the_request_in_flight_then_stops(tmp_path, one_face_photo):
    port = free_port()
    process = start_cli_server(["--port", str(port)], tmp_path / "server.log")
    url = f"http://127.0.0.1:{port}"
    answers = []

    def slow_body():
        yield one_face_photo[:1000]
        time.sleep(1.5)  # SIGTERM arrives now, while the upload is in flight
        yield one_face_photo[1000:]

    try:
        wait_ready(url, process)
        client = threading.Thread(target=lambda: answers.append(requests.post(f"{url}/v1/faces", data=slow_body(),
                                                                              timeout=60)))
        client.start()
        time.sleep(0.5)
        process.send_signal(signal.SIGTERM)
        client.join(60)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
    assert answers and answers[0].status_code == 200 and len(answers[0].json()["faces"]) == 1
    log = (tmp_path / "server.log").read_text()
    assert "Shutting down" in log and "Finished server process" in log and "Traceback" not in log
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/healthz", timeout=5)
