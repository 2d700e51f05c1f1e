"""Socle's Statement API (/xapi) over real HTTP: versions, credentials and scopes, storing, equal resends
and conflicts, every filter, paging, formats, voiding, and visibility per platform."""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime
from typing import Any

import pytest
import requests
from flask import Flask
from werkzeug.http import http_date

from tests.conftest import LiveServer

V = {"X-Experience-API-Version": "1.0.3"}


def make_client(app: Flask, *scopes: str, platforms: tuple[str, ...] = ()) -> tuple[str, str]:
    args = ["xapi", "client", "add", "--name", f"test-{uuid.uuid4().hex[:6]}"]
    for scope in scopes:
        args += ["--scope", scope]
    for platform in platforms:
        args += ["--platform", platform]
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code == 0, result.output
    key, secret = result.output.strip().splitlines()[-1].split(":", 1)
    return key, secret


class Lrs:
    def __init__(self, url: str, auth: tuple[str, str]) -> None:
        self.url = url + "/xapi/statements"
        self.auth = auth

    def post(self, body: Any, headers: dict[str, str] | None = None) -> requests.Response:
        return requests.post(
            self.url,
            data=json.dumps(body),
            auth=self.auth,
            timeout=10,
            headers={**V, "Content-Type": "application/json", **(headers or {})},
        )

    def put(self, statement_id: str, body: Any) -> requests.Response:
        return requests.put(
            self.url,
            params={"statementId": statement_id},
            data=json.dumps(body),
            auth=self.auth,
            timeout=10,
            headers={**V, "Content-Type": "application/json"},
        )

    def get(self, **params: Any) -> requests.Response:
        return requests.get(self.url, params=params, auth=self.auth, timeout=10, headers=V)


@pytest.fixture
def lrs(app: Flask, live_server: LiveServer) -> Lrs:
    return Lrs(live_server.url, make_client(app, "all"))


def statement(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "actor": {
            "objectType": "Agent",
            "account": {"homePage": "https://lms.example", "name": uuid.uuid4().hex},
        },
        "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced", "display": {"en": "experienced"}},
        "object": {"id": "https://socle.example/activities/" + uuid.uuid4().hex},
        "timestamp": "2026-11-26T10:00:00.000Z",
    }
    data.update(changes)
    return data


def test_about_needs_no_credentials(live_server: LiveServer) -> None:
    response = requests.get(live_server.url + "/xapi/about", timeout=5)
    assert response.status_code == 200 and "1.0.3" in response.json()["version"]
    assert response.headers["X-Experience-API-Version"] == "1.0.3"


def test_the_version_header_is_required(lrs: Lrs) -> None:
    response = requests.get(lrs.url, auth=lrs.auth, timeout=5)
    assert response.status_code == 400 and "X-Experience-API-Version" in response.json()["message"]
    assert response.headers["X-Experience-API-Version"] == "1.0.3"
    response = requests.get(lrs.url, auth=lrs.auth, timeout=5, headers={"X-Experience-API-Version": "2.0.0"})
    assert response.status_code == 400


def test_credentials_and_scopes(app: Flask, lrs: Lrs) -> None:
    assert requests.get(lrs.url, headers=V, timeout=5).status_code == 401
    assert requests.get(lrs.url, headers=V, auth=(lrs.auth[0], "wrong"), timeout=5).status_code == 401
    reader = Lrs(lrs.url.removesuffix("/xapi/statements"), make_client(app, "statements/read"))
    response = reader.post(statement())
    assert response.status_code == 403 and "statements/write" in response.json()["message"]
    writer = Lrs(lrs.url.removesuffix("/xapi/statements"), make_client(app, "statements/write"))
    assert writer.post(statement()).status_code == 200
    assert writer.get().status_code == 403


def test_post_put_and_get_a_statement(lrs: Lrs) -> None:
    one, two = statement(), statement()
    response = lrs.post([one, two])
    assert response.status_code == 200 and response.json() == [one["id"], two["id"]]
    third = statement()
    del third["id"]
    assigned = lrs.post(third).json()[0]
    assert uuid.UUID(assigned)
    put = statement()
    assert lrs.put(put["id"], put).status_code == 204
    got = lrs.get(statementId=put["id"])
    assert got.status_code == 200
    body = got.json()
    assert body["id"] == put["id"] and body["version"] == "1.0.0" and body["stored"].endswith("Z")
    assert body["authority"]["objectType"] == "Agent"
    # An HTTP date (to the second) of the stored time.
    assert got.headers["Last-Modified"] == http_date(datetime.fromisoformat(body["stored"]))


def test_the_authority_names_socle_whatever_host_header_the_client_sends(lrs: Lrs, app: Flask) -> None:
    posted = statement()
    assert lrs.post(posted, headers={"Host": "lrs.attacker.example"}).status_code == 200
    authority = lrs.get(statementId=posted["id"]).json()["authority"]
    assert authority["account"]["homePage"] == app.config["BASE_URL"] + "/xapi/clients"


def test_an_equal_resend_is_accepted_and_a_different_one_conflicts(lrs: Lrs) -> None:
    original = statement()
    assert lrs.post(original).status_code == 200
    # Same statement: only timestamp representation, authority and version may differ.
    resend = {**original, "timestamp": "2026-11-26T10:00:00Z", "version": "1.0.0"}
    assert lrs.put(original["id"], resend).status_code == 204
    assert lrs.post(resend).status_code == 200
    changed = {**original, "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"}}
    response = lrs.put(original["id"], changed)
    assert response.status_code == 409
    assert lrs.get(statementId=original["id"]).json()["verb"]["id"].endswith("experienced")
    batch = lrs.post([statement(), changed])
    assert batch.status_code == 409  # nothing of the batch is stored


@pytest.mark.parametrize(
    ("bad", "fragment"),
    [
        ({"result": {"score": {"scaled": 5}}}, "scaled"),
        ({"context": {"contextActivities": "should fail"}}, "contextActivities"),
        ({"verb": {"id": "not an iri"}}, "verb"),
        (
            {"actor": {"mbox": "mailto:a@b.example", "account": {"homePage": "https://x", "name": "y"}}},
            "actor",
        ),
        ({"unknown": 1}, "unknown"),
    ],
)
def test_invalid_statements_get_400_and_do_not_poison_queries(
    lrs: Lrs, bad: dict[str, Any], fragment: str
) -> None:
    response = lrs.post(statement(**bad))
    assert response.status_code == 400 and fragment in response.json()["message"]
    for params in (
        {"related_activities": "true", "activity": "https://socle.example/x"},
        {"limit": "5"},
        {"verb": "http://adlnet.gov/expapi/verbs/experienced"},
    ):
        assert lrs.get(**params).status_code == 200


def test_malformed_requests_get_readable_400s(lrs: Lrs) -> None:
    assert lrs.post("a JSON string, not a statement").status_code == 400
    raw = requests.post(
        lrs.url, data="{not json", auth=lrs.auth, timeout=5, headers={**V, "Content-Type": "application/json"}
    )
    assert raw.status_code == 400 and "not valid JSON" in raw.json()["message"]
    latin1 = requests.post(
        lrs.url,
        data='{"verb": "é"}'.encode("latin-1"),
        auth=lrs.auth,
        timeout=5,
        headers={**V, "Content-Type": "application/json"},
    )
    assert latin1.status_code == 400 and "not UTF-8" in latin1.json()["message"]
    deep = requests.post(
        lrs.url,
        data="[" * 100_000 + "]" * 100_000,
        auth=lrs.auth,
        timeout=5,
        headers={**V, "Content-Type": "application/json"},
    )
    assert deep.status_code == 400 and "nested too deeply" in deep.json()["message"]
    assert lrs.get(agent="[" * 2_000).status_code == 400  # deeper than the JSON decoder follows
    assert lrs.get(limit="ten").status_code == 400
    assert lrs.get(since="yesterday").status_code == 400
    assert lrs.get(agent="{not json").status_code == 400
    assert lrs.get(nonsense="1").status_code == 400
    assert lrs.get(statementId=str(uuid.uuid4()), verb="http://x.example/v").status_code == 400
    assert lrs.get(statementId=str(uuid.uuid4())).status_code == 404


def test_filters(lrs: Lrs) -> None:
    actor = {
        "objectType": "Agent",
        "account": {"homePage": "https://lms.example", "name": f"f-{uuid.uuid4().hex}"},
    }
    registration = str(uuid.uuid4())
    course = "https://socle.example/courses/" + uuid.uuid4().hex
    verb = "http://adlnet.gov/expapi/verbs/answered"
    first = statement(
        actor=actor,
        verb={"id": verb},
        context={"registration": registration, "contextActivities": {"parent": {"id": course}}},
    )
    second = statement(actor=actor)
    lrs.post(first)
    time.sleep(0.01)
    lrs.post(second)
    agent = json.dumps(actor)
    by_agent = lrs.get(agent=agent).json()["statements"]
    assert [s["id"] for s in by_agent] == [second["id"], first["id"]]  # newest first
    assert [s["id"] for s in lrs.get(agent=agent, ascending="true").json()["statements"]] == [
        first["id"],
        second["id"],
    ]
    assert [s["id"] for s in lrs.get(agent=agent, verb=verb).json()["statements"]] == [first["id"]]
    assert [s["id"] for s in lrs.get(registration=registration).json()["statements"]] == [first["id"]]
    assert lrs.get(activity=course).json()["statements"] == []
    assert [s["id"] for s in lrs.get(activity=course, related_activities="true").json()["statements"]] == [
        first["id"]
    ]
    stored_first = lrs.get(statementId=first["id"]).json()["stored"]
    assert [s["id"] for s in lrs.get(agent=agent, since=stored_first).json()["statements"]] == [second["id"]]
    assert [s["id"] for s in lrs.get(agent=agent, until=stored_first).json()["statements"]] == [first["id"]]
    # contextActivities given as one object is stored as an array
    assert isinstance(lrs.get(statementId=first["id"]).json()["context"]["contextActivities"]["parent"], list)


def test_related_agents(lrs: Lrs) -> None:
    instructor = {
        "objectType": "Agent",
        "account": {"homePage": "https://lms.example", "name": uuid.uuid4().hex},
    }
    taught = statement(context={"instructor": instructor})
    lrs.post(taught)
    assert lrs.get(agent=json.dumps(instructor)).json()["statements"] == []
    found = lrs.get(agent=json.dumps(instructor), related_agents="true").json()["statements"]
    assert [s["id"] for s in found] == [taught["id"]]


def test_paging_with_more(lrs: Lrs) -> None:
    actor = {"objectType": "Agent", "account": {"homePage": "https://lms.example", "name": uuid.uuid4().hex}}
    ids = []
    for _ in range(5):
        item = statement(actor=actor)
        ids.append(item["id"])
        lrs.post(item)
    seen: list[str] = []
    page = lrs.get(agent=json.dumps(actor), limit="2").json()
    while True:
        seen += [s["id"] for s in page["statements"]]
        if not page["more"]:
            break
        assert page["more"].startswith("/xapi/statements?")
        page = requests.get(
            lrs.url.removesuffix("/xapi/statements") + page["more"], auth=lrs.auth, headers=V, timeout=5
        ).json()
    assert seen == list(reversed(ids))
    assert lrs.get(more="garbage!").status_code == 400


def test_formats(lrs: Lrs) -> None:
    item = statement(
        verb={
            "id": "http://adlnet.gov/expapi/verbs/experienced",
            "display": {"fr": "a consulté", "en": "experienced"},
        },
        object={
            "id": "https://socle.example/a/" + uuid.uuid4().hex,
            "objectType": "Activity",
            "definition": {"name": {"fr": "Page", "en": "Page EN"}},
        },
    )
    lrs.post(item)
    ids = lrs.get(statementId=item["id"], format="ids").json()
    assert ids["object"] == {"id": item["object"]["id"]}
    assert "display" not in ids["verb"]
    canonical = requests.get(
        lrs.url,
        params={"statementId": item["id"], "format": "canonical"},
        auth=lrs.auth,
        headers={**V, "Accept-Language": "en"},
        timeout=5,
    ).json()
    assert canonical["verb"]["display"] == {"en": "experienced"}
    assert lrs.get(statementId=item["id"], format="pretty").status_code == 400


def test_voiding(lrs: Lrs) -> None:
    target = statement()
    lrs.post(target)
    voiding = statement(
        verb={"id": "http://adlnet.gov/expapi/verbs/voided"},
        object={"objectType": "StatementRef", "id": target["id"]},
    )
    assert lrs.post(voiding).status_code == 200
    assert lrs.get(statementId=target["id"]).status_code == 404
    assert lrs.get(voidedStatementId=target["id"]).json()["id"] == target["id"]
    # The voided statement is gone from the filters; the voiding statement, which targets a statement they
    # match, comes back in its place (xAPI 2.1.3, filter conditions for StatementRefs).
    assert [
        s["id"]
        for s in lrs.get(
            verb="http://adlnet.gov/expapi/verbs/experienced", agent=json.dumps(target["actor"])
        ).json()["statements"]
    ] == [voiding["id"]]
    # the voiding statement itself stays visible
    assert lrs.get(statementId=voiding["id"]).status_code == 200
    bad = statement(verb={"id": "http://adlnet.gov/expapi/verbs/voided"})
    assert lrs.post(bad).status_code == 400


def test_a_client_sees_only_its_platforms_and_its_own(app: Flask, live_server: LiveServer, lrs: Lrs) -> None:
    demo = app.extensions["socle_demo_platform"]
    mine = Lrs(live_server.url, make_client(app, "statements/read/mine", "statements/write"))
    posted = statement()
    mine.post(posted)
    others = statement()
    lrs.post(others)
    seen = {s["id"] for s in mine.get(limit="0").json()["statements"]}
    assert posted["id"] in seen and others["id"] not in seen
    assert mine.get(statementId=others["id"]).status_code == 404
    bound = Lrs(live_server.url, make_client(app, "statements/read", platforms=(demo.issuer,)))
    seen = {s["id"] for s in bound.get(limit="0").json()["statements"]}
    assert others["id"] not in seen  # posted by another client, bound to no platform
