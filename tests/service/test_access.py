"""API keys and the rate limit, without a server: keys are stored as hashes only and checked against every hash."""

from __future__ import annotations

import hmac
import stat

import pytest

from core.access import KeyFile, KeyFileError, KeyRing, RateLimiter, add_key


def test_a_new_key_is_returned_once_and_only_its_hash_is_stored(tmp_path):
    path = tmp_path / "keys.txt"
    first, second = add_key(path), add_key(path)
    text = path.read_text()
    assert first != second and first.startswith("fer_") and len(first) > 40
    assert first not in text and second not in text
    assert len([line for line in text.splitlines() if line.startswith("sha256:")]) == 2
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    ring = KeyRing.from_file(path)
    assert ring.match(first) and ring.match(second) and ring.match(first) != ring.match(second)
    for wrong in (None, "", first[:-1], first + "x", "sha256:" + first):
        assert ring.match(wrong) is None


def test_every_stored_hash_is_compared_whatever_is_presented(tmp_path, monkeypatch):
    path = tmp_path / "keys.txt"
    keys = [add_key(path) for _ in range(3)]
    ring = KeyRing.from_file(path)
    calls = []
    real = hmac.compare_digest
    monkeypatch.setattr(hmac, "compare_digest", lambda a, b: calls.append(1) or real(a, b))
    for presented in (None, "wrong", keys[0], keys[2]):
        calls.clear()
        ring.match(presented)
        assert len(calls) == 3, presented


@pytest.mark.parametrize(
    ("content", "message"),
    [("fer_abcdef\n", "line 1: not a key hash"), ("# only a comment\n", "holds no key"),
     ("sha256:abcd\n", "line 1: not a key hash")],
)
def test_a_key_file_that_is_not_one_is_refused_without_quoting_it(tmp_path, content, message):
    path = tmp_path / "keys.txt"
    path.write_text(content)
    with pytest.raises(KeyFileError, match=message) as error:
        KeyRing.from_file(path)
    assert "abcdef" not in str(error.value)
    if "not a key hash" in message:
        with pytest.raises(KeyFileError):
            add_key(path)  # never appends to a file that is not a key file
        assert path.read_text() == content


def test_a_missing_key_file_says_how_to_make_one(tmp_path):
    with pytest.raises(KeyFileError, match="api-key --file"):
        KeyFile(tmp_path / "none.txt")


def test_keys_added_or_removed_take_effect_without_a_restart(tmp_path):
    path = tmp_path / "keys.txt"
    first = add_key(path)
    keys = KeyFile(path)
    second = add_key(path)
    assert keys.ring().match(second)
    path.write_text(path.read_text().splitlines()[1] + "\n")  # the first key revoked
    assert keys.ring().match(first) is None and keys.ring().match(second)


def test_the_rate_limit_is_a_sliding_minute_per_caller():
    now = [1000.0]
    limiter = RateLimiter(3, clock=lambda: now[0])
    for step in (0, 10, 10):  # requests at 1000, 1010 and 1020
        now[0] += step
        assert limiter.check("a") is None
    assert limiter.check("b") is None  # another caller has a window of its own
    now[0] = 1030
    assert limiter.check("a") == pytest.approx(30)  # the request of 1000 leaves the window at 1060
    now[0] = 1060
    assert limiter.check("a") is None  # counted: 1010, 1020, 1060
    assert limiter.check("a") == pytest.approx(10)  # refused, and not counted
    now[0] = 1070
    assert limiter.check("a") is None


def test_idle_callers_are_forgotten():
    now = [0.0]
    limiter = RateLimiter(1, clock=lambda: now[0])
    for caller in range(1000):
        limiter.check(str(caller))
    now[0] += 61
    limiter.check("late")
    assert len(limiter._calls) == 1
