"""The one commit point of a request (db.end_requests_with_commit): a success is committed before its
response leaves, a refusal records nothing, and a COMMIT that fails is an error page, never a silent loss."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import text

from lti_tool import create_app
from lti_tool.db import db
from tests.conftest import standalone_config


@pytest.fixture
def app(tmp_path: Path) -> Flask:
    app = create_app(standalone_config(tmp_path))
    app.config["PROPAGATE_EXCEPTIONS"] = False  # the error page a person would get, not a traceback
    with app.app_context():
        db.create_all()
        db.session.execute(text("CREATE TABLE probe_parent (id INTEGER PRIMARY KEY)"))
        # Checked at COMMIT only: a row pointing at no parent makes the commit itself fail.
        db.session.execute(
            text(
                "CREATE TABLE probe (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES probe_parent (id) "
                "DEFERRABLE INITIALLY DEFERRED)"
            )
        )
        db.session.commit()

    def write(parent_id: int | None, status: int) -> tuple[str, int]:
        db.session.execute(text("INSERT INTO probe (parent_id) VALUES (:p)"), {"p": parent_id})
        return "written", status

    app.add_url_rule("/probe/saved", "saved", lambda: write(None, 200))
    app.add_url_rule("/probe/redirected", "redirected", lambda: write(None, 303))
    app.add_url_rule("/probe/refused", "refused", lambda: write(None, 409))
    app.add_url_rule("/probe/commit-fails", "commit_fails", lambda: write(12345, 200))
    return app


def probes(app: Flask) -> int:
    with app.app_context():
        count = db.session.scalar(text("SELECT count(*) FROM probe"))
        db.session.remove()
    return int(count or 0)


def test_a_successful_request_is_committed_without_the_view_committing(app: Flask) -> None:
    client = app.test_client()
    assert client.get("/probe/saved").status_code == 200
    assert client.get("/probe/redirected").status_code == 303
    assert probes(app) == 2


def test_a_refused_request_records_nothing(app: Flask) -> None:
    assert app.test_client().get("/probe/refused").status_code == 409
    assert probes(app) == 0


def test_a_commit_that_fails_is_an_error_page_not_a_page_that_says_saved(app: Flask) -> None:
    response = app.test_client().get("/probe/commit-fails")
    assert response.status_code == 500
    assert b"written" not in response.data
    assert probes(app) == 0
