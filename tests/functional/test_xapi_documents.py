"""The State, Activity Profile and Agent Profile resources over real HTTP: documents kept with their content
type, ETags, the ids listing with since, JSON merge on POST, If-Match / If-None-Match with 412 and the
profiles' 409, registrations, HEAD, bad input, tenancy per platform, and a person's documents for privacy."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from sqlalchemy import inspect

from lti_tool import create_app
from lti_tool.db import db
from tests.conftest import LiveServer, new_database, standalone_config
from tests.functional.test_xapi_api import V, make_client
from tests.helpers import Platform
from xapi import documents, validation
from xapi.models import Document, StatementAttachment

STATE = "/xapi/activities/state"
ACTIVITY_PROFILE = "/xapi/activities/profile"
AGENT_PROFILE = "/xapi/agents/profile"
NEW = {"If-None-Match": "*"}  # a profile PUT that creates its document


class Docs:
    def __init__(self, url: str, auth: tuple[str, str]) -> None:
        self.url = url
        self.auth = auth

    def call(
        self,
        method: str,
        path: str,
        params: dict[str, Any],
        body: bytes | str | None = None,
        headers: dict[str, str] | None = None,
    ) -> requests.Response:
        encoded = {k: json.dumps(v) if isinstance(v, dict) else v for k, v in params.items()}
        return requests.request(
            method,
            self.url + path,
            params=encoded,
            data=body,
            auth=self.auth,
            timeout=10,
            headers={**V, **(headers or {})},
        )

    def put_json(self, path: str, params: dict[str, Any], value: Any, **headers: str) -> requests.Response:
        return self.call(
            "PUT", path, params, json.dumps(value), {"Content-Type": "application/json", **headers}
        )

    def post_json(self, path: str, params: dict[str, Any], value: Any, **headers: str) -> requests.Response:
        return self.call(
            "POST", path, params, json.dumps(value), {"Content-Type": "application/json", **headers}
        )


@pytest.fixture
def docs(app: Flask, live_server: LiveServer) -> Docs:
    return Docs(live_server.url, make_client(app, "all"))


def an_agent() -> dict[str, Any]:
    return {"objectType": "Agent", "mbox": f"mailto:{uuid.uuid4().hex}@example.org"}


def an_activity() -> str:
    return "https://socle.example/activities/" + uuid.uuid4().hex


def state_of(**extra: Any) -> dict[str, Any]:
    return {"activityId": an_activity(), "agent": an_agent(), **extra}


def test_a_state_document_is_kept_with_its_content_type_and_etag(docs: Docs) -> None:
    where = state_of(stateId="bookmark")
    body = b"\x00\x01 binary \xff"
    put = docs.call("PUT", STATE, where, body, {"Content-Type": "application/octet-stream"})
    assert put.status_code == 204, put.text
    got = docs.call("GET", STATE, where)
    assert got.status_code == 200
    assert got.content == body
    assert got.headers["Content-Type"] == "application/octet-stream"
    assert got.headers["ETag"] == '"' + documents.etag_of(body) + '"'
    modified = parsedate_to_datetime(got.headers["Last-Modified"])
    assert abs((datetime.now(UTC) - modified).total_seconds()) < 60
    head = docs.call("HEAD", STATE, where)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["ETag"] == got.headers["ETag"]
    text = docs.call("PUT", STATE, where, "é", {"Content-Type": "text/plain; charset=utf-8"})
    assert text.status_code == 204
    again = docs.call("GET", STATE, where)
    assert again.headers["Content-Type"] == "text/plain; charset=utf-8" and again.text == "é"
    assert again.headers["ETag"] != got.headers["ETag"]


def test_state_ids_are_listed_per_registration_and_since(docs: Docs) -> None:
    where = state_of()
    registration = str(uuid.uuid4())
    assert docs.put_json(STATE, {**where, "stateId": "a"}, {"x": 1}).status_code == 204
    assert (
        docs.put_json(STATE, {**where, "stateId": "b", "registration": registration}, {}).status_code == 204
    )
    time.sleep(0.01)
    middle = datetime.now(UTC).isoformat()
    time.sleep(0.01)
    assert docs.put_json(STATE, {**where, "stateId": "c"}, {}).status_code == 204
    assert docs.call("GET", STATE, where).json() == ["a", "b", "c"]
    assert docs.call("GET", STATE, {**where, "registration": registration}).json() == ["b"]
    assert docs.call("GET", STATE, {**where, "since": middle}).json() == ["c"]
    # The registration is part of the key: the same stateId without it is another document.
    assert docs.call("GET", STATE, {**where, "stateId": "b"}).status_code == 404
    assert docs.call("GET", STATE, {**where, "stateId": "b", "registration": registration}).json() == {}
    head = docs.call("HEAD", STATE, where)
    assert head.status_code == 200 and head.content == b""
    # DELETE without stateId: every state of the activity and agent (of the registration when given).
    assert docs.call("DELETE", STATE, {**where, "registration": registration}).status_code == 204
    assert docs.call("GET", STATE, where).json() == ["a", "c"]
    assert docs.call("DELETE", STATE, {**where, "stateId": "a"}).status_code == 204
    assert docs.call("GET", STATE, where).json() == ["c"]
    assert docs.call("DELETE", STATE, where).status_code == 204
    assert docs.call("GET", STATE, where).json() == []


def test_post_merges_json_objects_and_refuses_anything_else(docs: Docs) -> None:
    for path, where in (
        (STATE, state_of(stateId="s")),
        (ACTIVITY_PROFILE, {"activityId": an_activity(), "profileId": "p"}),
        (AGENT_PROFILE, {"agent": an_agent(), "profileId": "p"}),
    ):
        assert docs.post_json(path, where, {"a": 1, "b": {"c": 1}}).status_code == 204
        assert docs.post_json(path, where, {"b": {"d": 2}, "e": 3}).status_code == 204
        assert docs.call("GET", path, where).json() == {"a": 1, "b": {"d": 2}, "e": 3}
        refused = [
            docs.post_json(path, where, [1, 2]),
            docs.call("POST", path, where, "plain", {"Content-Type": "text/plain"}),
            docs.call("POST", path, where, "{not json", {"Content-Type": "application/json"}),
        ]
        assert [r.status_code for r in refused] == [400, 400, 400], [r.text for r in refused]
        assert docs.call("GET", path, where).json() == {"a": 1, "b": {"d": 2}, "e": 3}
        # A stored document that is not JSON cannot be merged into either.
        other = {**where, ("stateId" if path == STATE else "profileId"): "text"}
        create = {"Content-Type": "text/plain", "If-None-Match": "*"}
        assert docs.call("PUT", path, other, "plain", create).status_code == 204
        assert docs.post_json(path, other, {"a": 1}).status_code == 400
        assert docs.call("GET", path, other).text == "plain"


@pytest.mark.parametrize(
    "path,where",
    [
        (ACTIVITY_PROFILE, lambda: {"activityId": an_activity(), "profileId": "p"}),
        (AGENT_PROFILE, lambda: {"agent": an_agent(), "profileId": "p"}),
    ],
)
def test_profiles_follow_the_concurrency_rules(docs: Docs, path: str, where: Any) -> None:
    params = where()
    # A profile PUT says what it expects: without If-Match or If-None-Match even a new one is refused.
    unconditional = docs.put_json(path, params, {"v": 0})
    assert unconditional.status_code == 400 and "If-None-Match" in unconditional.json()["message"]
    # If-Match on a document that does not exist: 412, and nothing is created.
    assert docs.put_json(path, params, {"v": 0}, **{"If-Match": '"' + "0" * 40 + '"'}).status_code == 412
    assert docs.call("GET", path, params).status_code == 404
    assert docs.put_json(path, params, {"v": 1}, **{"If-None-Match": "*"}).status_code == 204
    etag = docs.call("GET", path, params).headers["ETag"]
    # An existing profile is not overwritten blindly (409), nor when If-None-Match: * says "create only".
    blind = docs.put_json(path, params, {"v": 2})
    assert blind.status_code == 409 and "If-Match" in blind.json()["message"]
    assert docs.put_json(path, params, {"v": 2}, **{"If-None-Match": "*"}).status_code == 412
    assert docs.put_json(path, params, {"v": 2}, **{"If-Match": '"' + "1" * 40 + '"'}).status_code == 412
    assert docs.call("GET", path, params).json() == {"v": 1}
    assert docs.put_json(path, params, {"v": 2}, **{"If-Match": etag}).status_code == 204
    assert docs.call("GET", path, params).json() == {"v": 2}
    # The old ETag no longer matches, for POST and DELETE either.
    assert docs.post_json(path, params, {"w": 1}, **{"If-Match": etag}).status_code == 412
    assert docs.call("DELETE", path, params, headers={"If-Match": etag}).status_code == 412
    fresh = docs.call("GET", path, params).headers["ETag"]
    assert docs.call("DELETE", path, params, headers={"If-Match": fresh}).status_code == 204
    assert docs.call("GET", path, params).status_code == 404
    # A profile DELETE names its document.
    assert docs.call("DELETE", path, {k: v for k, v in params.items() if k != "profileId"}).status_code == 400


def test_state_may_be_overwritten_without_preconditions_but_honours_them(docs: Docs) -> None:
    where = state_of(stateId="s")
    assert docs.put_json(STATE, where, {"v": 1}).status_code == 204
    assert docs.put_json(STATE, where, {"v": 2}).status_code == 204
    assert docs.put_json(STATE, where, {"v": 3}, **{"If-None-Match": "*"}).status_code == 412
    etag = docs.call("GET", STATE, where).headers["ETag"]
    assert docs.put_json(STATE, where, {"v": 3}, **{"If-Match": etag}).status_code == 204
    assert docs.call("GET", STATE, where).json() == {"v": 3}


def test_profile_ids_are_listed_with_since(docs: Docs) -> None:
    activity, agent = an_activity(), an_agent()
    for profile in ("one", "two"):
        assert (
            docs.put_json(
                ACTIVITY_PROFILE, {"activityId": activity, "profileId": profile}, {}, **NEW
            ).status_code
            == 204
        )
        assert (
            docs.put_json(AGENT_PROFILE, {"agent": agent, "profileId": profile}, {}, **NEW).status_code == 204
        )
    assert docs.call("GET", ACTIVITY_PROFILE, {"activityId": activity}).json() == ["one", "two"]
    assert docs.call("GET", AGENT_PROFILE, {"agent": agent}).json() == ["one", "two"]
    later = "2999-01-01T00:00:00Z"
    assert docs.call("GET", AGENT_PROFILE, {"agent": agent, "since": later}).json() == []
    # The same profile id of another activity or agent is another document.
    assert (
        docs.call("GET", ACTIVITY_PROFILE, {"activityId": an_activity(), "profileId": "one"}).status_code
        == 404
    )
    assert docs.call("GET", AGENT_PROFILE, {"agent": an_agent(), "profileId": "one"}).status_code == 404


def test_bad_document_requests_are_refused_with_400(docs: Docs) -> None:
    where = state_of(stateId="s")
    cases = [
        docs.call("GET", STATE, {**where, "activityId": "not an iri"}),
        docs.call("GET", STATE, {**where, "agent": "{not json"}),
        docs.call("GET", STATE, {**where, "agent": {"name": "no identifier"}}),
        docs.call("GET", STATE, {**where, "registration": "not-a-uuid"}),
        docs.call("GET", STATE, {**where, "stateId": "a\x00b"}),
        docs.call("GET", STATE, {**where, "unknown": "1"}),
        docs.call("GET", STATE, {**where, "since": "yesterday"}),
        docs.call("GET", STATE, {"agent": where["agent"]}),  # no activityId
        docs.put_json(STATE, {k: v for k, v in where.items() if k != "stateId"}, {}),  # PUT without stateId
        docs.call("GET", AGENT_PROFILE, {"agent": an_agent(), "activityId": an_activity()}),
        docs.call("GET", ACTIVITY_PROFILE, {"activityId": an_activity(), "agent": an_agent()}),
    ]
    assert [r.status_code for r in cases] == [400] * len(cases), [r.text for r in cases]
    no_version = requests.get(
        docs.url + STATE, params={**where, "agent": json.dumps(where["agent"])}, auth=docs.auth, timeout=5
    )
    assert no_version.status_code == 400 and "X-Experience-API-Version" in no_version.text


def test_the_alternate_request_syntax_reaches_the_documents(docs: Docs) -> None:
    where = state_of(stateId="s")
    form = {
        "X-Experience-API-Version": "1.0.3",
        "Content-Type": "application/json",
        "content": json.dumps({"via": "form"}),
        **{k: json.dumps(v) if isinstance(v, dict) else v for k, v in where.items()},
    }
    response = requests.post(
        docs.url + STATE, params={"method": "PUT"}, data=form, auth=docs.auth, timeout=10
    )
    assert response.status_code == 204, response.text
    assert docs.call("GET", STATE, where).json() == {"via": "form"}


def test_document_scopes_are_needed(app: Flask, live_server: LiveServer) -> None:
    where = state_of(stateId="s")
    reader = Docs(live_server.url, make_client(app, "statements/read"))
    assert reader.call("GET", STATE, where).status_code == 403
    state_only = Docs(live_server.url, make_client(app, "state"))
    assert state_only.put_json(STATE, where, {}).status_code == 204
    assert state_only.put_json(AGENT_PROFILE, {"agent": an_agent(), "profileId": "p"}, {}).status_code == 403


def test_documents_are_scoped_by_platform_like_statements(
    app: Flask, live_server: LiveServer, platform: Platform
) -> None:
    bound = Docs(live_server.url, make_client(app, "all", platforms=(platform.issuer,)))
    unbound = Docs(live_server.url, make_client(app, "all"))
    other_unbound = Docs(live_server.url, make_client(app, "all"))
    learner = {"objectType": "Agent", "account": {"homePage": platform.issuer, "name": uuid.uuid4().hex}}
    where = {"activityId": an_activity(), "agent": learner, "stateId": "s"}
    assert bound.put_json(STATE, where, {"mine": True}).status_code == 204
    # A client bound to no platform may neither read nor write a registered platform's learner's documents.
    assert unbound.call("GET", STATE, where).status_code == 403
    assert unbound.put_json(STATE, where, {}).status_code == 403
    # A client bound to a platform writes only its learners' documents.
    foreign = bound.put_json(STATE, state_of(stateId="s"), {})
    assert foreign.status_code == 403 and "platform" in foreign.json()["message"]
    # Clients bound to no platform each see only their own documents.
    own = state_of(stateId="s")
    assert unbound.put_json(STATE, own, {"v": 1}).status_code == 204
    assert other_unbound.call("GET", STATE, own).status_code == 404
    assert other_unbound.put_json(STATE, own, {"v": 2}).status_code == 204
    assert unbound.call("GET", STATE, own).json() == {"v": 1}
    profile = {"activityId": an_activity(), "profileId": "p"}
    assert bound.put_json(ACTIVITY_PROFILE, profile, {"platform": True}, **NEW).status_code == 204
    assert unbound.call("GET", ACTIVITY_PROFILE, profile).status_code == 404
    assert bound.call("GET", ACTIVITY_PROFILE, profile).json() == {"platform": True}


def test_a_persons_documents_are_listed_and_erased(docs: Docs, app: Flask) -> None:
    agent = an_agent()
    stranger = an_agent()
    activity = an_activity()
    assert (
        docs.put_json(STATE, {"activityId": activity, "agent": agent, "stateId": "s"}, {"a": 1}).status_code
        == 204
    )
    assert (
        docs.call(
            "PUT",
            AGENT_PROFILE,
            {"agent": agent, "profileId": "bin"},
            b"\xff\x00",
            {"Content-Type": "image/png", **NEW},
        ).status_code
        == 204
    )
    assert (
        docs.put_json(STATE, {"activityId": activity, "agent": stranger, "stateId": "s"}, {}).status_code
        == 204
    )
    ifi = validation.agent_ifi(agent)
    with app.app_context():
        found = documents.documents_of_actor(db.session, ifi)
        assert sorted((d["resource"], d["id"]) for d in found) == [("agent_profile", "bin"), ("state", "s")]
        by_id = {d["id"]: d for d in found}
        assert by_id["s"]["content"] == '{"a": 1}' and by_id["s"]["activityId"] == activity
        assert by_id["bin"]["encoding"] == "hex" and by_id["bin"]["content"] == "ff00"
        assert by_id["s"]["agent"] == agent
        assert by_id["s"]["updated"].endswith("Z")
        assert documents.erase_actor_documents(db.session, ifi) == 2
        db.session.commit()
        assert documents.documents_of_actor(db.session, ifi) == []
        assert len(documents.documents_of_actor(db.session, validation.agent_ifi(stranger))) == 1
    assert docs.call("GET", STATE, {"activityId": activity, "agent": agent}).json() == []


def test_the_migration_creates_the_tables_of_the_models_and_goes_back(tmp_path: Path) -> None:
    """0018 creates the documents and attachments tables as the models declare them (columns and indexes);
    its downgrade removes them."""
    with new_database("socle_migration", tmp_path / "migrated.sqlite3") as url:
        app = create_app(standalone_config(tmp_path, DATABASE_URL=url))
        runner = app.test_cli_runner()
        result = runner.invoke(args=["db", "upgrade", "0017_live_sessions"])
        assert result.exit_code == 0, result.output
        result = runner.invoke(args=["db", "upgrade"])
        assert result.exit_code == 0, result.output
        with app.app_context():
            schema = inspect(db.engine)
            for model in (Document, StatementAttachment):
                table = model.__table__
                assert {c["name"] for c in schema.get_columns(table.name)} == set(table.columns.keys())
                declared = {index.name for index in table.indexes}  # type: ignore[attr-defined]
                assert declared <= {index["name"] for index in schema.get_indexes(table.name)}
            unique = schema.get_unique_constraints("xapi_documents")
            assert [c["column_names"] for c in unique] == [["key_digest"]]
            assert schema.get_pk_constraint("xapi_statement_attachments")["constrained_columns"] == [
                "statement_id",
                "sha2",
            ]
            db.engine.dispose()
        result = runner.invoke(args=["db", "downgrade", "0017_live_sessions"])
        assert result.exit_code == 0, result.output
        with app.app_context():
            tables = set(inspect(db.engine).get_table_names())
            assert not {"xapi_documents", "xapi_statement_attachments"} & tables
            db.engine.dispose()
