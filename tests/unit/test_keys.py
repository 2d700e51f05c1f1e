from __future__ import annotations

import time
from pathlib import Path

import jwt

from lti_tool.keys import KeyStore


def test_first_key_is_created_once_and_kept_private(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys")
    assert store.ensure() is True
    assert store.ensure() is False
    kid = store.active().kid
    assert (tmp_path / "keys" / f"{kid}.pem").stat().st_mode & 0o077 == 0
    assert [k["kid"] for k in store.public_jwks()["keys"]] == [kid]
    assert "d" not in store.public_jwks()["keys"][0]  # no private part published


def test_rotation_signs_with_the_new_key_and_keeps_the_old_published_until_retired(tmp_path: Path) -> None:
    store = KeyStore(tmp_path)
    store.ensure()
    old = store.active().kid
    old_token = jwt.encode({"old": True}, store.active().private_pem, algorithm="RS256", headers={"kid": old})
    new = store.rotate()
    assert store.active().kid == new != old
    assert [k["kid"] for k in store.public_jwks()["keys"]] == [new, old]
    token = jwt.encode({"x": 1}, store.active().private_pem, algorithm="RS256", headers={"kid": new})
    public = jwt.PyJWK(store.public_jwks()["keys"][0])
    assert jwt.decode(token, public.key, algorithms=["RS256"]) == {"x": 1}
    assert store.retire() == [old]
    assert [k["kid"] for k in store.public_jwks()["keys"]] == [new]
    assert not (tmp_path / f"{old}.pem").exists()
    # credentials it signed still verify: its public part stays known, not published
    verification = store.verification_jwks()["keys"]
    assert [k["kid"] for k in verification] == [new, old] and "d" not in verification[1]
    assert jwt.decode(old_token, jwt.PyJWK(verification[1]).key, algorithms=["RS256"]) == {"old": True}
    store.rotate()
    assert old in [k["kid"] for k in store.verification_jwks()["keys"]]


def test_another_process_sees_a_rotation_within_its_check_interval(tmp_path: Path) -> None:
    worker_a, worker_b = KeyStore(tmp_path), KeyStore(tmp_path, check_every_seconds=0.2)
    worker_a.ensure()
    first = worker_a.active().kid
    assert worker_b.active().kid == first
    new = worker_a.rotate()
    assert worker_a.active().kid == new  # the process that rotated signs with the new key at once
    time.sleep(0.25)  # the other process looks again once its interval has passed
    assert worker_b.active().kid == new
    assert [k.kid for k in worker_b.published()] == [new, first]
