"""Who may call the service and how often: API keys kept only as hashes, and a per-caller request rate.
Owns new_api_key, add_key, KeyRing, KeyFile, KeyFileError and RateLimiter.

A key is 32 random bytes as URL-safe text, shown once when it is made; the key file holds one ``sha256:HEX``
line per key (``#`` starts a comment), never a key. A random 256-bit key needs no slow hash: SHA-256 cannot be
inverted, and a deliberately slow hash would let anyone make the server burn CPU per request. A presented key's
hash is compared with every stored hash by :func:`hmac.compare_digest`, all of them every time, so the time an
answer takes says nothing about which keys exist.
"""

from __future__ import annotations

import collections
import hashlib
import hmac
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

KEY_PREFIX = "fer_"
HASH_PREFIX = "sha256:"
WINDOW_S = 60.0
"""The rate limit counts requests over the last minute."""


class KeyFileError(ValueError):
    """The key file is missing, unreadable or holds a line that is not a key's hash."""


def new_api_key() -> str:
    """A new random key: ``fer_`` and 43 URL-safe characters (256 bits)."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def key_hash(key: str) -> bytes:
    """The SHA-256 digest of a key's text."""
    return hashlib.sha256(key.encode()).digest()


def add_key(path: str | os.PathLike) -> str:
    """Make a key, append its hash to the key file (created readable by its owner only) and return the key."""
    path = Path(path)
    if path.is_dir():
        raise KeyFileError(f"{path} is a folder, not a key file")
    if path.exists():
        KeyRing.from_file(path, allow_empty=True)  # never append to a file that is not a key file
    key = new_api_key()
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(descriptor, "a") as handle:
        handle.write(f"{HASH_PREFIX}{key_hash(key).hex()}  # added {time.strftime('%Y-%m-%d %H:%M:%S %z')}\n")
    return key


class KeyRing:
    """The hashes of the keys that may call; :meth:`match` checks a presented key against all of them."""

    def __init__(self, hashes: Iterable[bytes]) -> None:
        self._hashes = tuple(hashes)

    def __len__(self) -> int:
        return len(self._hashes)

    @classmethod
    def from_file(cls, path: str | os.PathLike, allow_empty: bool = False) -> KeyRing:
        """The keys of a key file; :class:`KeyFileError` for a missing or malformed file, or one with no key."""
        path = Path(path)
        try:
            text = path.read_text()
        except FileNotFoundError:
            raise KeyFileError(f"no key file at {path}; make one with `python train_cli.py api-key --file "
                               f"{path}`") from None
        except (OSError, UnicodeDecodeError) as error:
            raise KeyFileError(f"{path}: cannot read the key file ({error})") from None
        hashes = []
        for number, line in enumerate(text.splitlines(), start=1):
            entry = line.split("#", 1)[0].strip()
            if not entry:
                continue
            digest = entry.removeprefix(HASH_PREFIX)
            try:
                value = bytes.fromhex(digest)
            except ValueError:
                value = b""
            if not entry.startswith(HASH_PREFIX) or len(value) != hashlib.sha256().digest_size:
                # the line is not quoted: it may be a key pasted by mistake
                raise KeyFileError(f"{path}, line {number}: not a key hash (expected {HASH_PREFIX} and 64 hex "
                                   "digits, as `api-key` writes)")
            hashes.append(value)
        if not hashes and not allow_empty:
            raise KeyFileError(f"{path} holds no key; add one with `python train_cli.py api-key --file {path}`")
        return cls(hashes)

    def match(self, key: str | None) -> str | None:
        """The key's id (the first 12 hex digits of its hash) if it is one of the ring's, else None.

        The same work is done whatever is presented: a missing key is hashed as an empty one, and its hash is
        compared with every stored hash in constant time.
        """
        digest = key_hash(key or "")
        matches = [hmac.compare_digest(digest, stored) for stored in self._hashes]
        if key and any(matches):
            return digest.hex()[:12]
        return None


class KeyFile:
    """A key file read again whenever it changes, so keys added or removed take effect without a restart."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._ring = KeyRing.from_file(self.path)  # a bad file fails at start-up, not at the first request
        self._stamp = self._file_stamp()

    def ring(self) -> KeyRing:
        """The current keys; while the file is missing or malformed (half written, say) the last good ones."""
        stamp = self._file_stamp()
        with self._lock:
            if stamp is not None and stamp != self._stamp:
                try:
                    self._ring, self._stamp = KeyRing.from_file(self.path), stamp
                except KeyFileError:
                    pass
            return self._ring

    def _file_stamp(self) -> tuple[int, int] | None:
        try:
            info = self.path.stat()
        except OSError:
            return None
        return info.st_mtime_ns, info.st_size


class RateLimiter:
    """At most ``per_minute`` requests per caller over any 60 seconds (a sliding window); thread-safe."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        if per_minute < 1:
            raise ValueError(f"a rate limit must allow at least 1 request a minute, got {per_minute}")
        self.per_minute = per_minute
        self._clock = clock
        self._lock = threading.Lock()
        self._calls: dict[str, collections.deque[float]] = {}
        self._next_sweep = 0.0

    def check(self, caller: str) -> float | None:
        """Counts a request of ``caller``: None if it may go ahead, else the seconds until it may (a refused
        request is not counted)."""
        now = self._clock()
        with self._lock:
            if now >= self._next_sweep:
                self._sweep(now)
            calls = self._calls.setdefault(caller, collections.deque())
            while calls and calls[0] <= now - WINDOW_S:
                calls.popleft()
            if len(calls) >= self.per_minute:
                return max(calls[0] + WINDOW_S - now, 0.001)
            calls.append(now)
            return None

    def _sweep(self, now: float) -> None:
        """Forget callers with no request in the window, so memory follows active callers only."""
        self._calls = {caller: calls for caller, calls in self._calls.items() if calls and calls[-1] > now - WINDOW_S}
        self._next_sweep = now + WINDOW_S
