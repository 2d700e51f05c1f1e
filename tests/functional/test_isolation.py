"""Isolation over real HTTP: every staff and administrator route of the application (read from its URL
map, so that routes added later are covered too) refuses learners; a trainer of course A given the ids of
course B, and an administrator of another registration given the ids of this one, get 404 and change
nothing; pages and exports without ids show nothing of the others; learners cannot open each other's
records; an xAPI client bound to one registration sees nothing of another."""

from __future__ import annotations

import io
import json
import re
import tempfile
import time
import uuid
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest
import requests
from flask import Flask
from pypdf import PdfReader
from sqlalchemy import func, select

from lti_tool import create_app
from lti_tool.certificates import issuing
from lti_tool.competences.services import rules_of
from lti_tool.content.loader import Content
from lti_tool.db import db
from lti_tool.diagnostic.models import DiagnosticRun
from lti_tool.learners.models import Enrolment
from lti_tool.learners.models import Learner as LearnerRow
from lti_tool.learners.models import Platform as PlatformRow
from lti_tool.training.models import Deliverable, LiveSession, QuizAttempt
from tests.conftest import SECOND_CLIENT_ID, LiveServer, standalone_config
from tests.functional.test_diagnostic import start
from tests.functional.test_player import Learner, take_quiz
from tests.functional.test_xapi_api import Lrs, make_client
from tests.helpers import LtiBrowser, Platform, error_code
from xapi.models import Base as XapiBase
from xapi.models import StatementAgent

# Route arguments that name a row: each gets the id of a row of the other course (or registration).
ID_ARGS = {
    "learner_id": "learner",
    "learner_pk": "learner",
    "deliverable_id": "deliverable",
    "session_id": "session",
    "credential_id": "credential",
    "attempt_id": "attempt",
    "run_id": "run",
    "context_id": "context",
    "context_pk": "context",
}
# Route arguments that name no row of anyone's (content, a step): a fixed valid value.
PLAIN_ARGS: dict[str, Any] = {"key": "M5", "step": "profile", "number": 1, "code": "B1"}
# Query parameters by which pages and exports take ids.
QUERY_IDS = {"context": "context", "learner": "learner", "session": "session"}
# Blueprints reached without a launch, or the LTI edge itself: not tenant pages.
PUBLIC = {"certificates", "achievements", "home", "lti", "demo", "xapi", "static"}
# A form every staff action would accept, so that a request is refused for its id, not for its form.
FORM = {
    "decision": "accept",
    "comment": "Bien argumenté.",
    "reason": "Révocation demandée par le jury du diplôme.",
    "module": "M1",
    "confirm": "EFFACER",
    "action": "deactivate",
}
ARGUMENT = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


@dataclass(frozen=True)
class Route:
    rule: str
    method: str
    endpoint: str
    arguments: frozenset[str]

    @property
    def ids(self) -> set[str]:
        return {name for name in self.arguments if name not in PLAIN_ARGS}

    def __str__(self) -> str:
        return f"{self.method} {self.rule}"


def _routes() -> list[Route]:
    """The application's routes, from an app of its own (the suite's server starts later)."""
    with tempfile.TemporaryDirectory() as instance:
        app = create_app(standalone_config(Path(instance)))
        rules = list(app.url_map.iter_rules())
    return [
        Route(rule.rule, method, rule.endpoint, frozenset(rule.arguments))
        for rule in rules
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
    ]


ROUTES = _routes()
STAFF = [r for r in ROUTES if r.rule.startswith(("/staff/", "/admin/"))]
LEARNER_IDS = [r for r in ROUTES if r not in STAFF and r.endpoint.split(".")[0] not in PUBLIC and r.ids]


@dataclass
class World:
    server: LiveServer
    learner_a: Learner
    instructor_a: Learner
    learner_b: Learner
    instructor_b: Learner
    admin_c: Learner
    learner_c: Learner
    b: dict[str, Any]  # kind of id -> a row of course B
    markers_b: list[str]  # strings that only B's rows hold
    markers_a: list[str]
    markers_c: list[str]
    contexts: dict[str, int]  # A, B, C -> Socle's context id
    people: dict[str, list[int]]  # A, B, C -> the people this test launched there
    started: datetime

    @property
    def app(self) -> Flask:
        return self.server.app


def pk_of(app: Flask, sub: str) -> int:
    with app.app_context():
        value = db.session.scalar(select(LearnerRow.id).where(LearnerRow.sub == sub))
        db.session.remove()
    assert value is not None
    return int(value)


def pk_of_context(app: Flask, learner_pk: int) -> int:
    with app.app_context():
        value = db.session.scalar(select(Enrolment.context_pk).where(Enrolment.learner_id == learner_pk))
        db.session.remove()
    return int(value or 0)


def course(name: str) -> dict[str, str]:
    return {"id": f"iso-{name.lower()}-{time.time_ns()}", "title": f"Cours{name}{uuid.uuid4().hex[:8]}"}


def person(name: str) -> dict[str, str]:
    family = f"{name}{uuid.uuid4().hex[:8]}"
    return {
        "sub": f"iso-{name.lower()}-{uuid.uuid4().hex}",
        "name": f"Claude {family}",
        "given_name": "Claude",
        "family_name": family,
        "email": f"{family.lower()}@example.invalid",
    }


@pytest.fixture(scope="module")
def world(live_server: LiveServer) -> World:
    """Courses A and B on the demo platform's first registration, course C on its second; in B a
    learner with a quiz attempt, a deliverable, an autodiagnostic, a live session attended and a
    credential."""
    started = datetime.now(UTC)
    app = live_server.app
    content: Content = app.extensions["socle_content"]
    platform = Platform(app.extensions["socle_demo_platform"], live_server.url)
    a, b, c = course("Alpha"), course("Beta"), course("Gamma")
    alpha, beta, gamma = person("Alpha"), person("Beta"), person("Gamma")

    def launch(user: str, where: dict[str, str], **claims: Any) -> Learner:
        return Learner(LtiBrowser(live_server.url, platform), user=user, context=where, **claims)

    learner_a, instructor_a = launch("learner", a, **alpha), launch("instructor", a)
    learner_b, instructor_b = launch("learner", b, **beta), launch("instructor", b)
    admin_c = launch("admin", c, via=SECOND_CLIENT_ID)
    learner_c = launch("learner", c, via=SECOND_CLIENT_ID, **gamma)
    module = content.module("M5")
    assert module is not None and module.meta.deliverable is not None
    for who in (learner_a, learner_b, learner_c):
        for number in range(1, len(module.pages) + 1):
            assert who.get(f"/modules/{module.slug}/pages/{number}").status_code == 200
    take_quiz(learner_b, module, correct=len(module.quiz.questions))
    text = " ".join(["isolement"] * module.meta.deliverable.min_words)
    assert learner_b.post(f"/modules/{module.slug}/deliverable", {"text": text}).status_code == 303
    start(learner_b)
    start(learner_c)
    b_pk = pk_of(app, learner_b.sub)
    created = instructor_b.post(
        "/staff/sessions",
        {"kind": "atelier", "title": "Atelier B", "starts_at": "2026-12-03T14:00", "duration_minutes": "60"},
    )
    assert created.status_code == 303, error_code(created)
    assert (
        instructor_b.post(created.headers["Location"].split("?")[0], {"present": [str(b_pk)]}).status_code
        == 303
    )
    with app.app_context():
        context_b = db.session.scalar(select(Enrolment.context_pk).where(Enrolment.learner_id == b_pk))
        context_c = db.session.scalar(
            select(Enrolment.context_pk).where(Enrolment.learner_id == pk_of(app, learner_c.sub))
        )
        scope = issuing.learner_scope(db.session, b_pk, int(context_b or 0))
        credential = issuing.issue(db.session, scope, content, rules_of(content), "B1", None).id
        ids = {
            "learner": b_pk,
            "context": context_b,
            "deliverable": db.session.scalar(select(Deliverable.id).where(Deliverable.learner_id == b_pk)),
            "session": db.session.scalar(select(LiveSession.id).where(LiveSession.context_pk == context_b)),
            "attempt": db.session.scalar(select(QuizAttempt.id).where(QuizAttempt.learner_id == b_pk)),
            "run": db.session.scalar(select(DiagnosticRun.id).where(DiagnosticRun.learner_id == b_pk)),
            "credential": credential,
        }
        db.session.commit()
        db.session.remove()
    people = {
        name: [pk_of(app, who.sub) for who in group]
        for name, group in (
            ("A", (learner_a, instructor_a)),
            ("B", (learner_b, instructor_b)),
            ("C", (admin_c, learner_c)),
        )
    }
    assert all(value is not None for value in ids.values()), ids
    return World(
        live_server,
        learner_a,
        instructor_a,
        learner_b,
        instructor_b,
        admin_c,
        learner_c,
        ids,
        [beta["sub"], beta["email"], beta["family_name"], b["title"]],
        [alpha["sub"], alpha["email"], alpha["family_name"], a["title"]],
        [gamma["sub"], gamma["email"], gamma["family_name"], c["title"]],
        {"A": pk_of_context(app, people["A"][0]), "B": int(context_b or 0), "C": int(context_c or 0)},
        people,
        started,
    )


# -- what is checked --------------------------------------------------------------------------------------
def fingerprint(world: World, *courses: str) -> dict[str, Any]:
    """Every row of these courses and of the people launched there, and how many statements exist: a
    request that changes nothing of theirs leaves it equal."""
    contexts = [world.contexts[name] for name in courses]
    people = [pk for name in courses for pk in world.people[name]]
    found: dict[str, Any] = {}
    with world.app.app_context():
        for table in db.metadata.sorted_tables:
            columns = table.c
            if table.name == "learners":
                where = columns.id.in_(people)
            elif table.name == "contexts":
                where = columns.id.in_(contexts)
            elif table.name in ("platforms", "status_lists"):
                where = None
            elif "context_pk" in columns:
                where = columns.context_pk.in_(contexts)
            elif "learner_id" in columns:
                where = columns.learner_id.in_(people)
            else:
                continue
            query = select(table) if where is None else select(table).where(where)
            found[table.name] = sorted(repr(tuple(row)) for row in db.session.execute(query))
        for table in XapiBase.metadata.sorted_tables:
            found[table.name] = db.session.scalar(select(func.count()).select_from(table))
        db.session.remove()
    return found


def visible(response: requests.Response) -> str:
    """What a person would read in the answer: text, CSV, JSON, each file of a zip, a PDF's text."""
    return _text(response.content)


def _text(body: bytes) -> str:
    if body[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            return "\n".join(_text(archive.read(name)) for name in archive.namelist())
    if body[:5] == b"%PDF-":
        return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(body)).pages)
    return body.decode("utf-8", errors="replace")


def path_of(route: Route, ids: dict[str, Any]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in PLAIN_ARGS:
            return str(PLAIN_ARGS[name])
        if name not in ID_ARGS:
            pytest.fail(
                f"{route}: no id of another course is known for <{name}>; add it to ID_ARGS in {__file__}"
            )
        return str(ids[ID_ARGS[name]])

    return ARGUMENT.sub(value, route.rule)


def send(who: Learner, route: Route, path: str, **params: Any) -> requests.Response:
    """The route's request; a POST carries a form it would accept, with these fields too."""
    if route.method != "GET":
        params = FORM | params
    if route.method == "GET":
        return who.get(path, follow=False, **params)
    url = who.browser.base_url + path
    return who.browser.http.request(
        route.method, url, params={"launch": who.launch}, data=params, allow_redirects=False, timeout=30
    )


def query_ids(world: World) -> dict[str, Any]:
    """Ids of course B as query parameters and form fields, and a search for B's learner."""
    ids = {param: world.b[kind] for param, kind in QUERY_IDS.items()}
    return FORM | ids | {"q": searched(world), "present": str(world.b["learner"]), "platform": "0"}


def searched(world: World) -> str:
    return world.markers_b[2]  # B's learner's family name


def assert_nothing_shown(
    response: requests.Response, markers: list[str], route: Route, searched: str | None = None
) -> None:
    assert response.status_code < 500, (str(route), response.status_code)
    text = visible(response)
    for marker in markers:
        # A search term may come back in the search field: what must not show is what it finds.
        if marker != searched:
            assert marker not in text, (str(route), marker)


# -- learners ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("route", STAFF, ids=str)
def test_a_learner_is_refused_every_staff_route(world: World, route: Route) -> None:
    before = fingerprint(world, "A", "B", "C")
    response = send(world.learner_a, route, path_of(route, world.b))
    assert (response.status_code, error_code(response)) == (403, "staff_only"), str(route)
    assert fingerprint(world, "A", "B", "C") == before


@pytest.mark.parametrize("route", LEARNER_IDS, ids=str)
def test_a_learner_cannot_open_another_learners_records(world: World, route: Route) -> None:
    before = fingerprint(world, "B", "C")
    response = send(world.learner_a, route, path_of(route, world.b))
    assert response.status_code == 404, (str(route), response.status_code, error_code(response))
    assert fingerprint(world, "B", "C") == before


# -- a trainer of another course ------------------------------------------------------------------------
@pytest.mark.parametrize("route", STAFF, ids=str)
def test_a_trainer_sees_and_changes_nothing_of_another_course(world: World, route: Route) -> None:
    before = fingerprint(world, "B", "C")
    if route.ids:
        response = send(world.instructor_a, route, path_of(route, world.b))
        # Administrator-only routes refuse a trainer before looking at the id.
        assert (response.status_code == 404) or (
            response.status_code,
            error_code(response),
        ) == (403, "admin_only"), (str(route), response.status_code, error_code(response))
        assert_nothing_shown(response, world.markers_b, route)
    else:
        path = path_of(route, world.b)
        assert_nothing_shown(send(world.instructor_a, route, path), world.markers_b, route)
        response = send(world.instructor_a, route, path, **query_ids(world))
        assert_nothing_shown(response, world.markers_b, route, searched(world))
    assert fingerprint(world, "B", "C") == before


# -- an administrator of another registration ----------------------------------------------------------
@pytest.mark.parametrize("route", STAFF, ids=str)
def test_an_administrator_of_another_registration_sees_and_changes_nothing(
    world: World, route: Route
) -> None:
    before = fingerprint(world, "A", "B")
    markers = world.markers_a + world.markers_b
    if route.ids:
        response = send(world.admin_c, route, path_of(route, world.b))
        assert response.status_code == 404, (str(route), response.status_code, error_code(response))
        assert_nothing_shown(response, markers, route)
    else:
        path = path_of(route, world.b)
        assert_nothing_shown(send(world.admin_c, route, path), markers, route)
        response = send(world.admin_c, route, path, **query_ids(world))
        assert_nothing_shown(response, markers, route, searched(world))
    assert fingerprint(world, "A", "B") == before


def test_every_staff_route_is_checked() -> None:
    """The lists come from the URL map: the routes of every feature registered are there."""
    endpoints = {route.endpoint for route in STAFF}
    assert {"competences.review", "training.attendance", "home.staff_home"} <= endpoints
    assert {r.endpoint for r in LEARNER_IDS} >= {"diagnostic.result", "training.answer"}


# -- the xAPI Statement API -----------------------------------------------------------------------------
def agent(world: World, learner: Learner) -> str:
    issuer = world.learner_a.browser.platform.issuer
    return json.dumps({"objectType": "Agent", "account": {"homePage": issuer, "name": learner.sub}})


def everything_since(lrs: Lrs, url: str, since: datetime) -> str:
    """Every statement the client may read stored since then, page after page, as one text."""
    pages = []
    response = lrs.get(since=since.isoformat().replace("+00:00", "Z"), limit=500)
    while True:
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append(json.dumps(body["statements"]))
        if not body["more"]:
            return "\n".join(pages)
        response = requests.get(
            urljoin(url, body["more"]),
            auth=lrs.auth,
            timeout=10,
            headers={"X-Experience-API-Version": "1.0.3"},
        )


def test_an_xapi_client_of_one_registration_sees_nothing_of_another(world: World) -> None:
    app, url = world.app, world.server.url
    issuer = world.learner_a.browser.platform.issuer
    with app.app_context():
        client_ids = {
            p.client_id for p in db.session.scalars(select(PlatformRow).where(PlatformRow.issuer == issuer))
        }
        gamma_ifi = f"account:{issuer}|{world.learner_c.sub}"
        gamma_statement = db.session.scalar(
            select(StatementAgent.statement_id).where(StatementAgent.ifi == gamma_ifi).limit(1)
        )
        db.session.remove()
    assert {"socle-demo", SECOND_CLIENT_ID} <= client_ids and gamma_statement
    first = Lrs(url, make_client(app, "statements/read", platforms=(f"{issuer}|socle-demo",)))
    second = Lrs(url, make_client(app, "statements/read", platforms=(f"{issuer}|{SECOND_CLIENT_ID}",)))
    # Sanity: each sees its own.
    assert first.get(agent=agent(world, world.learner_a)).json()["statements"]
    assert second.get(agent=agent(world, world.learner_c)).json()["statements"]
    # Nothing of the other registration: by agent, by id, in everything stored since the courses began.
    assert first.get(agent=agent(world, world.learner_c)).json()["statements"] == []
    assert first.get(statementId=gamma_statement).status_code == 404
    assert first.get(agent=agent(world, world.learner_c), related_agents="true").json()["statements"] == []
    seen_by_first = everything_since(first, url, world.started)
    assert world.learner_a.sub in seen_by_first and world.learner_b.sub in seen_by_first
    for marker in world.markers_c:
        assert marker not in seen_by_first
    seen_by_second = everything_since(second, url, world.started)
    assert world.learner_c.sub in seen_by_second
    for marker in world.markers_a + world.markers_b:
        assert marker not in seen_by_second
