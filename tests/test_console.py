"""A quiet console: each command prints its own output and no log line or warning of the libraries beneath it.

The commands run as a user runs them, in a child process, on the drawn faces of the Video page's sample
(tests/samples.py), so the TensorFlow, absl and LiteRT lines would reach the captured stderr if they were printed.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from core.quiet import is_native_noise
from tests.samples import SAMPLE_FACES, write_sample_clip, write_sample_photo

REPO = Path(__file__).resolve().parent.parent
FACE_LINE = re.compile(r"  face \d at x=\d+ y=\d+ w=\d+ h=\d+: [A-Z][a-z]+\?? \d+%")


def run_cli(*args: str) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key not in ("FER_VERBOSE", "TF_CPP_MIN_LOG_LEVEL")}
    return subprocess.run([sys.executable, "train_cli.py", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=900, check=False)


@pytest.fixture(scope="module")
def photo(tmp_path_factory) -> Path:
    return write_sample_photo(tmp_path_factory.mktemp("console") / "photo.png")


def test_predict_prints_its_faces_and_nothing_else_even_with_saliency(photo, tmp_path):
    done = run_cli("predict", str(photo), "--saliency", str(tmp_path / "saliency"))
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # TensorFlow is loaded for the saliency: none of its start-up lines
    lines = done.stdout.splitlines()
    assert lines[0] == f"{photo}: {SAMPLE_FACES} faces"
    assert len(lines) == 1 + SAMPLE_FACES and all(FACE_LINE.fullmatch(line) for line in lines[1:]), lines
    assert len(list((tmp_path / "saliency").glob("*.png"))) == SAMPLE_FACES


def test_verbose_brings_the_libraries_lines_back(photo):
    done = run_cli("predict", str(photo), "--verbose")
    assert done.returncode == 0
    assert "XNNPACK delegate" in done.stderr


def test_analyze_prints_its_summary_and_a_progress_bar_that_ends_at_the_end(tmp_path):
    clip = write_sample_clip(tmp_path / "clip.mp4")
    done = run_cli("analyze", str(clip), "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    progress = done.stderr.splitlines()  # piped: a plain line now and then, and the last one
    assert progress and all(re.match(r"\[[#-]{30}\] +\d+%  \d+ frames?  ", line) for line in progress), progress
    assert progress[-1].startswith("[" + "#" * 30 + "] 100%  75 frames")
    assert done.stdout.splitlines()[0].startswith("75 of 75 frames analysed")


def test_evaluate_prints_its_table_and_nothing_else(small_csv):
    done = run_cli("evaluate", "--data", str(small_csv))
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert re.fullmatch(r"Accuracy on test set: \d+\.\d\d%", done.stdout.splitlines()[-1])


def test_export_names_every_file_it_writes_and_prints_nothing_else(small_csv, tmp_path):
    done = run_cli("export", "--out", str(tmp_path / "export"), "--int8", "--data", str(small_csv))
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert "labels.txt, contract.json and parity.json" in done.stdout.splitlines()[0]
    assert {path.name for path in (tmp_path / "export").iterdir()} >= {"labels.txt", "contract.json", "parity.json"}


# ------------------------------------------------------------------ the filter itself


@pytest.mark.parametrize("line", [
    b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n",
    b"I0000 00:00:1796644558.628348    6883 port.cc:153] oneDNN custom operations are on. You may see ...\n",
    b"I0000 00:00:1796644558.628661    6883 cudart_stub.cc:31] Could not find cuda drivers on your machine.\n",
    b"E0000 00:00:1796645087.930375   22175 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error\n",
    b"To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow with the "
    b"appropriate compiler flags.\n",
    b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n",
])
def test_the_native_start_up_lines_are_noise(line):
    assert is_native_noise(line)


@pytest.mark.parametrize("line", [
    b"E0000 00:00:1796645087.930375   22175 op_kernel.cc:1857] OP_REQUIRES failed: out of memory\n",
    b"E0000 00:00:1796645087.930375   22175 cuda_driver.cc:52] failed to allocate 2.00GiB from device\n",
    b"WARNING: the model file is damaged\n",
    b"Traceback (most recent call last):\n",
    b"error: photo.png: not an image file\n",
])
def test_other_lines_are_not(line):
    assert not is_native_noise(line)


def test_the_filter_drops_native_noise_and_forwards_the_rest_in_order():
    script = (
        "import os, sys\n"
        "from core.quiet import quiet_console\n"
        "with quiet_console(False):\n"
        "    os.write(2, b'INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\\n')\n"
        "    os.write(2, b'native problem\\n')\n"
        "    print('python problem', file=sys.stderr)\n"
        "os.write(2, b'after\\n')\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=60,
                          check=True)
    assert sorted(done.stderr.splitlines()[:2]) == ["native problem", "python problem"]
    assert done.stderr.splitlines()[2:] == ["after"]


def test_a_server_stays_quiet_for_good_and_its_last_lines_still_reach_the_console():
    script = (
        "import gc, os\n"
        "from core.quiet import quiet_for_good\n"
        "quiet_for_good()\n"
        "gc.collect()\n"
        "os.write(2, b'I0000 00:00:1796645077.641299   22175 port.cc:153] oneDNN custom operations are on.\\n')\n"
        "os.write(2, b'last words\\n')\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=60,
                          check=True)
    assert done.stderr == "last words\n"


def test_the_benchmarks_print_no_library_lines(fer_csv, tmp_path):
    env = {key: value for key, value in os.environ.items() if key not in ("FER_VERBOSE", "TF_CPP_MIN_LOG_LEVEL")}
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--only", "latency", "--no-fer", "--data", str(fer_csv),
         "--json", str(tmp_path / "bench.json")],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=900, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    noise = [line for line in done.stderr.splitlines() if is_native_noise(line.encode()) or "Warning:" in line]
    assert noise == [], done.stderr[-3000:]


def test_a_benchmark_run_on_its_own_prints_no_library_lines(fer_csv):
    env = {key: value for key, value in os.environ.items() if key not in ("FER_VERBOSE", "TF_CPP_MIN_LOG_LEVEL")}
    done = subprocess.run([sys.executable, "-m", "bench.detection", "--quick", "--data", str(fer_csv)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=900, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.startswith("Detection")  # its table, as ever
    noise = [line for line in done.stderr.splitlines() if is_native_noise(line.encode())]
    assert noise == [] and "alignment" in done.stderr.splitlines(), done.stderr[-3000:]  # its own progress still shows
