"""Platform public keys: cached per registration in the database, refetched once on an unknown kid.

The cache lives in the ``platforms`` row so every worker shares it, and it is written in its own short
transaction: a launch that is then refused must not throw away a fetch (nor the throttle on refetches).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import requests
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlalchemy.orm.attributes import set_committed_value

from lti_tool.db import utcnow
from lti_tool.learners.models import Platform

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JwksPolicy:
    cache_seconds: int
    refetch_min_seconds: int
    timeout_seconds: float


class JwksUnavailable(Exception):
    """The platform's key set could not be fetched or read."""


def find_key(
    platform: Platform, kid: str, *, engine: Engine, http: requests.Session, policy: JwksPolicy
) -> dict[str, Any] | None:
    """The platform's JWK with this kid, or None once a fresh key set does not have it either."""
    now = utcnow()
    keys = _cached_keys(platform, now, policy)
    if keys is not None:
        key = _select(keys, kid)
        if key is not None:
            return key
        fetched_at = platform.jwks_fetched_at
        if fetched_at and now - fetched_at < timedelta(seconds=policy.refetch_min_seconds):
            return None  # fetched moments ago: an unknown kid is not a reason to hammer the platform
    keys = _fetch(platform, engine=engine, http=http, policy=policy, now=now)
    return _select(keys, kid)


def _cached_keys(platform: Platform, now: datetime, policy: JwksPolicy) -> list[dict[str, Any]] | None:
    if not platform.jwks_json or not platform.jwks_fetched_at:
        return None
    if now - platform.jwks_fetched_at > timedelta(seconds=policy.cache_seconds):
        return None
    keys: list[dict[str, Any]] = json.loads(platform.jwks_json).get("keys", [])
    return keys


def _select(keys: list[dict[str, Any]], kid: str) -> dict[str, Any] | None:
    for key in keys:
        if not isinstance(key, dict) or key.get("kid") != kid:
            continue
        # Keys may carry no alg: RS256 is then taken from the token header (checked by the caller).
        if key.get("kty") != "RSA" or key.get("alg", "RS256") != "RS256" or key.get("use", "sig") != "sig":
            continue
        return key
    return None


def _fetch(
    platform: Platform, *, engine: Engine, http: requests.Session, policy: JwksPolicy, now: datetime
) -> list[dict[str, Any]]:
    try:
        response = http.get(platform.key_set_url, timeout=policy.timeout_seconds)
        response.raise_for_status()
        data = response.json()
    except (requests.RequestException, ValueError, RecursionError) as error:
        log.warning("platform %s: key set unavailable (%s)", platform.id, type(error).__name__)
        raise JwksUnavailable(str(type(error).__name__)) from error
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
        raise JwksUnavailable("not a JWK set")
    text = json.dumps(data)
    with engine.begin() as connection:
        connection.execute(
            update(Platform)
            .where(Platform.id == platform.id)
            .values(
                jwks_json=text,
                jwks_fetched_at=now,
                jwks_fetch_count=Platform.jwks_fetch_count + 1,
            )
        )
    # Keep the row object in step without writing it again in the request's transaction.
    set_committed_value(platform, "jwks_json", text)
    set_committed_value(platform, "jwks_fetched_at", now)
    log.info("platform %s: key set fetched (%d keys)", platform.id, len(data["keys"]))
    keys: list[dict[str, Any]] = data["keys"]
    return keys
