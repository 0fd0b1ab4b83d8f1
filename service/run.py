"""``python train_cli.py serve``: the app under uvicorn, refused on a network address without keys.
Owns serve, check_bind and is_loopback.

Ctrl-C or SIGTERM: uvicorn stops taking connections, finishes the requests in flight (for up to the request
timeout and a few seconds more), then the app shuts down.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import signal
import threading

from core.model.classifier import ModelLoadError, default_model_path
from core.model.registry import resolve_model_path
from service.settings import ServiceSettings

MAX_CONNECTIONS = 256
"""Connections at once; uvicorn answers 503 beyond (a client's queue, not the server's, absorbs the rest)."""


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1): reachable from this machine only."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, keys: bool, insecure: bool) -> None:
    """ValueError for a network address without keys, unless ``insecure``."""
    if not keys and not insecure and not is_loopback(host):
        raise ValueError(
            f"refusing to serve on {host} without API keys: anyone who reaches it could use it. Make a key with "
            "`python train_cli.py api-key --file keys.txt` and pass --api-keys keys.txt, or pass --insecure "
            "if something in front of the server checks who calls"
        )


def serve(settings: ServiceSettings, host: str = "127.0.0.1", port: int = 8000, insecure: bool = False) -> int:
    """Serve until Ctrl-C or SIGTERM; 0 after a clean stop, 1 if the server did not start."""
    import uvicorn

    from service.app import create_app

    check_bind(host, settings.api_keys is not None, insecure)
    path = resolve_model_path(settings.model) if settings.model else default_model_path()
    if not path.is_file():
        raise ModelLoadError(f"model file not found: {path}")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(name)s: %(message)s")
    app = create_app(settings)  # a bad key file fails here, before the port is taken
    config = uvicorn.Config(
        app, host=host, port=port, limit_concurrency=MAX_CONNECTIONS, timeout_graceful_shutdown=int(
            settings.request_timeout_s) + 5, server_header=False, log_level="info",
    )
    server = uvicorn.Server(config)
    with _signals_end_quietly():
        server.run()
    return 0 if server.started else 1


@contextlib.contextmanager
def _signals_end_quietly():
    """After its graceful stop uvicorn raises the signal that stopped it again, for the handler in place before it
    started: this one ends the command with status 0 instead of a KeyboardInterrupt or a killed process."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {number: signal.signal(number, lambda *_: None) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
