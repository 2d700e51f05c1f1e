"""Service URLs a launch carries (NRPS roster, AGS line items) are called only on the registration's own
origins: a launch naming another server makes Socle send it neither a request nor the platform's token."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import select
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from lti_tool.db import db
from lti_tool.lti.claims import AGS_ENDPOINT, NRPS
from lti_tool.lti.models import ScoreOutbox
from lti_tool.lti.platform_services import AGS_LINEITEM, AGS_SCORE
from tests.conftest import free_port
from tests.functional.test_lti_advantage import deliver_scores, pass_quiz
from tests.functional.test_player import Learner as Person
from tests.helpers import LtiBrowser

LTI = "https://purl.imsglobal.org/spec/lti/claim/"


@pytest.fixture
def elsewhere() -> Iterator[tuple[str, list[str]]]:
    """A server on another loopback port (another origin) that records every request and its bearer."""
    seen: list[str] = []

    @Request.application
    def record(request: Request) -> Response:
        seen.append(f"{request.method} {request.path} {request.headers.get('Authorization', '')}")
        return Response('{"members": []}', content_type="application/json")

    port = free_port()
    server = make_server("127.0.0.1", port, record, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{port}", seen
    server.shutdown()


def own_course() -> dict[str, str]:
    """A course of its own, so that its service URLs touch no other test's course."""
    return {"id": f"course-{time.time_ns()}", "label": "ELSEWHERE", "title": "Cours ailleurs"}


def test_a_roster_url_on_another_origin_is_never_called(
    browser: LtiBrowser, elsewhere: tuple[str, list[str]]
) -> None:
    url, seen = elsewhere
    teacher = Person(
        browser,
        user="instructor",
        **{
            LTI + "context": own_course(),
            NRPS: {"context_memberships_url": url + "/memberships", "service_versions": ["2.0"]},
        },
    )
    page = teacher.get("/staff/")
    assert page.status_code == 200 and 'role="alert"' in page.text
    assert seen == []  # no request, so no access token of the platform's either


def test_a_gradebook_url_on_another_origin_is_never_called(
    app: Flask, browser: LtiBrowser, content: object, elsewhere: tuple[str, list[str]]
) -> None:
    url, seen = elsewhere
    learner = Person(
        browser,
        **{
            LTI + "context": own_course(),
            AGS_ENDPOINT: {
                "scope": [AGS_LINEITEM, AGS_SCORE],
                "lineitems": url + "/lineitems",
                "lineitem": url + "/lineitems/1/lineitem",
            },
        },
    )
    pass_quiz(learner, content, "M3")
    deliver_scores(app)
    with app.app_context():
        row = db.session.scalars(select(ScoreOutbox).where(ScoreOutbox.sub == learner.sub)).first()
        assert row is not None and row.status == "refused"
        assert "not on the platform's own site" in (row.last_error or "")
        db.session.remove()
    assert seen == []
