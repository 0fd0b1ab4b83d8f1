"""locust's users for the service section: each posts the same photo to ``/v1/faces``, back to back, no pause.
Owns PhotoUser. Run by :mod:`bench.service` in a locust process of its own (locust patches the standard library
with gevent, so the suite never imports it).

``FER_BENCH_PHOTO`` names the photo, ``FER_BENCH_KEY`` the API key and ``FER_BENCH_FACES`` how many faces an
answer must hold; an answer with another count, or any status but 200, is a failure.
"""

import os
from pathlib import Path

from locust import FastHttpUser, constant, task

PHOTO = Path(os.environ["FER_BENCH_PHOTO"]).read_bytes()
FACES = int(os.environ.get("FER_BENCH_FACES", "1"))
HEADERS = {"Content-Type": "image/jpeg", **(
    {"Authorization": f"Bearer {os.environ['FER_BENCH_KEY']}"} if os.environ.get("FER_BENCH_KEY") else {})}


class PhotoUser(FastHttpUser):
    wait_time = constant(0)
    network_timeout = connection_timeout = 60.0

    @task
    def faces(self) -> None:
        with self.client.post("/v1/faces", data=PHOTO, headers=HEADERS, catch_response=True) as answer:
            if answer.status_code != 200:
                answer.failure(f"status {answer.status_code}")
            elif len(answer.json()["faces"]) != FACES:
                answer.failure(f"{len(answer.json()['faces'])} faces, not {FACES}")
