"""Calling a platform's LTI Advantage services (AGS, NRPS) as the tool: OAuth2 client credentials with a
signed JWT assertion, tokens cached in the database per registration and scope set, real timeouts.

pylti1p3's ServiceConnector caches tokens per object only, sets no timeout and lower-cases Link headers
(breaking paging URLs); this module does the transport, pylti1p3 stays for messages.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import jwt
import requests
from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Engine

from lti_tool import outbound
from lti_tool.db import utcnow
from lti_tool.keys import KeyStore
from lti_tool.learners.models import Platform
from lti_tool.lti.models import AccessToken

log = logging.getLogger(__name__)

AGS_LINEITEM = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
AGS_LINEITEM_READONLY = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly"
AGS_SCORE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
AGS_RESULT_READONLY = "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly"
NRPS_MEMBERSHIPS = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
# Refresh a little before expiry, so a token never dies in flight.
EXPIRY_MARGIN = timedelta(seconds=60)


class ServiceError(Exception):
    """The platform refused or failed a service call; ``status`` is its HTTP status (0: no answer)."""

    def __init__(self, status: int, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.status = status
        self.retryable = retryable


@dataclass
class PlatformServices:
    platform: Platform
    keys: KeyStore
    http: requests.Session
    engine: Engine
    timeout: tuple[float, float] = (3.0, 10.0)

    def serves(self, url: str) -> bool:
        """Whether ``url`` is on an origin of this registration (its issuer or one of its endpoints)."""
        known = (
            self.platform.issuer,
            self.platform.auth_login_url,
            self.platform.auth_token_url,
            self.platform.key_set_url,
        )
        return any(outbound.same_origin(url, mine) for mine in known)

    def token(self, scopes: list[str]) -> str:
        """A valid access token for these scopes (cached and shared by every worker)."""
        key = " ".join(sorted(scopes))
        with self.engine.begin() as connection:
            row = connection.execute(
                select(AccessToken.token, AccessToken.expires_at).where(
                    AccessToken.platform_id == self.platform.id, AccessToken.scopes == key
                )
            ).first()
        if row is not None and row.expires_at - EXPIRY_MARGIN > utcnow():
            return str(row.token)
        return self._fetch_token(key)

    def forget_token(self, scopes: list[str]) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                delete(AccessToken).where(
                    AccessToken.platform_id == self.platform.id,
                    AccessToken.scopes == " ".join(sorted(scopes)),
                )
            )

    def _fetch_token(self, key: str) -> str:
        signing = self.keys.active()
        now = int(time.time())
        assertion = jwt.encode(
            {
                "iss": self.platform.client_id,
                "sub": self.platform.client_id,
                "aud": self.platform.auth_token_url,
                "iat": now - 5,
                "exp": now + 60,
                "jti": str(uuid.uuid4()),
            },
            signing.private_key,
            algorithm="RS256",
            headers={"kid": signing.kid},
        )
        data = {
            "grant_type": "client_credentials",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion,
            "scope": key,
        }
        try:
            response = self.http.post(self.platform.auth_token_url, data=data, timeout=self.timeout)
        except requests.RequestException as error:
            raise ServiceError(
                0, f"token endpoint unreachable ({type(error).__name__})", retryable=True
            ) from error
        if response.status_code != 200:
            # 400/401 invalid_client: the tool was removed or its key is not (yet) known to the platform.
            # A short, token-free excerpt: the message is logged and kept on the outbox row staff see.
            raise ServiceError(
                response.status_code,
                f"token refused: HTTP {response.status_code}: {outbound.excerpt(response.text)}",
                retryable=response.status_code >= 500 or response.status_code == 429,
            )
        body = response.json()
        token = str(body["access_token"])
        expires_at = utcnow() + timedelta(seconds=int(body.get("expires_in", 3600)))
        with self.engine.begin() as connection:
            connection.execute(
                delete(AccessToken).where(
                    AccessToken.platform_id == self.platform.id, AccessToken.scopes == key
                )
            )
            connection.execute(
                insert(AccessToken).values(
                    platform_id=self.platform.id,
                    scopes=key,
                    token=token,
                    expires_at=expires_at,
                    created_at=utcnow(),
                )
            )
        log.info("platform %s: access token obtained for %d scope(s)", self.platform.id, len(key.split()))
        return token

    def call(
        self,
        method: str,
        url: str,
        scopes: list[str],
        *,
        accept: str = "application/json",
        json_body: Any = None,
        content_type: str | None = None,
        params: dict[str, str] | None = None,
    ) -> requests.Response:
        """One service request; a 401 drops the cached token and retries once with a fresh one."""
        if not self.serves(url):
            # The URL came from a launch (or a platform's answer): a token of this registration is never
            # sent, nor a request made, anywhere but to the platform itself.
            log.warning("platform %s: service URL on another origin refused", self.platform.id)
            raise ServiceError(
                0, "the service URL is not on the platform's own site: refused", retryable=False
            )
        for attempt in (1, 2):
            headers = {"Authorization": "Bearer " + self.token(scopes), "Accept": accept}
            if content_type:
                headers["Content-Type"] = content_type
            try:
                response = self.http.request(
                    method, url, headers=headers, json=json_body, params=params, timeout=self.timeout
                )
            except requests.RequestException as error:
                raise ServiceError(
                    0, f"{type(error).__name__} calling the platform", retryable=True
                ) from error
            if response.status_code == 401 and attempt == 1:
                self.forget_token(scopes)
                continue
            return response
        return response


NEXT_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?', re.IGNORECASE)


def next_page(response: requests.Response) -> str | None:
    """The URL of the next page from a Link header (kept as written: URLs are case-sensitive)."""
    match = NEXT_LINK.search(response.headers.get("Link", ""))
    return match.group(1) if match else None
