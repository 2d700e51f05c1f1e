"""Tenancy of the Statement API over real HTTP, with two registrations of different issuers (A: the demo
platform; B: another LMS, launched through the demo platform's keys under its own issuer) and a client bound
to each: a client writes, voids and reads only its platforms' statements, never voids what Socle recorded,
and what clients post is stored and forwarded but never counts as competence evidence."""

from __future__ import annotations

import copy
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, select, text, update

from lti_tool import create_app
from lti_tool.competences import services
from lti_tool.competences.models import CompetenceState, EvidenceLink, LearnerFacts
from lti_tool.content.loader import Content
from lti_tool.db import db
from lti_tool.learners.models import Context, Enrolment
from lti_tool.learners.models import Learner as LearnerRow
from lti_tool.learners.models import Platform as PlatformRow
from tests.conftest import SECOND_CLIENT_ID, SECOND_DEPLOYMENT_ID, LiveServer, new_database, standalone_config
from tests.functional.test_competences import follow_module, learner_id
from tests.functional.test_exports import table
from tests.functional.test_player import Learner
from tests.functional.test_xapi_api import Lrs, make_client, statement
from tests.helpers import LtiBrowser, Platform, error_code, launch_id_of
from xapi.models import Endpoint, OutboxRow, Statement
from xapi.vocabulary import ATTENDED, COMPLETED, PASSED, VOIDED

OTHER_ISSUER = "https://autre-lms.example"
# B's client id, its own (not one the suite's other registrations use, so that no test finds two rows).
B_CLIENT_ID = "tenancy-b"


class OtherLmsLearner(Learner):
    """A person launched by registration B: signed with the demo platform's keys (as its second tool
    registration, whose deployment and URLs B reuses) under B's own issuer and client id."""

    def __init__(self, browser: LtiBrowser, user: str, context: dict[str, str]) -> None:
        self.browser = browser
        self.sub = f"b-{user}-{time.time_ns()}"
        login = browser.start_login(user, via=SECOND_CLIENT_ID, iss=OTHER_ISSUER, client_id=B_CLIENT_ID)
        claims = browser.platform.claims(
            login.nonce,
            user,
            SECOND_CLIENT_ID,
            iss=OTHER_ISSUER,
            aud=B_CLIENT_ID,
            azp=B_CLIENT_ID,
            sub=self.sub,
            context=context,
        )
        self.landing = browser.launch(browser.platform.sign(claims), login.state)
        assert self.landing.status_code == 200, error_code(self.landing)
        self.launch = launch_id_of(self.landing)


@dataclass
class Tenants:
    app: Flask
    content: Content
    learner_a: Learner
    learner_b: Learner
    instructor_b: Learner
    pk_b: int
    client_a: Lrs  # bound to registration A (the demo platform's main client id)
    client_b: Lrs  # bound to registration B
    unbound: Lrs  # bound to no platform
    endpoint_b: int  # an external LRS that receives B's statements
    passed_b: dict[str, Any]  # the "passed" statement Socle recorded for B's learner (M1's quiz)


def account(issuer: str, learner: Learner) -> dict[str, Any]:
    return {"objectType": "Agent", "account": {"homePage": issuer, "name": learner.sub}}


@pytest.fixture(scope="module")
def tenants(live_server: LiveServer) -> Iterator[Tenants]:
    app = live_server.app
    content: Content = app.extensions["socle_content"]
    demo = app.extensions["socle_demo_platform"]
    platform = Platform(demo, live_server.url)
    runner = app.test_cli_runner()
    added = runner.invoke(
        args=[
            "platform",
            "add",
            "--issuer",
            OTHER_ISSUER,
            "--client-id",
            B_CLIENT_ID,
            "--auth-login-url",
            demo.auth_url,
            "--auth-token-url",
            demo.token_url,
            "--key-set-url",
            demo.jwks_url,
            "--deployment-id",
            SECOND_DEPLOYMENT_ID,
        ]
    )
    assert added.exit_code == 0, added.output
    course_b = {"id": f"tenancy-b-{time.time_ns()}", "title": "Cours B"}
    learner_b = OtherLmsLearner(LtiBrowser(live_server.url, platform), "learner", course_b)
    instructor_b = OtherLmsLearner(LtiBrowser(live_server.url, platform), "instructor", course_b)
    learner_a = Learner(
        LtiBrowser(live_server.url, platform), context={"id": f"tenancy-a-{time.time_ns()}", "title": "A"}
    )
    endpoint = runner.invoke(
        args=["xapi", "endpoint", "add", "--name", "lrs-b", "--url", "http://127.0.0.1:9/xAPI"]
        + ["--platform", OTHER_ISSUER]
    )
    assert endpoint.exit_code == 0, endpoint.output
    endpoint_b = int(endpoint.output.split()[1])
    # B's learner follows M1: a quiz passed and a module completed, recorded by Socle.
    follow_module(learner_b, content, "M1")
    rw = ("statements/write", "statements/read")
    client_a = Lrs(live_server.url, make_client(app, *rw, platforms=(f"{demo.issuer}|socle-demo",)))
    client_b = Lrs(live_server.url, make_client(app, *rw, platforms=(OTHER_ISSUER,)))
    unbound = Lrs(live_server.url, make_client(app, *rw))
    # B's client writing once makes the API see registration B at once (it reads registrations every few
    # seconds, and at once when a client names one it has not seen), for the unbound client's checks too.
    assert client_b.post(statement(actor=account(OTHER_ISSUER, learner_b))).status_code == 200
    found = client_b.get(agent=json.dumps(account(OTHER_ISSUER, learner_b)), verb=PASSED).json()
    assert len(found["statements"]) == 1, found
    yield Tenants(
        app,
        content,
        learner_a,
        learner_b,
        instructor_b,
        learner_id(app, learner_b.sub),
        client_a,
        client_b,
        unbound,
        endpoint_b,
        found["statements"][0],
    )
    with app.app_context():
        db.session.execute(update(Endpoint).where(Endpoint.id == endpoint_b).values(is_active=False))
        db.session.execute(
            update(PlatformRow).where(PlatformRow.issuer == OTHER_ISSUER).values(is_active=False)
        )
        db.session.commit()
        db.session.remove()


def lookalike(original: dict[str, Any], module_id: str, verb: str, **changes: Any) -> dict[str, Any]:
    """A statement shaped like one Socle recorded (same actor, context, registration and extensions) about
    another module: what a client would send to pass for Socle's evidence."""
    forged = {
        key: copy.deepcopy(value) for key, value in original.items() if key not in ("stored", "authority")
    }
    forged["id"] = str(uuid.uuid4())
    forged["verb"] = {"id": verb}
    forged["object"]["id"] = original["object"]["id"].rsplit("/", 1)[0] + "/" + module_id
    forged["result"] = {"score": {"scaled": 1.0}, "success": True, "completion": True}
    forged.update(changes)
    return forged


def context_of(app: Flask, learner_pk: int) -> int:
    with app.app_context():
        value = db.session.scalar(select(Enrolment.context_pk).where(Enrolment.learner_id == learner_pk))
        db.session.remove()
    assert value is not None
    return int(value)


def base_iri(app: Flask) -> str:
    return str(app.config.get("XAPI_IRI_BASE") or app.config["BASE_URL"])


def platform_pk(app: Flask, issuer: str, client_id: str = B_CLIENT_ID) -> int:
    with app.app_context():
        value = db.session.scalar(
            select(PlatformRow.id).where(PlatformRow.issuer == issuer, PlatformRow.client_id == client_id)
        )
        db.session.remove()
    assert value is not None
    return int(value)


def row(app: Flask, statement_id: str) -> dict[str, Any] | None:
    with app.app_context():
        found = db.session.get(Statement, statement_id)
        value = (
            None
            if found is None
            else {
                "is_voided": found.is_voided,
                "platform_id": found.platform_id,
                "is_first_party": found.is_first_party,
            }
        )
        db.session.remove()
    return value


def mastery(app: Flask, pk: int) -> dict[str, Any]:
    """A learner's facts, competence and bloc states and evidence trail."""
    with app.app_context():
        facts = db.session.scalar(select(LearnerFacts.facts).where(LearnerFacts.learner_id == pk))
        states = sorted(
            (s.code, s.score, s.is_met, s.met_at, s.rules_version)
            for s in db.session.scalars(select(CompetenceState).where(CompetenceState.learner_id == pk))
        )
        trail = sorted(
            (e.code, e.kind, e.module_id, e.statement_id, e.ref, e.weight, e.value, e.occurred_at)
            for e in db.session.scalars(select(EvidenceLink).where(EvidenceLink.learner_id == pk))
        )
        db.session.remove()
    return {"facts": facts, "states": states, "trail": trail}


def rebuild(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["competences", "rebuild"], catch_exceptions=False)
    assert result.exit_code == 0, result.output


def jury_row(tenants: Tenants) -> dict[str, str]:
    rows = table(tenants.instructor_b.get("/staff/exports/jury-summary.csv"))
    return next(r for r in rows if r["Apprenant·e (identifiant LMS)"] == tenants.learner_b.sub)


# -- writing -----------------------------------------------------------------------------------------------
def test_a_client_cannot_write_statements_of_another_platform(tenants: Tenants) -> None:
    """A's client forging B's learner (B's homePage, B's context extensions) is refused with 403, in a POST,
    a PUT or a batch, and stores nothing."""
    forged = lookalike(tenants.passed_b, "M2", PASSED)
    response = tenants.client_a.post(forged)
    assert response.status_code == 403, response.text
    assert response.json()["error"] is True
    assert "names no platform of this client" in response.json()["message"]
    assert OTHER_ISSUER in response.json()["message"]
    assert tenants.client_a.put(forged["id"], forged).status_code == 403
    own = statement(actor=account(tenants.learner_a.browser.platform.issuer, tenants.learner_a))
    batch = tenants.client_a.post([own, forged])
    assert batch.status_code == 403 and batch.json()["message"].startswith("statement[1]")
    assert row(tenants.app, forged["id"]) is None and row(tenants.app, own["id"]) is None
    # An actor without an account names no platform either.
    anonymous = statement(actor={"objectType": "Agent", "mbox": "mailto:someone@example.invalid"})
    assert tenants.client_a.post(anonymous).status_code == 403
    # A client bound to no platform may not write a registered platform's learners.
    response = tenants.unbound.post(lookalike(tenants.passed_b, "M2", PASSED))
    assert response.status_code == 403 and "bound to no platform" in response.json()["message"]


def test_a_client_writes_its_own_platforms_statements_under_that_platform(tenants: Tenants) -> None:
    """A's client writes A's learners; a client bound to both registrations has each statement stored under
    the platform its actor names, so each tenant's reader sees only its own."""
    app = tenants.app
    issuer_a = tenants.learner_a.browser.platform.issuer
    for_a = statement(actor=account(issuer_a, tenants.learner_a))
    assert tenants.client_a.post(for_a).status_code == 200
    both = Lrs(
        tenants.client_a.url.removesuffix("/xapi/statements"),
        make_client(app, "statements/write", platforms=(f"{issuer_a}|socle-demo", OTHER_ISSUER)),
    )
    one_a = statement(actor=account(issuer_a, tenants.learner_a))
    one_b = statement(actor=account(OTHER_ISSUER, tenants.learner_b))
    assert both.post([one_a, one_b]).status_code == 200
    ids = {issuer_a: platform_pk(app, issuer_a, "socle-demo"), OTHER_ISSUER: platform_pk(app, OTHER_ISSUER)}
    assert row(app, one_a["id"]) == {
        "is_voided": False,
        "platform_id": ids[issuer_a],
        "is_first_party": False,
    }
    assert row(app, one_b["id"])["platform_id"] == ids[OTHER_ISSUER]  # type: ignore[index]
    assert tenants.client_b.get(statementId=one_b["id"]).status_code == 200
    assert tenants.client_b.get(statementId=one_a["id"]).status_code == 404
    assert tenants.client_a.get(statementId=one_a["id"]).status_code == 200
    assert tenants.client_a.get(statementId=one_b["id"]).status_code == 404


def test_a_platform_registered_a_moment_ago_is_known_at_once_to_its_clients(tenants: Tenants) -> None:
    """The API keeps the registrations a few seconds, but a client bound to one it has not seen yet makes it
    read them again."""
    app = tenants.app
    issuer_a = tenants.learner_a.browser.platform.issuer
    assert tenants.client_a.post(statement(actor=account(issuer_a, tenants.learner_a))).status_code == 200
    third = f"https://troisieme-lms-{uuid.uuid4().hex[:8]}.example"
    demo = app.extensions["socle_demo_platform"]
    added = app.test_cli_runner().invoke(
        args=["platform", "add", "--issuer", third, "--client-id", "c3", "--auth-login-url", demo.auth_url]
        + ["--auth-token-url", demo.token_url, "--key-set-url", demo.jwks_url, "--deployment-id", "d3"]
    )
    assert added.exit_code == 0, added.output
    try:
        client = Lrs(
            tenants.client_a.url.removesuffix("/xapi/statements"),
            make_client(app, "statements/write", platforms=(third,)),
        )
        posted = statement(actor={"objectType": "Agent", "account": {"homePage": third, "name": "someone"}})
        assert client.post(posted).status_code == 200
        assert row(app, posted["id"])["platform_id"] == platform_pk(app, third, "c3")  # type: ignore[index]
    finally:
        with app.app_context():
            db.session.execute(update(PlatformRow).where(PlatformRow.issuer == third).values(is_active=False))
            db.session.commit()
            db.session.remove()


# -- voiding -----------------------------------------------------------------------------------------------
def test_a_client_cannot_void_another_platforms_statement(tenants: Tenants) -> None:
    """A's client voiding a statement of B (its id is public in B's evidence files) gets 403, and the target
    is still not voided."""
    mine = statement(actor=account(OTHER_ISSUER, tenants.learner_b))
    assert tenants.client_b.post(mine).status_code == 200
    for target in (mine["id"], tenants.passed_b["id"]):
        voiding = statement(
            actor=account(tenants.learner_a.browser.platform.issuer, tenants.learner_a),
            verb={"id": VOIDED},
            object={"objectType": "StatementRef", "id": target},
        )
        response = tenants.client_a.post(voiding)
        assert response.status_code == 403, response.text
        assert f"may not void statement {target}" in response.json()["message"]
        assert row(tenants.app, voiding["id"]) is None
        assert row(tenants.app, target)["is_voided"] is False  # type: ignore[index]
        assert tenants.client_b.get(statementId=target).status_code == 200
    # Nor can a client bound to no platform.
    voiding = statement(verb={"id": VOIDED}, object={"objectType": "StatementRef", "id": mine["id"]})
    assert tenants.unbound.post(voiding).status_code == 403
    assert row(tenants.app, mine["id"])["is_voided"] is False  # type: ignore[index]


def test_no_client_voids_what_socle_recorded(tenants: Tenants) -> None:
    """B's own client may void B's statements that clients posted, but not Socle's records of B's learner."""
    voiding = statement(
        actor=account(OTHER_ISSUER, tenants.learner_b),
        verb={"id": VOIDED},
        object={"objectType": "StatementRef", "id": tenants.passed_b["id"]},
    )
    response = tenants.client_b.post(voiding)
    assert response.status_code == 403 and "Socle recorded it itself" in response.json()["message"]
    assert row(tenants.app, tenants.passed_b["id"])["is_voided"] is False  # type: ignore[index]
    posted = statement(actor=account(OTHER_ISSUER, tenants.learner_b))
    assert tenants.client_b.post(posted).status_code == 200
    voiding = statement(
        actor=account(OTHER_ISSUER, tenants.learner_b),
        verb={"id": VOIDED},
        object={"objectType": "StatementRef", "id": posted["id"]},
    )
    assert tenants.client_b.post(voiding).status_code == 200
    assert tenants.client_b.get(voidedStatementId=posted["id"]).status_code == 200


# -- evidence ----------------------------------------------------------------------------------------------
def test_a_clients_statements_are_stored_and_forwarded_but_are_no_evidence(tenants: Tenants) -> None:
    """B's own client posts quiz results and completions for B's learner that would meet B1, shaped exactly
    like Socle's: they are stored, served and queued for B's LRS, and `competences rebuild` and the jury
    summary are unchanged, Socle's own evidence rebuilding identically."""
    app = tenants.app
    before = mastery(app, tenants.pk_b)
    summary = jury_row(tenants)
    assert summary["B1"] == "en cours"
    assert any(link[2] == "M1" and link[3] == tenants.passed_b["id"] for link in before["trail"])
    posted = [
        lookalike(tenants.passed_b, module, verb)
        for module in ("M1", "M2", "M7", "M3", "M4")
        for verb in (PASSED, COMPLETED)
    ]
    response = tenants.client_b.post(posted)
    assert response.status_code == 200, response.text
    ids = [item["id"] for item in posted]
    for statement_id in ids:
        assert row(app, statement_id) == {
            "is_voided": False,
            "platform_id": row(app, tenants.passed_b["id"])["platform_id"],  # type: ignore[index]
            "is_first_party": False,
        }
    agent = json.dumps(account(OTHER_ISSUER, tenants.learner_b))
    served = {s["id"] for s in tenants.client_b.get(agent=agent, limit="0").json()["statements"]}
    assert set(ids) <= served and tenants.passed_b["id"] in served
    with app.app_context():
        queued = set(
            db.session.scalars(
                select(OutboxRow.statement_id).where(OutboxRow.endpoint_id == tenants.endpoint_b)
            )
        )
        db.session.remove()
    assert set(ids) <= queued
    rebuild(app)
    assert mastery(app, tenants.pk_b) == before
    assert jury_row(tenants) == summary


def test_socle_records_its_own_statements_as_first_party(tenants: Tenants) -> None:
    assert row(tenants.app, tenants.passed_b["id"]) is not None
    assert row(tenants.app, tenants.passed_b["id"])["is_first_party"] is True  # type: ignore[index]
    assert tenants.passed_b["authority"]["name"] == "Socle"


def test_withdrawing_an_attendance_voids_socles_record_not_a_clients_lookalike(tenants: Tenants) -> None:
    """A client's "attended" statement for the same person and session, stored first, is not what Socle
    voids when the facilitator withdraws the attendance (nor evidence of attendance)."""
    app = tenants.app
    created = tenants.instructor_b.post(
        "/staff/sessions",
        {
            "kind": "atelier",
            "title": "Atelier B",
            "starts_at": "2026-12-03T14:00",
            "duration_minutes": "60",
            "module_id": "M5",
        },
    )
    assert created.status_code == 303, error_code(created)
    url = created.headers["Location"].split("?")[0]
    session_id = url.rstrip("/").split("/")[-2]
    module_iri = tenants.passed_b["object"]["id"]
    lookalike = statement(
        actor=account(OTHER_ISSUER, tenants.learner_b),
        verb={"id": ATTENDED},
        object={"id": module_iri.replace("/modules/M1", f"/sessions/{session_id}")},
        context={"contextActivities": {"parent": [{"id": module_iri.replace("/M1", "/M5")}]}},
    )
    assert tenants.client_b.post(lookalike).status_code == 200
    assert tenants.instructor_b.post(url, {"present": [str(tenants.pk_b)]}).status_code == 303
    agent = json.dumps(account(OTHER_ISSUER, tenants.learner_b))
    attended = tenants.client_b.get(agent=agent, verb=ATTENDED).json()["statements"]
    socles = [s for s in attended if s["id"] != lookalike["id"]]
    assert (
        len(attended) == 2
        and len(socles) == 1
        and socles[0]["object"]
        == {
            **socles[0]["object"],
            "id": lookalike["object"]["id"],
        }
    )
    assert tenants.instructor_b.post(url, {}).status_code == 303
    assert row(app, socles[0]["id"])["is_voided"] is True  # type: ignore[index]
    assert row(app, lookalike["id"])["is_voided"] is False  # type: ignore[index]
    rebuild(app)
    assert "M5" not in mastery(app, tenants.pk_b)["facts"]["attended"]


def test_the_rebuild_finds_a_learners_evidence_by_their_account_not_by_the_platform(tenants: Tenants) -> None:
    """The platform and the first-party mark are compared on the learner's statements, found by the agent
    index: SQLite (without statistics) would otherwise walk the platform's whole index for every learner."""
    app = tenants.app
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            db.session.remove()
            pytest.skip("SQLite's planner: PostgreSQL plans from its statistics")
        learner = db.session.get(LearnerRow, tenants.pk_b)
        context = db.session.get(Context, context_of(app, tenants.pk_b))
        assert learner is not None and context is not None
        seen: list[tuple[str, Any]] = []

        def keep(_conn: Any, _cursor: Any, sql: str, params: Any, _context: Any, _many: bool) -> None:
            if sql.lstrip().upper().startswith("SELECT") and "FROM xapi_statements" in sql:
                seen.append((sql, params))

        event.listen(db.engine, "before_cursor_execute", keep)
        try:
            read = services.rebuild(db.session, learner, context, tenants.content, base_iri(app))
        finally:
            event.remove(db.engine, "before_cursor_execute", keep)
        assert read > 0 and seen
        for sql, params in seen:
            plan = " ".join(
                str(row[3])
                for row in db.session.connection().exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params)
            )
            assert "ix_xapi_statements_platform" not in plan, plan
        db.session.rollback()
        db.session.remove()


# -- reading -----------------------------------------------------------------------------------------------
def test_a_client_reads_only_its_platforms_statements(tenants: Tenants) -> None:
    agent_b = json.dumps(account(OTHER_ISSUER, tenants.learner_b))
    assert tenants.client_b.get(agent=agent_b).json()["statements"]
    assert tenants.client_a.get(agent=agent_b).json()["statements"] == []
    assert tenants.client_a.get(agent=agent_b, related_agents="true").json()["statements"] == []
    assert tenants.client_a.get(statementId=tenants.passed_b["id"]).status_code == 404
    seen = json.dumps(tenants.client_a.get(limit="0").json()["statements"])
    assert tenants.learner_b.sub not in seen and OTHER_ISSUER not in seen


# -- the migration -----------------------------------------------------------------------------------------
@pytest.fixture
def fresh_database(tmp_path: Path) -> Iterator[str]:
    """An empty database of its own, to migrate step by step."""
    with new_database("socle_migration", tmp_path / "migrated.sqlite3") as url:
        yield url


def test_the_migration_marks_socles_statements_and_restores_those_a_client_voided(
    tmp_path: Path, fresh_database: str
) -> None:
    """Existing rows: those without a source client were recorded by Socle; a Socle statement that a
    client voided is no longer voided (one Socle voided itself stays voided); what is stored afterwards
    without saying is no one's evidence."""
    app = create_app(standalone_config(tmp_path, DATABASE_URL=fresh_database))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["db", "upgrade", "0009_xapi_index_keys"])
    assert result.exit_code == 0, result.output
    ids = {
        name: str(uuid.uuid4()) for name in ("kept", "client_voided", "socle_voided", "by_client", "v1", "v2")
    }
    rows = [
        # name, source client, is voided, voids
        ("kept", None, False, None),
        ("client_voided", None, True, None),
        ("socle_voided", None, True, None),
        ("by_client", 7, False, None),
        ("v1", 7, False, "client_voided"),
        ("v2", None, False, "socle_voided"),
    ]
    with app.app_context():
        for name, source, voided, voids in rows:
            db.session.execute(
                text(
                    "INSERT INTO xapi_statements (id, stored_us, verb_id, registration, is_voided, voids,"
                    " platform_id, source_client_id, body) VALUES (:id, 1, :verb, NULL, :voided, :voids, 1,"
                    " :source, '{}')"
                ),
                {
                    "id": ids[name],
                    "verb": VOIDED if voids else PASSED,
                    "voided": voided,
                    "voids": ids[voids] if voids else None,
                    "source": source,
                },
            )
        db.session.commit()
        db.session.remove()
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        found = {
            statement.id: (statement.is_first_party, statement.is_voided)
            for statement in db.session.scalars(select(Statement))
        }
        # 0018: a voiding statement's target is also its StatementRef target (what the filters follow).
        refs = {
            row.id: row.object_ref for row in db.session.execute(select(Statement.id, Statement.object_ref))
        }
        db.session.remove()
    assert (refs[ids["v1"]], refs[ids["v2"]], refs[ids["kept"]]) == (
        ids["client_voided"],
        ids["socle_voided"],
        None,
    )
    assert {name: found[ids[name]] for name in ids} == {
        "kept": (True, False),
        "client_voided": (True, False),
        "socle_voided": (True, True),
        "by_client": (False, False),
        "v1": (False, False),
        "v2": (True, False),
    }
    unsaid = str(uuid.uuid4())
    with app.app_context():
        db.session.execute(
            text(
                "INSERT INTO xapi_statements (id, stored_us, verb_id, is_voided, body)"
                " VALUES (:id, 1, :verb, false, '{}')"
            ),
            {"id": unsaid, "verb": PASSED},
        )
        assert db.session.scalar(select(Statement.is_first_party).where(Statement.id == unsaid)) is False
        db.session.rollback()
        db.session.remove()
        db.engine.dispose()
