"""xapi.api.LrsApi on its own: werkzeug requests in, werkzeug responses out, a plain SQLAlchemy session, no
Flask and no application (the wire through Socle is the functional tests' and ADL's suite's)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request, Response

from xapi.api import VERSION, LrsApi, hash_secret
from xapi.models import Base, Client

KEY, SECRET = "standalone-key", "standalone-secret"
STATEMENT_ID = "3f4c1d52-8a0e-4a43-9a55-2b1a4e0d6c11"
ACTIVITY = "https://socle.example/activities/one"
AGENT = {"objectType": "Agent", "account": {"homePage": "https://lms.example", "name": "42"}}


def basic(key: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()


HEADERS = {"X-Experience-API-Version": "1.0.3", "Authorization": basic(KEY, SECRET)}


class Host:
    """What a host hands the API, with a count of the commits it asked for."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.commits = 0
        self.api = LrsApi(lambda: session, self.commit, dict, "https://lrs.example")

    def commit(self) -> None:
        self.commits += 1
        self.session.commit()

    def send(self, method: str, path: str, **kwargs: Any) -> Response:
        environ = EnvironBuilder(path=path, method=method, **kwargs).get_environ()
        return self.api.dispatch(Request(environ))


@pytest.fixture
def host() -> Iterator[Host]:
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.add(
            Client(
                name="standalone",
                key=KEY,
                secret_hash=hash_secret(SECRET),
                scopes=["all"],
                platform_ids=[],
                is_active=True,
            )
        )
        session.commit()
        yield Host(session)
    engine.dispose()


def statement() -> dict[str, Any]:
    return {
        "id": STATEMENT_ID,
        "actor": AGENT,
        "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
        "object": {"id": ACTIVITY},
    }


def test_about_needs_neither_version_nor_credentials(host: Host) -> None:
    response = host.send("GET", "/xapi/about")
    assert response.status_code == 200
    assert json.loads(response.get_data()) == {"version": [VERSION], "extensions": {}}
    assert response.headers["X-Experience-API-Version"] == VERSION
    assert "X-Experience-API-Consistent-Through" not in response.headers


def test_a_statement_request_without_the_version_header_is_a_json_400(host: Host) -> None:
    response = host.send("GET", "/xapi/statements", headers={"Authorization": basic(KEY, SECRET)})
    assert response.status_code == 400
    assert response.mimetype == "application/json"
    assert json.loads(response.get_data())["message"].startswith("missing X-Experience-API-Version")
    assert response.headers["X-Experience-API-Version"] == VERSION
    assert response.headers["X-Experience-API-Consistent-Through"].endswith("Z")


def test_a_wrong_secret_is_a_401_with_the_basic_challenge(host: Host) -> None:
    headers = {**HEADERS, "Authorization": basic(KEY, "wrong")}
    response = host.send("GET", "/xapi/statements", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Basic realm="Socle xAPI"'
    assert json.loads(response.get_data()) == {"error": True, "message": "unknown key or wrong secret"}


def test_a_statement_posted_is_committed_and_read_back(host: Host) -> None:
    posted = host.send("POST", "/xapi/statements", headers=HEADERS, json=statement())
    assert posted.status_code == 200, posted.get_data()
    assert json.loads(posted.get_data()) == [STATEMENT_ID]
    assert host.commits == 1
    read = host.send("GET", "/xapi/statements", headers=HEADERS, query_string={"statementId": STATEMENT_ID})
    assert read.status_code == 200
    body = json.loads(read.get_data())
    assert body["object"] == {"objectType": "Activity", "id": ACTIVITY}
    assert body["authority"]["account"] == {"homePage": "https://lrs.example/xapi/clients", "name": KEY}
    assert "Last-Modified" in read.headers
    again = host.send(
        "POST", "/xapi/statements", headers=HEADERS, json={**statement(), "verb": {"id": "x:y"}}
    )
    assert again.status_code == 409, "the same id with other content"


def test_the_alternate_request_syntax_reads_headers_and_parameters_from_the_form(host: Host) -> None:
    host.send("POST", "/xapi/statements", headers=HEADERS, json=statement())
    response = host.send(
        "POST",
        "/xapi/statements",
        query_string={"method": "GET"},
        data={**HEADERS, "statementId": STATEMENT_ID},
    )
    assert response.status_code == 200, response.get_data()
    assert json.loads(response.get_data())["id"] == STATEMENT_ID


def test_options_answers_the_allowed_methods_after_the_same_checks(host: Host) -> None:
    assert host.send("OPTIONS", "/xapi/statements").status_code == 400
    response = host.send("OPTIONS", "/xapi/activities/state", headers=HEADERS)
    assert response.status_code == 200
    assert set(response.allow) == {"GET", "HEAD", "PUT", "POST", "DELETE", "OPTIONS"}


def test_a_failed_precondition_on_a_document_is_412(host: Host) -> None:
    query = {"activityId": ACTIVITY, "agent": json.dumps(AGENT), "stateId": "s"}
    response = host.send(
        "PUT",
        "/xapi/activities/state",
        headers={**HEADERS, "If-Match": '"nope"'},
        query_string=query,
        data=b"{}",
        content_type="application/json",
    )
    assert response.status_code == 412
    assert json.loads(response.get_data())["error"] is True
    assert host.commits == 0


def test_what_is_not_the_apis_to_answer_goes_up_to_the_host(host: Host) -> None:
    with pytest.raises(NotFound):
        host.send("GET", "/xapi/nowhere", headers=HEADERS)
    with pytest.raises(MethodNotAllowed):
        host.send("PATCH", "/xapi/statements", headers=HEADERS)
