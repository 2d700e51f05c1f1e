"""The demo platform's OAuth2 side: the token endpoint (client credentials with a signed JWT assertion,
RFC 7523 as the 1EdTech Security Framework uses it) and the Bearer check of its service endpoints."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import jwt
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from demo_platform.models import DemoAccessToken, DemoTokenCounter
from demo_platform.platform import (
    ACCESS_TOKEN_LIFETIME_SECONDS,
    SERVICE_SCOPES,
    DemoPlatform,
    DemoTool,
    ToolJwtError,
)
from demo_platform.store import in_seconds, token_hash, use_once
from lti_tool.db import DbSession, utcnow

GRANT_TYPE = "client_credentials"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MAX_ASSERTION_LIFETIME_SECONDS = 3600
ALL_SCOPES = "*"  # the counter row that counts every token of a client


@dataclass
class ServiceError(Exception):
    """An error answer of a service endpoint: JSON ``{error, error_description}``."""

    status: int
    error: str
    description: str
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(self.description)

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


def issue_token(session: DbSession, platform: DemoPlatform, form: Mapping[str, str]) -> dict[str, Any]:
    """Answer a token request (errors per RFC 6749 §5.2, as 400 JSON)."""
    if form.get("grant_type") != GRANT_TYPE:
        raise ServiceError(400, "unsupported_grant_type", "grant_type must be client_credentials")
    if form.get("client_assertion_type") != ASSERTION_TYPE:
        raise ServiceError(400, "invalid_request", f"client_assertion_type must be {ASSERTION_TYPE}")
    assertion = form.get("client_assertion", "")
    if not assertion:
        raise ServiceError(400, "invalid_request", "client_assertion is required")
    requested = form.get("scope", "").split()
    if not requested:
        raise ServiceError(400, "invalid_scope", "scope is required")
    try:
        unverified = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError as error:
        raise ServiceError(400, "invalid_client", f"client_assertion cannot be read: {error}") from error
    client_id = str(unverified.get("iss") or unverified.get("sub") or "")
    tool = platform.tool(client_id)
    if tool is None:
        raise ServiceError(400, "invalid_client", "unknown client (or a tool not activated yet)")
    try:
        # RFC 7523 §3: aud is the token endpoint; Moodle and others also accept the issuer.
        claims = platform.verify_tool_jwt(
            assertion, tool, audience=[platform.token_url, platform.issuer], require=["sub", "jti"]
        )
    except ToolJwtError as error:
        raise ServiceError(400, "invalid_client", str(error)) from error
    if claims.get("sub") != tool.client_id:
        raise ServiceError(400, "invalid_client", "sub must be the client_id")
    expires = int(claims["exp"])
    if expires - int(claims["iat"]) > MAX_ASSERTION_LIFETIME_SECONDS:
        raise ServiceError(400, "invalid_client", "the client_assertion lives longer than an hour")
    jti = str(claims.get("jti") or "")
    if not jti:
        raise ServiceError(400, "invalid_client", "jti is required")
    # A jti is remembered until its assertion expires (then the assertion is refused on its own).
    if not use_once(
        session,
        "client_assertion",
        f"{tool.client_id}:{jti}",
        datetime.fromtimestamp(expires + 60, UTC),
    ):
        raise ServiceError(400, "invalid_client", "this client_assertion (jti) was already used")
    granted = [
        scope for scope in dict.fromkeys(requested) if scope in SERVICE_SCOPES and scope in tool.scopes
    ]
    if not granted:
        raise ServiceError(400, "invalid_scope", "none of the requested scopes is granted to this tool")
    token = secrets.token_urlsafe(32)
    session.add(
        DemoAccessToken(
            token_hash=token_hash(token),
            client_id=tool.client_id,
            scopes=granted,
            expires_at=in_seconds(ACCESS_TOKEN_LIFETIME_SECONDS),
        )
    )
    session.commit()
    count_token(session, tool.client_id, granted)
    return {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": ACCESS_TOKEN_LIFETIME_SECONDS,
        "scope": " ".join(granted),
    }


def count_token(session: DbSession, client_id: str, scopes: Iterable[str]) -> None:
    """Add one to the client's counters (one per scope, and ``*``). Commits."""
    now = utcnow()
    for scope in [ALL_SCOPES, *scopes]:
        for _attempt in range(3):
            done = session.execute(
                update(DemoTokenCounter)
                .where(DemoTokenCounter.client_id == client_id, DemoTokenCounter.scope == scope)
                .values(count=DemoTokenCounter.count + 1, last_issued_at=now)
            )
            if done.rowcount:  # type: ignore[attr-defined]
                session.commit()
                break
            session.add(DemoTokenCounter(client_id=client_id, scope=scope, count=1, last_issued_at=now))
            try:
                session.commit()
                break
            except IntegrityError:  # created by a concurrent request: update it instead
                session.rollback()


def token_counts(session: DbSession, client_id: str | None = None) -> dict[str, dict[str, int]]:
    """Tokens issued so far: ``{client_id: {"*": total, scope: count, ...}}``."""
    query = select(DemoTokenCounter)
    if client_id is not None:
        query = query.where(DemoTokenCounter.client_id == client_id)
    counts: dict[str, dict[str, int]] = {}
    for row in session.scalars(query):
        counts.setdefault(row.client_id, {})[row.scope] = row.count
    return counts


def authenticate(
    session: DbSession, platform: DemoPlatform, authorization: str | None, accepted_scopes: Iterable[str]
) -> DemoTool:
    """The tool behind a Bearer access token that carries one of ``accepted_scopes``.

    401 (with ``WWW-Authenticate``) without a valid token; 403 ``insufficient_scope`` when the token
    lacks every accepted scope (RFC 6750 §3.1)."""
    accepted = list(accepted_scopes)
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ServiceError(401, "invalid_token", "a Bearer access token is required", _challenge())
    row = session.scalar(
        select(DemoAccessToken).where(DemoAccessToken.token_hash == token_hash(token.strip()))
    )
    if row is None or row.expires_at <= utcnow():
        raise ServiceError(
            401, "invalid_token", "unknown or expired access token", _challenge("invalid_token")
        )
    tool = platform.tool(row.client_id)
    if tool is None:
        raise ServiceError(401, "invalid_token", "the tool of this token is no longer active", _challenge())
    if not set(accepted) & set(row.scopes or ()):
        raise ServiceError(
            403,
            "insufficient_scope",
            "the access token lacks the scope: " + " or ".join(accepted),
            _challenge("insufficient_scope", " ".join(accepted)),
        )
    return tool


def _challenge(error: str | None = None, scope: str | None = None) -> dict[str, str]:
    value = 'Bearer realm="socle-demo"'
    if error:
        value += f', error="{error}"'
    if scope:
        value += f', scope="{scope}"'
    return {"WWW-Authenticate": value}
