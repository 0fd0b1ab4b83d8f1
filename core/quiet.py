"""A quiet console: a command prints its own output, not the start-up lines of the native libraries beneath it.
Owns VERBOSE_ENV_VAR, is_verbose, is_native_noise, quiet_console and quiet_for_good.

TensorFlow logs through absl before absl is initialised, so ``TF_CPP_MIN_LOG_LEVEL`` no longer stops its
import lines (oneDNN, CUDA drivers, ``cuInit``, CPU features), printed once by each of its libraries that
carries a copy of absl. LiteRT prints ``INFO: Created TensorFlow Lite XNNPACK delegate for CPU.`` through a
logger that has no switch. Both write from C++ to file descriptor 2, before any Python code could object, so
:func:`quiet_console` stops them there: descriptor 2 goes through a pipe whose reader drops those known lines
(native INFO lines, and the CUDA lines of a machine without a GPU) and forwards every other line as it comes.
Python's own ``sys.stderr`` (progress bars, warnings, error messages) keeps writing straight to where it did,
so a terminal is still a terminal. ``--verbose`` (or ``FER_VERBOSE=1``) leaves everything as the libraries
print it, and shows Python's deprecation warnings too.
"""

from __future__ import annotations

import atexit
import contextlib
import io
import os
import re
import sys
import threading
import warnings
from collections.abc import Iterator

VERBOSE_ENV_VAR = "FER_VERBOSE"

_NATIVE_NOISE = re.compile(
    rb"^(?:"
    rb"WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    rb"|I\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [\w./-]+:\d+\] "  # absl INFO lines (TensorFlow, XLA)
    rb"|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: I [\w./-]+:\d+\] "  # TensorFlow's own INFO lines
    rb"|(?:[EW]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ |\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [EW] [\w./-]*/)cuda\w*\.cc:\d+\] "
    rb"(?:failed call to cuInit|Unable to register cu\w+ factory)"  # no GPU here; a GPU's real errors still show
    rb"|To enable the following instructions: .*rebuild TensorFlow with the appropriate compiler flags"
    rb"|TF-TRT Warning: Could not find TensorRT"
    rb"|INFO: "  # LiteRT's INFO lines
    rb")"
)

_lock = threading.Lock()
_depth = 0
_restore: list = []


def is_verbose() -> bool:
    """Whether the user asked for the libraries' own lines (``--verbose`` sets ``FER_VERBOSE=1``)."""
    return os.environ.get(VERBOSE_ENV_VAR, "").strip() not in ("", "0")


def is_native_noise(line: bytes) -> bool:
    """Whether a line a native library wrote to stderr is one :func:`quiet_console` drops."""
    return bool(_NATIVE_NOISE.match(line.lstrip(b"\r")))


def _forward(read_fd: int, target_fd: int) -> None:
    with open(read_fd, "rb") as pipe:
        for line in pipe:  # a line at a time, as soon as it is whole
            if not is_native_noise(line):
                with contextlib.suppress(OSError):
                    os.write(target_fd, line)


def _python_stderr_on(fd: int):
    """A text stream like ``sys.stderr`` writing to ``fd``, or None when ``sys.stderr`` is not descriptor 2
    (a test's capture, say), which then stays as it is."""
    try:
        if sys.stderr is None or sys.stderr.fileno() != 2:
            return None
    except (AttributeError, OSError, ValueError):
        return None
    return io.TextIOWrapper(open(os.dup(fd), "wb", buffering=0), encoding=sys.stderr.encoding,
                            errors=sys.stderr.errors, line_buffering=True)


def _start() -> None:
    if sys.stderr is not None:
        sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no stderr at all (a daemon): nothing to filter
        _restore.append(None)
        return
    read_fd, write_fd = os.pipe()
    os.dup2(write_fd, 2)
    os.close(write_fd)
    thread = threading.Thread(target=_forward, args=(read_fd, saved), name="native-stderr-filter", daemon=True)
    thread.start()
    python_stderr = _python_stderr_on(saved)
    previous = sys.stderr
    if python_stderr is not None:
        sys.stderr = python_stderr
    _restore.append((saved, thread, previous, python_stderr))


def _stop() -> None:
    started = _restore.pop()
    if started is None:
        return
    saved, thread, previous, python_stderr = started
    if python_stderr is not None:
        python_stderr.flush()
        sys.stderr = previous
        python_stderr.close()
    os.dup2(saved, 2)  # closes the pipe's writing end: the reader forwards what is left, then ends
    thread.join(timeout=2.0)
    if not thread.is_alive():  # a child process still holding the pipe keeps it (and the descriptor) alive
        os.close(saved)


@contextlib.contextmanager
def quiet_console(verbose: bool | None = None) -> Iterator[None]:
    """Within the block, native start-up lines on stderr are dropped and TensorFlow logs errors only; with
    ``verbose`` (default :func:`is_verbose`) nothing changes. Nested blocks share the outermost one's filter."""
    global _depth
    if verbose is None:
        verbose = is_verbose()
    if verbose:
        before = {name: os.environ.get(name) for name in (VERBOSE_ENV_VAR, "TF_CPP_MIN_LOG_LEVEL")}
        os.environ[VERBOSE_ENV_VAR] = "1"  # for child processes
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "0")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("default")
                yield
        finally:
            for name, value in before.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's own C++ warnings, where it still reads it
    with _lock:
        if _depth == 0:
            _start()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                _stop()


def quiet_for_good() -> None:
    """:func:`quiet_console` for the rest of the process (a server that runs until it is stopped)."""
    global _depth
    if is_verbose():
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with _lock:
        if _depth == 0:
            _start()
            atexit.register(_stop_at_exit)  # the last lines reach the console before the process ends
        _depth += 1  # never given back: the filter stays


def _stop_at_exit() -> None:
    global _depth
    with _lock:
        if _depth > 0:
            _depth = 0
            _stop()
