"""The README and the docs' getting-started page, as a reader meets them: every shell example runs as written
and prints what the page shows (its shape: numbers and emotions may differ), the README fits two screens, and
no file points a reader at the project's own history.

Examples run in a scratch folder that links to the checkout, with a fresh HOME, on a photo and a clip of the
Video page's drawn faces (tests/samples.py), against the shipped model; FER-2013, where the tests find it, is
linked into that HOME's ``~/fer-data/`` as the pages tell a reader to put it. Commands that prepare a machine
(a virtual environment, unpacking the download) are checked, not run: ``pip install -r`` finds every
requirement installed, ``python -m pytest`` is this very run. ``streamlit run`` starts and answers its health
check, then stops; ``train_cli.py serve`` starts and stays up for the page's later examples, which reach it as
the page says, through ``FER_API`` and the ``FER_API_KEY`` that ``api-key`` printed.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from core.quiet import is_native_noise
from tests.fer_data import DATA_SKIP, FER_CSV
from tests.samples import write_sample_clip, write_sample_photo

REPO = Path(__file__).resolve().parent.parent
DOCUMENTS = ("README.md", "docs/getting-started.md")
README_MAX_LINES = 250
EMOTION_NAMES = ("Angry", "Disgust", "Fear", "Happy", "Sad", "Surprise", "Neutral", "Contempt")
CHECKED_NOT_RUN = ("python -m venv ", ". .venv/bin/activate", "gzip ", "tar ", "git clone ", "python -m pytest")
NEEDS_DATA = re.compile(r"\b(?:evaluate|train|smooth|ensemble|attack|robustness|harden)\b|--data\b")
OUTPUT_OPTIONS = re.compile(r"--(?:out|saliency|json|save-faces|file)[ =](\S+)")
LIBRARY_LINE = re.compile(r"\w+Warning: |^WARNING:absl:|^[IWE]\d{4} \d\d:\d\d:")


@dataclass(frozen=True)
class Example:
    document: str
    line: int
    command: str
    output: tuple[str, ...] | None
    """What the page shows the command printing; None where it shows nothing."""
    exports: tuple[str, ...]
    """The page's ``export`` lines before it, which a reader's shell would still hold."""

    def __str__(self) -> str:
        return f"{self.document}:{self.line}"


def _logical_lines(lines: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """Lines joined across trailing backslashes."""
    joined: list[tuple[int, str]] = []
    pending: tuple[int, str] | None = None
    for number, text in lines:
        if pending is not None:
            number, text = pending[0], pending[1] + " " + text.strip()
        if text.endswith("\\"):
            pending = (number, text[:-1].rstrip())
            continue
        pending = None
        joined.append((number, text))
    return joined


def examples(document: str) -> list[Example]:
    """Every command in the document's ``bash`` and ``console`` blocks, in order, with the output it shows."""
    text = (REPO / document).read_text()
    found: list[Example] = []
    exports: list[str] = []
    for block in re.finditer(r"^```(bash|console)\n(.*?)^```", text, re.M | re.S):
        kind, body = block.groups()
        start = text[: block.start()].count("\n") + 2
        numbered = list(enumerate(body.splitlines(), start=start))
        if kind == "console":
            commands: list[tuple[int, str, list[str]]] = []
            for number, line in numbered:
                if line.startswith("$ "):
                    commands.append((number, line[2:], []))
                elif commands:
                    commands[-1][2].append(line)
            items = [(number, command, tuple(output)) for number, command, output in commands]
        else:
            lines = [(n, line) for n, line in numbered if line.strip() and not line.lstrip().startswith("#")]
            items = [(number, command, None) for number, command in _logical_lines(lines)]
        for number, command, output in items:
            found.append(Example(document, number, command.strip(), output, tuple(exports)))
            if command.startswith("export "):
                exports.append(command.strip())
    return found


ALL_EXAMPLES = [example for document in DOCUMENTS for example in examples(document)]


# ------------------------------------------------------------------ the reader's machine


@pytest.fixture(scope="module")
def reader(tmp_path_factory):
    """A scratch folder beside a checkout's files (their links), holding photo.jpg and clip.mp4; the
    environment of a reader's shell (a fresh HOME, nothing of this run's own settings), which examples add to
    (``FER_API``, ``FER_API_KEY``); and the servers they started."""
    work = tmp_path_factory.mktemp("reader")
    for entry in REPO.iterdir():
        if entry.name not in ("runs", ".git", "site", "test-artifacts", ".pytest_cache", ".ruff_cache"):
            (work / entry.name).symlink_to(entry)
    write_sample_photo(work / "photo.jpg")
    write_sample_clip(work / "clip.mp4")
    home = tmp_path_factory.mktemp("home")
    if FER_CSV.is_file() and FER_CSV.name.endswith(".gz"):
        (home / "fer-data").mkdir()
        (home / "fer-data" / "fer2013.csv.gz").symlink_to(FER_CSV)
    tools = tmp_path_factory.mktemp("bin")
    for name, target in (("python", ""), ("pip", " -m pip"), ("streamlit", " -m streamlit"),
                         ("mkdocs", " -m mkdocs")):
        (tools / name).write_text(f'#!/bin/sh\nexec "{sys.executable}"{target} "$@"\n')
        (tools / name).chmod(0o755)
    hidden = ("FER2013_PATH", "FER_DATA_ROOTS", "FER_VERBOSE", "TF_CPP_MIN_LOG_LEVEL", "FER_MODEL_PATH")
    env = {key: value for key, value in os.environ.items() if key not in hidden}
    env.update(HOME=str(home), PATH=f"{tools}{os.pathsep}{env.get('PATH', '')}")
    servers: list[subprocess.Popen] = []
    yield work, env, servers
    for server in servers:
        stop(server)


def shape(line: str) -> str:
    """A line with each emotion (and its uncertain mark) and each number replaced: what must not change."""
    line = re.sub(rf"\b(?:{'|'.join(EMOTION_NAMES)})\b\??", "EMOTION", line)
    return re.sub(r"\d+(?:\.\d+)?", "N", line).rstrip()


def assert_same_shape(shown: tuple[str, ...], printed: list[str], where: Example) -> None:
    expected = [shape(line) for line in shown]
    actual = [shape(line) for line in printed]
    assert actual == expected, f"{where}: the page shows\n" + "\n".join(shown) + "\nbut the command printed\n" + (
        "\n".join(printed))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(script: str, work: Path, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(["bash", "-c", script], cwd=work, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=30)


def wait_for(url: str, process: subprocess.Popen, example: Example) -> None:
    deadline = time.monotonic() + 180
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            stop(process)
            output = process.stdout.read().decode(errors="replace")
            pytest.fail(f"{example}: `{example.command}` did not start a server:\n{output[-3000:]}")
        time.sleep(0.2)


def check_streamlit(example: Example, work: Path, env: dict[str, str]) -> None:
    port = _free_port()
    command = f"{example.command} --server.headless true --server.port {port} --server.address 127.0.0.1"
    process = start("\n".join(["set -e", *example.exports, command]), work, env)
    try:
        wait_for(f"http://127.0.0.1:{port}/_stcore/health", process, example)
    finally:
        stop(process)


def start_api(example: Example, work: Path, env: dict[str, str], servers: list) -> None:
    """``train_cli.py serve``, on a free port, kept up for the page's later examples (as ``FER_API``)."""
    port = _free_port()
    command = re.sub(r"\s+#.*$", "", example.command) + f" --port {port}"
    process = start("\n".join(["set -e", *example.exports, command]), work, env)
    servers.append(process)
    wait_for(f"http://127.0.0.1:{port}/healthz", process, example)
    env["FER_API"] = f"http://127.0.0.1:{port}"


def check_requirements(example: Example, work: Path) -> None:
    """``pip install -r FILE ...``: every requirement of every file is installed here, in a matching version."""
    from packaging.requirements import Requirement

    files = re.findall(r"-r\s+(\S+)", example.command)
    assert files, f"{example}: expected `pip install -r FILE`"
    for name in files:
        for line in (work / name).read_text().splitlines():
            line = line.split("#")[0].strip()
            if not line:
                continue
            requirement = Requirement(line)
            installed = importlib.metadata.version(requirement.name)
            assert requirement.specifier.contains(installed, prereleases=True), (
                f"{example}: {name} asks for {requirement}, {installed} is installed")


@pytest.mark.parametrize("example", ALL_EXAMPLES, ids=str)
def test_example_runs_as_written(example: Example, reader):
    work, env, servers = reader
    command = example.command
    if command.startswith(CHECKED_NOT_RUN):
        tool = {"gzip ": "gzip", "tar ": "tar", "git clone ": "git"}.get(command.split(" ")[0] + " ")
        assert tool is None or shutil.which(tool), f"{example}: `{tool}` is not installed"
        return
    if command.startswith("pip install"):
        check_requirements(example, work)
        return
    if NEEDS_DATA.search(command) and not (Path(env["HOME"]) / "fer-data" / "fer2013.csv.gz").exists():
        pytest.skip(f"{DATA_SKIP} (looked at {FER_CSV}): `{command}` reads it")
    if re.search(r"(^|\s)streamlit run ", command):
        check_streamlit(example, work, env)
        return
    if "train_cli.py serve" in command:
        start_api(example, work, env, servers)
        return
    done = subprocess.run(["bash", "-c", "\n".join(["set -e", *example.exports, command])], cwd=work, env=env,
                          capture_output=True, text=True, timeout=900, check=False)
    assert done.returncode == 0, f"{example}: `{command}` failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    noise = [line for line in done.stderr.splitlines() if is_native_noise(line.encode()) or LIBRARY_LINE.search(line)]
    assert noise == [], f"{example}: `{command}` printed library lines or warnings:\n{done.stderr[-3000:]}"
    if "train_cli.py api-key" in command:
        env["FER_API_KEY"] = done.stdout.split()[0]
    if command.startswith("curl "):
        answer = json.loads(done.stdout)
        assert "detail" not in answer, f"{example}: the API answered {answer}"
    if example.output is not None:
        assert_same_shape(example.output, done.stdout.splitlines(), example)


def test_examples_write_only_under_git_ignored_folders():
    written = [(example, path) for example in ALL_EXAMPLES for path in OUTPUT_OPTIONS.findall(example.command)]
    assert written, "the pages show no command that writes files"
    for example, path in written:
        if path.startswith(("~", "/")):
            continue  # outside the checkout
        ignored = subprocess.run(["git", "check-ignore", "-q", "--no-index", path], cwd=REPO, check=False)
        assert ignored.returncode == 0, f"{example}: {path} is not ignored by git: running it dirties the checkout"


# ------------------------------------------------------------------ the README itself


def test_the_readme_fits_two_screens():
    lines = (REPO / "README.md").read_text().splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines (at most {README_MAX_LINES})"


def test_the_readme_links_resolve():
    text = (REPO / "README.md").read_text()
    for target in re.findall(r"\]\(([^)#\s]+)[^)]*\)", text):
        if "://" not in target:
            assert (REPO / target).exists(), f"README.md links to {target}, which does not exist"


HISTORY = re.compile(
    r"\bissues? #?\d+\b"  # this project's issue numbers
    r"|\bcommit [0-9a-f]{7,40}\b|\bgit (?:show|checkout) [0-9a-f]{7,40}\b"  # commits given as reasons
    r"|\bwork sessions?\b|\b(?:this|that|the next) session's (?:changes|machine|runs?)\b",  # not a browser's session
    re.IGNORECASE,
)


def tracked_text_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                            capture_output=True, text=True, check=True).stdout.splitlines()
    suffixes = {".md", ".py", ".toml", ".txt", ".yml", ".yaml", ".json", ".cfg", ""}
    return [REPO / name for name in listed if Path(name).suffix in suffixes and (REPO / name).is_file()]


def test_no_file_points_a_reader_at_the_projects_history():
    found = []
    for path in tracked_text_files():
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        for match in HISTORY.finditer(text):
            line = text[: match.start()].count("\n") + 1
            found.append(f"{path.relative_to(REPO)}:{line}: {match.group(0)}")
    assert found == []
