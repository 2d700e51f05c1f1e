"""Dynamic Registration as an attacker tries it: without the operator's invitation, with a used or expired
one, over an existing registration, through redirects and toward internal services; and the invitation's
lifecycle through the CLI. A stand-in platform on loopback plays the stranger."""

from __future__ import annotations

import html
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask
from jwt.algorithms import RSAAlgorithm
from sqlalchemy import select, update
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from demo_platform.platform import DemoPlatform
from lti_tool.db import db, utcnow
from lti_tool.learners.models import Platform
from lti_tool.lti.models import RegistrationInvite
from tests.conftest import free_port
from tests.functional.test_lti_advantage import count, invite
from tests.helpers import LtiBrowser, error_code

SECRET = "INTERNAL-SERVICE-SECRET-4f1c"


@dataclass
class StandIn:
    """A platform on its own loopback port: its configuration, registration and key set, all changeable."""

    base: str
    demo_jwks: dict[str, Any]
    client_id: str = "stand-in-client"
    jwks_path: str = "/jwks"
    hits: list[str] = field(default_factory=list)
    registration_status: int = 201
    registration_body: str | None = None
    redirect_configuration_to: str | None = None
    changes: dict[str, Any] = field(default_factory=dict)

    @property
    def issuer(self) -> str:
        return self.base

    @property
    def configuration_url(self) -> str:
        return self.base + "/openid-configuration"

    def configuration(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": self.base + "/auth",
            "token_endpoint": self.base + "/token",
            "jwks_uri": self.base + self.jwks_path,
            "registration_endpoint": self.base + "/register",
            **self.changes,
        }

    def __call__(self, request: Request) -> Response:
        self.hits.append(request.path)
        if request.path.endswith("/openid-configuration"):
            if self.redirect_configuration_to:
                return Response("", status=302, headers={"Location": self.redirect_configuration_to})
            return Response(json.dumps(self.configuration()), content_type="application/json")
        if request.path == "/register":
            body = self.registration_body or json.dumps(
                {
                    "client_id": self.client_id,
                    "https://purl.imsglobal.org/spec/lti-tool-configuration": {"deployment_id": "stand-in-1"},
                }
            )
            return Response(body, status=self.registration_status, content_type="application/json")
        if request.path == "/jwks":  # the stand-in signs with the demo platform's keys
            return Response(json.dumps(self.demo_jwks), content_type="application/json")
        if request.path == "/evil-jwks":
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
            return Response(json.dumps({"keys": [{**jwk, "kid": "evil"}]}), content_type="application/json")
        if request.path == "/internal":
            return Response(SECRET)
        return Response("", status=404)


def serve(handler: Any) -> tuple[str, Any]:
    port = free_port()
    server = make_server("127.0.0.1", port, Request.application(handler), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{port}", server


@pytest.fixture
def stand_in(app: Flask) -> Iterator[StandIn]:
    demo: DemoPlatform = app.extensions["socle_demo_platform"]
    holder: dict[str, StandIn] = {}
    base, server = serve(lambda request: holder["it"](request))
    holder["it"] = StandIn(base=base, demo_jwks=demo.keys.public_jwks())
    yield holder["it"]
    server.shutdown()


def register(browser: LtiBrowser, configuration_url: str, token: str | None) -> Any:
    params = {"openid_configuration": configuration_url, "registration_token": "platform-token"}
    if token is not None:
        params["token"] = token
    return browser.http.get(browser.base_url + "/lti/register", params=params)


def platform_row(app: Flask, issuer: str) -> dict[str, Any] | None:
    with app.app_context():
        row = db.session.scalars(select(Platform).where(Platform.issuer == issuer)).first()
        value = (
            None
            if row is None
            else {"client_id": row.client_id, "key_set_url": row.key_set_url, "is_active": row.is_active}
        )
        db.session.remove()
        return value


def stand_in_launch(browser: LtiBrowser, stand_in: StandIn, user: str = "instructor") -> Any:
    """A launch from the stand-in platform's registration, signed with its (the demo's) key."""
    login = browser.start_login(
        user, iss=stand_in.issuer, client_id=stand_in.client_id, lti_deployment_id="stand-in-1"
    )
    claims = browser.platform.claims(
        login.nonce, user, iss=stand_in.issuer, aud=stand_in.client_id, deployment_id="stand-in-1"
    )
    claims.pop("azp", None)
    return browser.launch(browser.platform.sign(claims), login.state)


# -- the invitation
def test_registration_without_an_invitation_calls_nobody_and_says_how_to_get_one(
    app: Flask, browser: LtiBrowser, stand_in: StandIn
) -> None:
    before = count(app, Platform)
    for token, code in ((None, "invite_missing"), ("made-up", "invite_unknown")):
        page = register(browser, stand_in.configuration_url, token)
        assert page.status_code == 403 and error_code(page) == code
        assert "platform invite" in page.text
    assert stand_in.hits == []  # not even the configuration was fetched
    assert count(app, Platform) == before and platform_row(app, stand_in.issuer) is None


def test_an_invitation_registers_one_platform_once(
    app: Flask, browser: LtiBrowser, stand_in: StandIn
) -> None:
    token = invite(app, "Stand-in DU")
    # A registration that fails (here the platform refuses it) leaves the invitation usable.
    stand_in.registration_status = 400
    failed = register(browser, stand_in.configuration_url, token)
    assert failed.status_code == 400 and error_code(failed) == "registration_refused"
    stand_in.registration_status = 201
    page = register(browser, stand_in.configuration_url, token)
    assert page.status_code == 200, error_code(page)
    assert platform_row(app, stand_in.issuer) == {
        "client_id": stand_in.client_id,
        "key_set_url": stand_in.base + "/jwks",
        "is_active": True,
    }
    hits = len(stand_in.hits)
    again = register(browser, stand_in.configuration_url, token)
    assert again.status_code == 403 and error_code(again) == "invite_used" and "platform invite" in again.text
    assert len(stand_in.hits) == hits
    listing = app.test_cli_runner().invoke(args=["platform", "invites"]).output
    line = next(line for line in listing.splitlines() if "Stand-in DU" in line)
    assert "\tused\t" in line and "platform=" in line and token not in listing
    # The registration it made launches Socle.
    launched = stand_in_launch(browser, stand_in)
    assert launched.status_code == 200 and 'data-testid="staff-home"' in launched.text


def test_an_expired_invitation_is_refused(app: Flask, browser: LtiBrowser, stand_in: StandIn) -> None:
    token = invite(app, "Late DU", expires="90m")
    with app.app_context():
        db.session.execute(
            update(RegistrationInvite)
            .where(RegistrationInvite.name == "Late DU")
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()
        db.session.remove()
    page = register(browser, stand_in.configuration_url, token)
    assert page.status_code == 403 and error_code(page) == "invite_expired" and "platform invite" in page.text
    assert stand_in.hits == [] and platform_row(app, stand_in.issuer) is None
    listing = app.test_cli_runner().invoke(args=["platform", "invites"]).output
    assert any("Late DU" in line and "\texpired\t" in line for line in listing.splitlines())


@pytest.mark.parametrize("expires", ["0h", "-1h", "31d", "soon", "４h"])
def test_an_invitation_needs_a_sensible_lifetime(app: Flask, expires: str) -> None:
    result = app.test_cli_runner().invoke(args=["platform", "invite", "--name", "X", "--expires", expires])
    assert result.exit_code != 0 and "--expires" in result.output


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"jwks_uri": "file:///etc/passwd"}, "bad_configuration"),
        ({"token_endpoint": "http://127.0.0.1/" + "t" * 1100}, "bad_configuration"),
        ({"https://purl.imsglobal.org/spec/lti-platform-configuration": "moodle"}, None),
        ({"registration_endpoint": ["not", "a", "url"]}, "bad_configuration"),
        # Another server (here: another port) would receive the platform's registration token.
        ({"registration_endpoint": "http://127.0.0.1:9/register"}, "bad_configuration"),
    ],
)
def test_a_malformed_configuration_is_refused_or_read_without_a_500(
    app: Flask, browser: LtiBrowser, stand_in: StandIn, changes: dict[str, Any], code: str | None
) -> None:
    stand_in.changes = changes
    page = register(browser, stand_in.configuration_url, invite(app))
    if code is None:  # a platform configuration that is not an object is ignored
        assert page.status_code == 200, error_code(page)
    else:
        assert page.status_code == 400 and error_code(page) == code
        assert platform_row(app, stand_in.issuer) is None and "/register" not in stand_in.hits


def test_an_issuer_longer_than_its_column_is_refused(
    app: Flask, browser: LtiBrowser, stand_in: StandIn
) -> None:
    issuer = stand_in.base + "/" + "i" * 300
    stand_in.changes = {"issuer": issuer}
    page = register(browser, issuer + "/openid-configuration", invite(app))
    assert page.status_code == 400 and error_code(page) == "bad_configuration"


# -- an existing registration is never replaced
def test_a_second_registration_of_a_known_issuer_and_client_is_refused_and_the_original_intact(
    app: Flask, browser: LtiBrowser, stand_in: StandIn
) -> None:
    assert register(browser, stand_in.configuration_url, invite(app)).status_code == 200
    original = platform_row(app, stand_in.issuer)
    # A stranger serving a configuration on the platform's site, with its own key set: same client id, or
    # a new one, it is refused either way, and the original registration keeps its key set.
    stand_in.jwks_path = "/evil-jwks"
    for client_id, code in (
        ("stand-in-client", "registration_differs"),
        ("new-client", "registration_differs"),
    ):
        stand_in.client_id = client_id
        page = register(browser, stand_in.configuration_url, invite(app))
        assert page.status_code == 409 and error_code(page) == code
        assert "platform add" in page.text
    # The same platform again (same endpoints and keys), same client: still refused, nothing changes.
    stand_in.jwks_path, stand_in.client_id = "/jwks", "stand-in-client"
    page = register(browser, stand_in.configuration_url, invite(app))
    assert page.status_code == 409 and error_code(page) == "registration_exists"
    assert platform_row(app, stand_in.issuer) == original
    with app.app_context():
        assert len(db.session.scalars(select(Platform).where(Platform.issuer == stand_in.issuer)).all()) == 1
        db.session.remove()
    # Launches signed with the platform's real key still work.
    launched = stand_in_launch(browser, stand_in)
    assert launched.status_code == 200 and 'data-testid="staff-home"' in launched.text


def test_a_deactivated_registration_is_not_revived_by_registering_again(
    app: Flask, browser: LtiBrowser, stand_in: StandIn
) -> None:
    assert register(browser, stand_in.configuration_url, invite(app)).status_code == 200
    runner = app.test_cli_runner()
    args = ["--issuer", stand_in.issuer, "--client-id", stand_in.client_id]
    assert runner.invoke(args=["platform", "deactivate", *args]).exit_code == 0
    page = register(browser, stand_in.configuration_url, invite(app))
    assert page.status_code == 409 and error_code(page) == "registration_exists"
    assert platform_row(app, stand_in.issuer)["is_active"] is False  # type: ignore[index]
    app.extensions["socle_frame_ancestors_cache"].clear()
    home = browser.http.get(browser.base_url + "/")
    assert stand_in.base not in home.headers["Content-Security-Policy"]


def test_frame_ancestors_lists_active_registrations_only(
    app: Flask, browser: LtiBrowser, stand_in: StandIn
) -> None:
    assert register(browser, stand_in.configuration_url, invite(app)).status_code == 200
    app.extensions["socle_frame_ancestors_cache"].clear()
    assert stand_in.base in browser.http.get(browser.base_url + "/").headers["Content-Security-Policy"]


# -- outbound requests of the registration
def test_a_configuration_redirected_to_another_origin_is_refused(
    app: Flask, browser: LtiBrowser, stand_in: StandIn
) -> None:
    other = StandIn(base="", demo_jwks=stand_in.demo_jwks)
    other.base, server = serve(other)
    try:
        # The configuration URL is on the stand-in's origin; its answer comes from another port (origin).
        stand_in.redirect_configuration_to = other.configuration_url
        other.redirect_configuration_to = None
        page = register(browser, stand_in.configuration_url, invite(app))
    finally:
        server.shutdown()
    assert page.status_code == 400 and error_code(page) == "configuration_unreachable"
    assert other.hits == [] and platform_row(app, other.issuer) is None


def test_the_platforms_answer_is_never_shown_on_the_page(
    app: Flask, browser: LtiBrowser, stand_in: StandIn, caplog: pytest.LogCaptureFixture
) -> None:
    # A registration endpoint that answers an error page carrying a secret and a token.
    stand_in.registration_status = 400
    stand_in.registration_body = f"{SECRET} token=eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"
    page = register(browser, stand_in.configuration_url, invite(app))
    assert page.status_code == 400 and error_code(page) == "registration_refused"
    assert SECRET not in page.text and "HTTP 400" in page.text
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "registration refused by the platform: HTTP 400" in logged and "eyJ" not in logged


def test_an_oversized_configuration_is_refused_without_being_held(
    app: Flask, browser: LtiBrowser, stand_in: StandIn
) -> None:
    def endless(request: Request) -> Response:
        # 8 MiB, streamed without Content-Length: above the cap while it is read.
        return Response(
            (b" " * 65536 for _ in range(128)), content_type="application/json", direct_passthrough=True
        )

    base, server = serve(endless)
    try:
        page = register(browser, base + "/openid-configuration", invite(app))
    finally:
        server.shutdown()
    assert page.status_code == 400 and error_code(page) == "configuration_unreachable"
    assert "trop volumineuse" in page.text and platform_row(app, base) is None


# -- the demo platform goes through an invitation, as Moodle does
def test_the_demo_platform_registers_socle_with_the_operators_invitation_url(
    app: Flask, browser: LtiBrowser
) -> None:
    demo: DemoPlatform = app.extensions["socle_demo_platform"]
    result = app.test_cli_runner().invoke(args=["platform", "invite", "--name", "Démo"])
    invitation_url = result.output.strip().splitlines()[-1]
    pasted = [invitation_url, browser.base_url + "/lti/register"]  # the invitation, then the bare URL
    outcomes = []
    for url in pasted:
        page = requests.post(demo.base_url + "/admin/tools/register", data={"url": url}, timeout=10)
        found = re.search(r'<iframe[^>]+src="([^"]+)"', page.text)
        assert page.status_code == 200 and found, page.text[:300]
        start = html.unescape(found.group(1))
        query = parse_qs(urlsplit(start).query)
        assert query["openid_configuration"] == [demo.openid_configuration_url]
        outcomes.append(browser.http.get(start))  # what the admin's browser opens in the frame
    registered, refused = outcomes
    assert registered.status_code == 200 and 'data-testid="registered"' in registered.text
    assert refused.status_code == 403 and error_code(refused) == "invite_missing"
