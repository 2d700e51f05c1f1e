"""Shared fixtures: a real database (SQLite, or PostgreSQL with LTI_TOOL_TEST_DATABASE_URL), Socle served
over real HTTP on loopback with its demo platform as the fake LMS, and browser-like HTTP clients."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from werkzeug.serving import make_server

from lti_tool import create_app
from lti_tool.config import normalise_database_url
from lti_tool.db import db
from lti_tool.learners.models import Context, Enrolment, Learner
from lti_tool.lti.models import Launch, LoginState
from tests.helpers import LtiBrowser, Platform

TEST_SECRET = "test-secret-" + "x" * 40
SECOND_CLIENT_ID = "socle-demo-second"
SECOND_DEPLOYMENT_ID = "socle-demo-second-1"
EXTRA_DEPLOYMENT_ID = "socle-demo-2"


@contextlib.contextmanager
def new_database(prefix: str, sqlite_file: Path) -> Iterator[str]:
    """An empty database of its own: a SQLite file, or a new PostgreSQL database on the server named by
    LTI_TOOL_TEST_DATABASE_URL, dropped afterwards."""
    server_url = os.environ.get("LTI_TOOL_TEST_DATABASE_URL")
    if not server_url or server_url.startswith("sqlite"):
        yield "sqlite:///" + str(sqlite_file)
        return
    admin_url = make_url(normalise_database_url(server_url))
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = :n AND pid <> pg_backend_pid()"
                ),
                {"n": name},
            )
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh database for the session: a SQLite file, or a new PostgreSQL database dropped afterwards."""
    with new_database("socle_test", tmp_path_factory.mktemp("db") / "socle-test.sqlite3") as url:
        yield url


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_config(database_url: str, instance: Path, port: int, **overrides: Any) -> dict[str, Any]:
    base = f"http://127.0.0.1:{port}"
    config: dict[str, Any] = {
        "ENV": "testing",
        "TESTING": True,
        "SECRET_KEY": TEST_SECRET,
        "INSTANCE_PATH": str(instance),
        "BASE_URL": base,
        "DATABASE_URL": database_url,
        "LTI_CONFIG_PATH": str(instance / "lti_config.json"),
        # Refetch on every unknown kid, so tests see exactly one refetch per launch.
        "JWKS_REFETCH_MIN_SECONDS": 0,
        "DEMO_EXTRA_TOOLS": [
            {
                "client_id": SECOND_CLIENT_ID,
                "deployment_id": SECOND_DEPLOYMENT_ID,
                "login_url": base + "/lti/login",
                "redirect_uris": [base + "/lti/launch"],
                "target_link_uri": base + "/lti/launch",
            }
        ],
    }
    config.update(overrides)
    return config


def production_config(instance: Path, **overrides: Any) -> dict[str, Any]:
    """``standalone_config`` with what production requires to start (https, the issuer's address)."""
    settings = {
        "ENV": "production",
        "BASE_URL": "https://socle.example.org",
        "CERTIFICATE_ISSUER_EMAIL": "certificats@socle.example.org",
        **overrides,
    }
    return standalone_config(instance, **settings)


def standalone_config(instance: Path, **overrides: Any) -> dict[str, Any]:
    """Settings for an app of its own (no live server), with a SQLite file in its instance folder."""
    config: dict[str, Any] = {
        "ENV": "testing",
        "SECRET_KEY": TEST_SECRET,
        "INSTANCE_PATH": str(instance),
        "DATABASE_URL": "sqlite:///" + str(instance / "db.sqlite3"),
        "LTI_CONFIG_PATH": str(instance / "lti_config.json"),
        "DEMO_PLATFORM": False,
    }
    config.update(overrides)
    return config


class LiveServer:
    def __init__(self, app: Flask, port: int) -> None:
        self.app = app
        self.url = f"http://127.0.0.1:{port}"
        self._server = make_server("127.0.0.1", port, app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)


@pytest.fixture(scope="session")
def live_server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """Socle on a loopback port, migrated, with the demo platform registered (plus a second client and
    a second deployment of the same issuer, for the multi-client and deployment cases)."""
    instance = tmp_path_factory.mktemp("instance")
    port = free_port()
    app = create_app(make_config(database_url, instance, port))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["setup"])
    assert result.exit_code == 0, result.output
    demo = app.extensions["socle_demo_platform"]
    for client_id, deployment in (
        (SECOND_CLIENT_ID, SECOND_DEPLOYMENT_ID),
        ("socle-demo", EXTRA_DEPLOYMENT_ID),
    ):
        result = runner.invoke(
            args=[
                "platform",
                "add",
                "--issuer",
                demo.issuer,
                "--client-id",
                client_id,
                "--auth-login-url",
                demo.auth_url,
                "--auth-token-url",
                demo.token_url,
                "--key-set-url",
                demo.jwks_url,
                "--deployment-id",
                deployment,
            ]
        )
        assert result.exit_code == 0, result.output
    server = LiveServer(app, port)
    server.start()
    yield server
    server.stop()
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def app(live_server: LiveServer) -> Flask:
    return live_server.app


@pytest.fixture
def platform(live_server: LiveServer) -> Platform:
    """The demo platform, seen from a test: it signs whatever claims a case needs."""
    return Platform(live_server.app.extensions["socle_demo_platform"], live_server.url)


@pytest.fixture
def browser(live_server: LiveServer, platform: Platform) -> LtiBrowser:
    """A cookie-keeping HTTP client, like one person's browser."""
    return LtiBrowser(live_server.url, platform)


@pytest.fixture
def other_browser(live_server: LiveServer, platform: Platform) -> LtiBrowser:
    return LtiBrowser(live_server.url, platform)


def recorded(app: Flask) -> dict[str, int]:
    """How many learners, contexts, enrolments, launches and consumed logins the database holds."""
    with app.app_context():
        counts = {
            model.__tablename__: db.session.scalar(select(func.count()).select_from(model))
            for model in (Learner, Context, Enrolment, Launch)
        }
        # A refused launch consumes no login either (its one-time nonce stays unused).
        counts["consumed_logins"] = db.session.scalar(
            select(func.count()).select_from(LoginState).where(LoginState.used_at.is_not(None))
        )
        db.session.remove()
        return counts  # type: ignore[return-value]


@pytest.fixture
def nothing_recorded(app: Flask) -> Iterator[None]:
    """Assert that the test leaves no learner, context, enrolment or launch behind."""
    before = recorded(app)
    yield
    assert recorded(app) == before


@pytest.fixture
def jwks_fetches(app: Flask):  # type: ignore[no-untyped-def]
    """How many times Socle has fetched the demo platform's key set (for its main client id)."""
    from lti_tool.learners.models import Platform as PlatformRow

    def count() -> int:
        with app.app_context():
            value = db.session.scalar(
                select(PlatformRow.jwks_fetch_count).where(PlatformRow.client_id == "socle-demo")
            )
            db.session.remove()
            return int(value or 0)

    return count


@pytest.fixture
def content(app: Flask):  # type: ignore[no-untyped-def]
    """The programme's content as the running app loaded it."""
    return app.extensions["socle_content"]
