"""The API's documented examples, run as written against ``serve --api-keys``: docs/api.md's and the README's.

Blocks that call the server (they use ``$FER_API``) run unchanged, in a folder holding ``photo.jpg`` and
``video.mp4``, with ``FER_API`` and ``FER_API_KEY`` set as the docs say to set them; the commands that start the
server are the ones the ``live`` fixture runs, on a port of its own. The published schema pages must match the app.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

import train_cli
from tests.service.conftest import REPO

GUIDE, README = REPO / "docs" / "api.md", REPO / "README.md"
FENCE = re.compile(r"^```(\w+)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def blocks(path: Path, language: str) -> list[str]:
    return [code for lang, code in FENCE.findall(path.read_text()) if lang == language]


def calls_server(code: str) -> bool:
    return "$FER_API/" in code or 'os.environ["FER_API_KEY"]' in code or "os.environ['FER_API_KEY']" in code


@pytest.fixture()
def workdir(tmp_path, two_face_photo, face_clip) -> Path:
    (tmp_path / "photo.jpg").write_bytes(two_face_photo)
    (tmp_path / "video.mp4").write_bytes(face_clip.read_bytes())
    return tmp_path


def run(command: list[str], workdir: Path, live) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin:/usr/local/bin", "HOME": str(workdir), "FER_API": live.url,
           "FER_API_KEY": live.key}
    env["PATH"] = f"{Path(sys.executable).parent}:{env['PATH']}"  # `python` in the examples is this one
    done = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, f"{command}\nstdout:\n{done.stdout[-2000:]}\nstderr:\n{done.stderr[-2000:]}"
    return done


@pytest.mark.parametrize("document", [GUIDE, README], ids=["docs-api", "readme"])
def test_the_documented_start_commands_are_valid(document):
    start = [block for block in blocks(document, "bash") if "train_cli.py serve" in block]
    assert start, f"{document.name} shows how to start the server"
    for block in start:
        commands = [shlex.split(line.split("#", 1)[0]) for line in block.splitlines()]
        for command in commands:
            assert command[:2] == ["python", "train_cli.py"], command
            train_cli.build_parser().parse_args(command[2:])
        made, served = (train_cli.build_parser().parse_args(command[2:]) for command in commands)
        assert made.command == "api-key" and served.command == "serve" and served.api_keys == made.file


def test_the_readme_curl_example_runs_as_written(live, workdir):
    examples = [block for block in blocks(README, "bash") if calls_server(block)]
    assert len(examples) == 1
    answer = json.loads(run(["bash", "-euo", "pipefail", "-c", examples[0]], workdir, live).stdout)
    assert len(answer["faces"]) == 2


def test_the_guides_curl_examples_run_as_written(live, workdir):
    examples = [block for block in blocks(GUIDE, "bash") if calls_server(block)]
    assert len(examples) == 2  # a photo, a video
    photo = run(["bash", "-euo", "pipefail", "-c", examples[0]], workdir, live).stdout
    assert photo.count('"emotion"') == 4  # two faces, sent twice (as a field and as the body)
    run(["bash", "-euo", "pipefail", "-c", examples[1]], workdir, live)
    frames = (workdir / "frames.csv").read_text().splitlines()
    assert frames[0].startswith("frame,time_s,person") and len(frames) > 50


def test_the_guides_python_examples_run_as_written(live, workdir):
    examples = [block for block in blocks(GUIDE, "python") if calls_server(block)]
    assert len(examples) == 2
    photo = run([sys.executable, "-c", examples[0]], workdir, live).stdout.splitlines()
    assert len(photo) == 2 and all("'x':" in line for line in photo)
    video = run([sys.executable, "-c", examples[1]], workdir, live).stdout
    assert video.startswith("done")
    for name in ("frames.csv", "summary.json", "annotated.mp4", "timeline.png"):
        assert (workdir / name).stat().st_size > 0, name


def test_the_published_schema_pages_are_current():
    from service.openapi import REFERENCE_FILE, SCHEMA_FILE, openapi_schema, reference_page, schema_json

    schema = openapi_schema()
    hint = "the API changed: run `python -m service.openapi` and commit docs/openapi.json and docs/api-reference.md"
    assert SCHEMA_FILE.read_text() == schema_json(schema), hint
    assert REFERENCE_FILE.read_text() == reference_page(schema), hint
    validator = pytest.importorskip("openapi_spec_validator")
    validator.validate(schema)
