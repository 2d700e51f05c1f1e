"""The Statement API's conformance fixes (issue 15), over real HTTP: the consistency header on every
response, kept versions, empty definitions, filters that also return statements targeting a match, the
Alternate Request Syntax, canonical and ids formats, HTTP dates, and bad input refused with a 400."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

import pytest
import requests
from flask import Flask

from tests.conftest import LiveServer
from tests.functional.test_xapi_api import Lrs, V, make_client, statement

VOIDED = "http://adlnet.gov/expapi/verbs/voided"


@pytest.fixture
def lrs(app: Flask, live_server: LiveServer) -> Lrs:
    return Lrs(live_server.url, make_client(app, "all"))


def ids_of(response: requests.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["statements"]]


def test_every_statement_response_says_how_consistent_it_is(lrs: Lrs) -> None:
    item = statement()
    responses = [
        lrs.post(item),
        lrs.put(str(uuid.uuid4()), statement()),
        lrs.get(statementId=item["id"]),
        lrs.get(statementId=str(uuid.uuid4())),  # 404
        lrs.get(verb="not an iri", limit="x"),  # 400
        lrs.post({"actor": "nobody"}),  # 400
        requests.get(lrs.url, auth=("nobody", "nothing"), headers=V, timeout=5),  # 401
        lrs.get(),
    ]
    for response in responses:
        header = response.headers.get("X-Experience-API-Consistent-Through")
        assert header, (response.status_code, response.text)
        assert header.endswith("Z") and "T" in header


def test_the_version_sent_is_kept_and_a_missing_one_is_set(lrs: Lrs) -> None:
    sent = statement(version="1.0.3")
    missing = statement()
    assert lrs.post([sent, missing]).status_code == 200
    assert lrs.get(statementId=sent["id"]).json()["version"] == "1.0.3"
    assert lrs.get(statementId=missing["id"]).json()["version"] == "1.0.0"


def test_an_empty_definition_is_valid_also_in_a_substatement(lrs: Lrs) -> None:
    activity = "https://socle.example/empty/" + uuid.uuid4().hex
    plain = statement(object={"objectType": "Activity", "id": activity, "definition": {}})
    sub = statement(
        object={
            "objectType": "SubStatement",
            "actor": {"mbox": "mailto:sub@example.org"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/attempted"},
            "object": {"id": activity, "definition": {}},
        }
    )
    response = lrs.post([plain, sub])
    assert response.status_code == 200, response.text
    assert lrs.get(statementId=plain["id"]).json()["object"]["definition"] == {}


def test_filters_also_return_statements_that_target_a_match(lrs: Lrs) -> None:
    verb = "https://socle.example/verbs/" + uuid.uuid4().hex
    target = statement(verb={"id": verb})
    referring = statement(object={"objectType": "StatementRef", "id": target["id"]})
    unrelated = statement()
    assert lrs.post([target, referring, unrelated]).status_code == 200
    assert sorted(ids_of(lrs.get(verb=verb))) == sorted([target["id"], referring["id"]])
    activity = target["object"]["id"]
    assert sorted(ids_of(lrs.get(activity=activity))) == sorted([target["id"], referring["id"]])
    agent = json.dumps(target["actor"])
    assert referring["id"] in ids_of(lrs.get(agent=agent))
    # A voiding statement comes back with the filters its (now voided) target matched.
    voiding = statement(verb={"id": VOIDED}, object={"objectType": "StatementRef", "id": target["id"]})
    assert lrs.post(voiding).status_code == 200
    assert sorted(ids_of(lrs.get(verb=verb))) == sorted([referring["id"], voiding["id"]])
    # since/until apply to the statements returned, not to their targets.
    stored = lrs.get(statementId=voiding["id"]).json()["stored"]
    assert ids_of(lrs.get(verb=verb, since=stored)) == []
    assert ids_of(lrs.get(verb=verb, until=stored)) == [voiding["id"], referring["id"]]


def alternate(
    to: Lrs, method: str, form: dict[str, str], auth: tuple[str, str] | None = None
) -> requests.Response:
    key, secret = auth or to.auth
    token = requests.auth._basic_auth_str(key, secret)  # type: ignore[attr-defined]
    return requests.post(
        to.url,
        params={"method": method},
        data={"Authorization": token, "X-Experience-API-Version": "1.0.3", **form},
        timeout=10,
    )


def test_the_alternate_request_syntax(lrs: Lrs) -> None:
    item = statement()
    put = alternate(
        lrs,
        "PUT",
        {"statementId": item["id"], "Content-Type": "application/json", "content": json.dumps(item)},
    )
    assert put.status_code == 204, put.text
    got = alternate(lrs, "GET", {"statementId": item["id"]})
    assert got.status_code == 200, got.text
    assert got.json()["id"] == item["id"]
    other = statement()
    posted = alternate(lrs, "POST", {"Content-Type": "application/json", "content": json.dumps(other)})
    assert posted.status_code == 200 and posted.json() == [other["id"]]
    found = alternate(lrs, "GET", {"verb": item["verb"]["id"], "agent": json.dumps(item["actor"])})
    assert [s["id"] for s in found.json()["statements"]] == [item["id"]]
    # The credentials in the form are checked; other query parameters and methods are refused.
    assert alternate(lrs, "GET", {"statementId": item["id"]}, auth=("nobody", "x")).status_code == 401
    refused = requests.post(
        lrs.url, params={"method": "GET", "statementId": item["id"]}, data={"a": "b"}, timeout=10
    )
    assert refused.status_code == 400
    assert alternate(lrs, "get", {}).status_code == 400
    assert alternate(lrs, "DELETE", {}).status_code == 405


def test_canonical_follows_accept_language_and_ids_drops_activity_details(lrs: Lrs) -> None:
    item = statement(
        verb={
            "id": "http://adlnet.gov/expapi/verbs/experienced",
            "display": {"fr": "a consulté", "de": "erlebt"},
        },
        object={
            "id": "https://socle.example/a/" + uuid.uuid4().hex,
            "objectType": "Activity",
            "definition": {"name": {"fr": "Page", "de": "Seite", "en-US": "Page EN"}},
        },
    )
    assert lrs.post(item).status_code == 200

    def canonical(language: str) -> dict[str, Any]:
        response = requests.get(
            lrs.url,
            params={"statementId": item["id"], "format": "canonical"},
            auth=lrs.auth,
            headers={**V, "Accept-Language": language},
            timeout=5,
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    german = canonical("de-DE, de;q=0.9, fr;q=0.5")
    assert german["verb"]["display"] == {"de": "erlebt"}
    assert german["object"]["definition"]["name"] == {"de": "Seite"}
    assert canonical("en-US")["object"]["definition"]["name"] == {"en-US": "Page EN"}
    ids = lrs.get(statementId=item["id"], format="ids").json()
    assert ids["object"] == {"id": item["object"]["id"]}


def test_last_modified_is_an_http_date(lrs: Lrs) -> None:
    item = statement()
    lrs.post(item)
    response = lrs.get(statementId=item["id"])
    stored = response.json()["stored"]
    modified = parsedate_to_datetime(response.headers["Last-Modified"])
    assert response.headers["Last-Modified"].endswith(" GMT")
    assert abs(modified.timestamp() - datetime.fromisoformat(stored).timestamp()) < 1


def test_a_number_too_long_to_read_is_a_400(lrs: Lrs) -> None:
    item = statement(result={"extensions": {"https://socle.example/x": 1}})
    body = json.dumps(item).replace(
        '"https://socle.example/x": 1', '"https://socle.example/x": 1' + "0" * 5000
    )
    response = requests.post(
        lrs.url, data=body, auth=lrs.auth, headers={**V, "Content-Type": "application/json"}, timeout=10
    )
    assert response.status_code == 400, response.text
    assert "4,300 digits" in response.json()["message"]


def test_identifiers_wider_than_their_index_are_refused_not_cut(lrs: Lrs) -> None:
    long_verb = "https://socle.example/verbs/" + "v" * 600
    long_activity = "https://socle.example/a/" + "a" * 1100
    long_agent = {"account": {"homePage": "https://lms.example", "name": "n" * 800}}
    for item in (
        statement(verb={"id": long_verb}),
        statement(object={"id": long_activity}),
        statement(actor=long_agent),
    ):
        response = lrs.post(item)
        assert response.status_code == 400, response.text
        assert "longer than" in response.json()["message"]
        assert lrs.get(statementId=item["id"]).status_code == 404
    for params in ({"verb": long_verb}, {"activity": long_activity}, {"agent": json.dumps(long_agent)}):
        response = lrs.get(**params)
        assert response.status_code == 400, response.text
    # At the width itself, an identifier is stored and found exactly.
    verb = "https://socle.example/verbs/" + "w" * (512 - len("https://socle.example/verbs/"))
    item = statement(verb={"id": verb})
    assert lrs.post(item).status_code == 200
    assert ids_of(lrs.get(verb=verb)) == [item["id"]]


def test_head_answers_every_get_resource_with_headers_and_no_body(lrs: Lrs) -> None:
    item = statement()
    assert lrs.post(item).status_code == 200
    base = lrs.url.removesuffix("/statements")
    for url, params in (
        (lrs.url, {"statementId": item["id"]}),
        (lrs.url, {}),
        (base + "/activities", {"activityId": item["object"]["id"]}),
        (base + "/agents", {"agent": json.dumps(item["actor"])}),
        (base + "/about", {}),
    ):
        got = requests.get(url, params=params, auth=lrs.auth, headers=V, timeout=5)
        head = requests.head(url, params=params, auth=lrs.auth, headers=V, timeout=5)
        assert (head.status_code, got.status_code) == (200, 200), (url, head.text, got.text)
        assert head.content == b""
        assert head.headers["Content-Type"] == got.headers["Content-Type"]
        assert head.headers["X-Experience-API-Version"] == "1.0.3"
    head = requests.head(lrs.url, params={"statementId": item["id"]}, auth=lrs.auth, headers=V, timeout=5)
    assert head.headers["Last-Modified"] and head.headers["X-Experience-API-Consistent-Through"]
    assert (
        requests.head(
            lrs.url, params={"statementId": str(uuid.uuid4())}, auth=lrs.auth, headers=V, timeout=5
        ).status_code
        == 404
    )


def test_the_agents_resource_gives_the_person_of_an_agent(lrs: Lrs) -> None:
    base = lrs.url.removesuffix("/statements")
    agent = {"objectType": "Agent", "name": "Ada", "mbox": "mailto:ada@example.org"}
    person = requests.get(
        base + "/agents", params={"agent": json.dumps(agent)}, auth=lrs.auth, headers=V, timeout=5
    )
    assert person.status_code == 200, person.text
    assert person.json() == {"objectType": "Person", "name": ["Ada"], "mbox": ["mailto:ada@example.org"]}
    for params in (
        {},
        {"agent": "{"},
        {"agent": json.dumps({"name": "no identifier"})},
        {"agent": "1" * 5000},
    ):
        refused = requests.get(base + "/agents", params=params, auth=lrs.auth, headers=V, timeout=5)
        assert refused.status_code == 400, (params, refused.text)
    assert (
        requests.get(base + "/agents", params={"agent": json.dumps(agent)}, headers=V, timeout=5).status_code
        == 401
    )


def test_the_activities_resource_merges_the_definitions_a_client_may_see(app: Flask, lrs: Lrs) -> None:
    base = lrs.url.removesuffix("/statements")
    activity = "https://socle.example/merged/" + uuid.uuid4().hex
    first = statement(
        object={
            "id": activity,
            "definition": {"name": {"fr": "Ancien nom", "en": "Name"}, "type": "https://t/a"},
        }
    )
    second = statement(
        object={"id": activity, "definition": {"name": {"fr": "Nom"}, "description": {"fr": "Une page"}}}
    )
    assert lrs.post(first).status_code == 200
    assert lrs.post(second).status_code == 200

    def fetch(auth: tuple[str, str], activity_id: str = activity) -> requests.Response:
        return requests.get(
            base + "/activities", params={"activityId": activity_id}, auth=auth, headers=V, timeout=5
        )

    got = fetch(lrs.auth)
    assert got.status_code == 200, got.text
    assert got.json() == {
        "objectType": "Activity",
        "id": activity,
        "definition": {
            "name": {"fr": "Nom", "en": "Name"},
            "type": "https://t/a",
            "description": {"fr": "Une page"},
        },
    }
    # A client that may read only its own statements sees no definition from another client's.
    mine_only = make_client(app, "statements/read/mine")
    assert fetch(mine_only).json() == {"objectType": "Activity", "id": activity}
    assert fetch(lrs.auth, "not an iri").status_code == 400
    assert fetch(lrs.auth, "https://x/" + "a" * 1100).status_code == 400
    missing = requests.get(base + "/activities", auth=lrs.auth, headers=V, timeout=5)
    assert missing.status_code == 400


def test_attachments_true_answers_multipart_with_the_statements_first(lrs: Lrs) -> None:
    item = statement()
    assert lrs.post(item).status_code == 200
    for params in ({"statementId": item["id"], "attachments": "true"}, {"attachments": "true", "limit": "1"}):
        response = lrs.get(**params)
        assert response.status_code == 200, response.text
        kind, _, boundary = response.headers["Content-Type"].partition("; boundary=")
        assert kind == "multipart/mixed" and boundary
        first = response.content.split(f"--{boundary}".encode())[1]
        head, _, body = first.partition(b"\r\n\r\n")
        assert b"Content-Type: application/json" in head
        data = json.loads(body.strip())
        assert data["id"] == item["id"] if "statementId" in params else len(data["statements"]) == 1
        assert response.headers["X-Experience-API-Consistent-Through"]
    assert lrs.get(attachments="yes").status_code == 400


def test_the_alternate_syntax_reads_missing_headers_from_the_request(lrs: Lrs) -> None:
    """Credentials and version as ordinary headers, the content's type left out (JSON): as ADL's suite sends."""
    item = statement()
    put = requests.post(
        lrs.url,
        params={"method": "PUT"},
        data={"statementId": item["id"], "content": json.dumps(item)},
        auth=lrs.auth,
        headers=V,
        timeout=10,
    )
    assert put.status_code == 204, put.text
    # A version given in the form wins over the request's header.
    other = statement()
    wrong = requests.post(
        lrs.url,
        params={"method": "PUT"},
        data={"statementId": other["id"], "content": json.dumps(other), "X-Experience-API-Version": "0.8"},
        auth=lrs.auth,
        headers=V,
        timeout=10,
    )
    assert wrong.status_code == 400
