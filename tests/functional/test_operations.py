"""What operators and LMS admins rely on: health, published keys, CLI, framing, cookies, logs, languages."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import pytest
import requests
from flask import Flask
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from lti_tool import create_app
from lti_tool.db import PING_AFTER_IDLE_SECONDS, db
from tests.conftest import LiveServer, standalone_config
from tests.helpers import LtiBrowser, launch_id_of


def test_health_reports_database_and_keys(live_server: LiveServer) -> None:
    response = requests.get(live_server.url + "/health", timeout=5)
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "keys": "ok"}


def test_connections_the_server_dropped_are_replaced_not_a_500(app: Flask, browser: LtiBrowser) -> None:
    """A database restart or idle timeout closes the pooled connections; after a pause, the next requests
    get fresh ones (PostgreSQL; SQLite has no server)."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite has no server connection to lose")
        requests.get(browser.base_url + "/health", timeout=5).raise_for_status()  # a pooled connection
        # From a connection of its own, outside the app's pool.
        with create_engine(db.engine.url, poolclass=NullPool).connect() as connection:
            killed = connection.exec_driver_sql(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ).scalar_one()
    assert killed >= 1
    time.sleep(PING_AFTER_IDLE_SECONDS + 0.2)
    for _ in range(3):
        response = requests.get(browser.base_url + "/health", timeout=5)
        assert response.status_code == 200, response.text
    assert 'data-testid="learner-home"' in browser.demo_launch().text


def test_health_says_unhealthy_when_keys_are_missing(tmp_path: Path) -> None:
    app = create_app(standalone_config(tmp_path))
    response = app.test_client().get("/health")
    assert response.status_code == 503
    assert response.json["database"] == "ok"
    assert "flask --app lti_tool setup" in response.json["keys"]


def test_jwks_publishes_public_keys_only(live_server: LiveServer) -> None:
    keys = requests.get(live_server.url + "/lti/jwks", timeout=5).json()["keys"]
    assert keys and all(k["kty"] == "RSA" and k["alg"] == "RS256" and k["use"] == "sig" for k in keys)
    assert all("d" not in k and "p" not in k for k in keys)


def test_cli_keys_rotate_and_retire_change_the_published_set(app: Flask, live_server: LiveServer) -> None:
    runner = app.test_cli_runner()
    before = [k["kid"] for k in requests.get(live_server.url + "/lti/jwks", timeout=5).json()["keys"]]
    assert runner.invoke(args=["keys", "rotate"]).exit_code == 0
    rotated = [k["kid"] for k in requests.get(live_server.url + "/lti/jwks", timeout=5).json()["keys"]]
    assert len(rotated) == len(before) + 1 and rotated[1:] == before
    result = runner.invoke(args=["keys", "retire"])
    assert result.exit_code == 0 and "Retired" in result.output
    assert [
        k["kid"] for k in requests.get(live_server.url + "/lti/jwks", timeout=5).json()["keys"]
    ] == rotated[:1]


def test_cli_platform_add_and_list(app: Flask) -> None:
    runner = app.test_cli_runner()
    args = [
        "platform",
        "add",
        "--issuer",
        "https://moodle.univ.example",
        "--client-id",
        "AbC123",
        "--auth-login-url",
        "https://moodle.univ.example/mod/lti/auth.php",
        "--auth-token-url",
        "https://moodle.univ.example/mod/lti/token.php",
        "--key-set-url",
        "https://moodle.univ.example/mod/lti/certs.php",
        "--deployment-id",
        "4",
        "--deployment-id",
        "5",
    ]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    assert "deployments 4, 5" in result.output
    listing = runner.invoke(args=["platform", "list"]).output
    assert "https://moodle.univ.example\tclient=AbC123\tdeployments=4, 5\tcli\tactive" in listing


def test_cli_platform_add_refuses_a_bad_url(app: Flask) -> None:
    result = app.test_cli_runner().invoke(
        args=[
            "platform",
            "add",
            "--issuer",
            "x",
            "--client-id",
            "y",
            "--auth-login-url",
            "not-a-url",
            "--auth-token-url",
            "https://a.example/t",
            "--key-set-url",
            "https://a.example/k",
            "--deployment-id",
            "1",
        ]
    )
    assert result.exit_code == 2 and "--auth-login-url" in result.output


def test_setup_imports_lti_config_json(app: Flask) -> None:
    path = Path(app.config["LTI_CONFIG_PATH"])
    path.write_text(
        json.dumps(
            {
                "platforms": [
                    {
                        "issuer": "https://du.univ-exemple.fr",
                        "client_id": "socle-du",
                        "name": "Moodle DU",
                        "auth_login_url": "https://du.univ-exemple.fr/mod/lti/auth.php",
                        "auth_token_url": "https://du.univ-exemple.fr/mod/lti/token.php",
                        "key_set_url": "https://du.univ-exemple.fr/mod/lti/certs.php",
                        "deployment_ids": ["12"],
                    }
                ]
            }
        )
    )
    try:
        runner = app.test_cli_runner()
        result = runner.invoke(args=["setup"])
        assert result.exit_code == 0, result.output
        assert "Imported 1 platform registration(s)" in result.output
        assert (
            "https://du.univ-exemple.fr\tclient=socle-du\tdeployments=12\tconfig"
            in runner.invoke(args=["platform", "list"]).output
        )
    finally:
        path.unlink()


def test_pages_may_be_framed_only_by_registered_platforms(app: Flask, live_server: LiveServer) -> None:
    runner = app.test_cli_runner()
    runner.invoke(
        args=[
            "platform",
            "add",
            "--issuer",
            "https://lms.framing.example",
            "--client-id",
            "f",
            "--auth-login-url",
            "https://lms.framing.example/auth",
            "--auth-token-url",
            "https://lms.framing.example/token",
            "--key-set-url",
            "https://lms.framing.example/jwks",
            "--deployment-id",
            "1",
        ]
    )
    app.extensions["socle_frame_ancestors_cache"].clear()
    csp = requests.get(live_server.url + "/", timeout=5).headers["Content-Security-Policy"]
    ancestors = csp.split("frame-ancestors", 1)[1].split(";")[0].split()
    assert "'self'" in ancestors
    assert "https://lms.framing.example" in ancestors
    assert "*" not in ancestors and "https://evil.example" not in ancestors


def test_behind_an_https_proxy_lti_cookies_are_secure_and_samesite_none(app: Flask, tmp_path: Path) -> None:
    demo = app.extensions["socle_demo_platform"]
    proxied = create_app(
        standalone_config(
            tmp_path,
            DATABASE_URL=app.config["DATABASE_URL"],
            BASE_URL="https://socle.example.org",
            PROXY_HOPS=1,
            KEYS_DIR=app.config["KEYS_DIR"],
        )
    )
    try:
        response = proxied.test_client().get(
            "/lti/login",
            query_string={
                "iss": demo.issuer,
                "client_id": "socle-demo",
                "login_hint": "learner",
                "target_link_uri": "https://socle.example.org/lti/launch",
            },
            headers={
                "X-Forwarded-Proto": "https",
                "X-Forwarded-Host": "socle.example.org",
                "X-Forwarded-For": "10.0.0.1",
            },
        )
        assert response.status_code == 302
        assert "redirect_uri=https%3A%2F%2Fsocle.example.org%2Flti%2Flaunch" in response.headers["Location"]
    finally:
        with proxied.app_context():
            db.engine.dispose()  # its own pool of connections to the shared test database
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "SameSite=None" in cookie and "HttpOnly" in cookie


def test_pages_speak_english_on_request(browser: LtiBrowser) -> None:
    response = browser.launch_with()
    launch_id = launch_id_of(response)
    french = browser.http.get(browser.base_url + "/learner/", params={"launch": launch_id}).text
    assert "Mon parcours" in french and '<html lang="fr">' in french
    english = browser.http.get(
        browser.base_url + "/learner/", params={"launch": launch_id, "lang": "en"}
    ).text
    assert "My learning path" in english and '<html lang="en">' in english


def test_home_page_offers_both_demo_launches(live_server: LiveServer) -> None:
    page = requests.get(live_server.url + "/", timeout=5).text
    assert "/demo/course?as=learner" in page and "/demo/course?as=instructor" in page
    assert live_server.url + "/lti/login" in page


def test_production_app_has_no_demo_platform(tmp_path: Path) -> None:
    app = create_app(
        standalone_config(
            tmp_path,
            ENV="production",
            BASE_URL="https://socle.example.org",
            CERTIFICATE_ISSUER_EMAIL="certificats@socle.example.org",
        )
    )
    assert "socle_demo_platform" not in app.extensions
    assert app.test_client().get("/demo/").status_code == 404


def test_logs_carry_no_token_email_or_name(browser: LtiBrowser, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    login = browser.start_login()
    claims = browser.platform.claims(login.nonce, email="personne@exemple.fr", name="Prénom Nom-Unique")
    token = browser.platform.sign(claims)
    assert browser.launch(token, login.state).status_code == 200
    browser.launch(token, login.state)  # a refused replay is logged too
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert "refused POST /lti/launch: replayed_launch" in text
    for secret in (
        token,
        token.split(".")[1][:40],
        login.nonce,
        login.state,
        "personne@exemple.fr",
        "Nom-Unique",
    ):
        assert secret not in text


def test_the_launch_locale_picks_the_language(browser: LtiBrowser) -> None:
    response = browser.launch_with(launch_presentation={"document_target": "iframe", "locale": "en-GB"})
    assert response.status_code == 200 and "My learning path" in response.text
    again = browser.reload(response)
    assert "My learning path" in again.text  # remembered with the launch, not only on the first page
