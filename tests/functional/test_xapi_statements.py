"""A learner walks through the demo platform; every learning event becomes valid statements, shaped as the
xAPI profile says (account actor, registration, session, arrays, IRIs Socle controls, language fr)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from lti_tool.content.loader import Content
from lti_tool.db import db
from lti_tool.learners.models import Learner as LearnerRow
from tests.conftest import LiveServer
from tests.functional.test_diagnostic import PROFILE, axis, practice
from tests.functional.test_player import Learner, take_quiz
from tests.functional.test_xapi_api import Lrs, make_client
from tests.helpers import LtiBrowser
from xapi import validation

ADL = "http://adlnet.gov/expapi/verbs/"


@pytest.fixture
def lrs(app: Flask, live_server: LiveServer) -> Lrs:
    return Lrs(live_server.url, make_client(app, "all/read"))


@pytest.fixture
def lrs_for_demo(app: Flask, live_server: LiveServer) -> Lrs:
    demo = app.extensions["socle_demo_platform"]
    return Lrs(live_server.url, make_client(app, "statements/read", platforms=(demo.issuer,)))


def statements_of(lrs: Lrs, issuer: str, sub: str) -> list[dict[str, Any]]:
    agent = json.dumps({"objectType": "Agent", "account": {"homePage": issuer, "name": sub}})
    response = lrs.get(agent=agent, ascending="true", limit="0")
    assert response.status_code == 200, response.text
    return response.json()["statements"]


def test_a_learner_walk_produces_valid_profile_statements(
    app: Flask, browser: LtiBrowser, other_browser: LtiBrowser, lrs_for_demo: Lrs, content: Content
) -> None:
    base = app.config["BASE_URL"]
    issuer = app.extensions["socle_demo_platform"].issuer
    learner = Learner(browser)
    module = content.module("M8")
    assert module is not None
    learner.get(f"/modules/{module.slug}/pages/1")
    take_quiz(learner, module, correct=module.draw)
    for number in range(2, len(module.pages) + 1):
        learner.get(f"/modules/{module.slug}/pages/{number}")
    assert module.meta.deliverable is not None
    learner.post(
        f"/modules/{module.slug}/deliverable", {"text": " ".join(["mot"] * module.meta.deliverable.min_words)}
    )
    run = int(re.findall(r"/diagnostic/runs/(\d+)/", learner.post("/diagnostic/runs").headers["Location"])[0])
    learner.post(f"/diagnostic/runs/{run}/profile", PROFILE)
    learner.post(f"/diagnostic/runs/{run}/pratique", practice(3))
    for letter in "ABCDE":
        learner.post(f"/diagnostic/runs/{run}/{letter}", axis(letter, 3))
    learner.post(f"/diagnostic/runs/{run}/review")
    facilitator = Learner(other_browser, user="instructor")
    created = facilitator.post(
        "/staff/sessions",
        {
            "kind": "co-developpement",
            "title": "Co-dév",
            "duration_minutes": "90",
            "starts_at": "2026-12-03T14:00",
            "module_id": "M8",
        },
    )
    url = created.headers["Location"].split("?")[0]
    with app.app_context():
        learner_id = str(db.session.scalar(select(LearnerRow.id).where(LearnerRow.sub == learner.sub)))
        db.session.remove()
    facilitator.post(url, {"present": [learner_id]})

    statements = statements_of(lrs_for_demo, issuer, learner.sub)
    verbs = [s["verb"]["id"].rsplit("/", 1)[-1] for s in statements]
    assert verbs[0] == "launched"
    for verb in ("experienced", "progressed", "answered", "passed", "completed", "submit", "attended"):
        assert verb in verbs, verb
    assert verbs.count("answered") == module.draw
    assert verbs.count("experienced") == len(module.pages)

    registrations = set()
    for s in statements:
        validation.validate_statement(s)  # valid xAPI 1.0.3, as stored
        assert s["actor"] == {"objectType": "Agent", "account": {"homePage": issuer, "name": learner.sub}}
        assert "mbox" not in json.dumps(s["actor"])
        assert s["timestamp"].endswith("Z") and s["version"] == "1.0.0"
        context = s["context"]
        assert context["language"] == "fr" and context["platform"] == "Socle"
        for activities in context["contextActivities"].values():
            assert isinstance(activities, list)
        assert all(
            key.startswith(base + "/xapi/extensions/") or key.startswith("https://w3id.org/xapi/cmi5/")
            for key in context["extensions"]
        )
        session = context["extensions"].get(base + "/xapi/extensions/session-id")
        assert session != learner.launch  # the launch id is a secret: only a derived id is sent
        registrations.add(context["registration"])
        assert s["object"]["id"].startswith(base + "/xapi/activities/")
    # one stable registration for the learner in this course and resource, whoever recorded the event
    assert len(registrations) == 1

    answered = next(s for s in statements if s["verb"]["id"] == ADL + "answered")
    definition = answered["object"]["definition"]
    assert definition["type"] == "http://adlnet.gov/expapi/activities/cmi.interaction"
    assert definition["interactionType"] in ("choice", "true-false", "matching", "sequencing")
    assert answered["result"]["success"] is True
    assert answered["result"]["response"] == definition["correctResponsesPattern"][0]
    assert answered["context"]["contextActivities"]["parent"][0]["id"] == f"{base}/xapi/activities/modules/M8"

    passed = next(s for s in statements if s["verb"]["id"] == ADL + "passed")
    assert passed["result"]["score"]["scaled"] == 1.0 and passed["result"]["success"] is True
    assert (
        passed["context"]["extensions"]["https://w3id.org/xapi/cmi5/context/extensions/masteryscore"] == 0.7
    )
    progressed = [s for s in statements if s["verb"]["id"] == ADL + "progressed"]
    assert (
        progressed[-1]["result"]["extensions"]["https://w3id.org/xapi/cmi5/result/extensions/progress"] == 100
    )

    completions = [s for s in statements if s["verb"]["id"] == ADL + "completed"]
    diagnostic = next(s for s in completions if s["object"]["id"].endswith("/autodiagnostic"))
    assert diagnostic["result"]["extensions"][base + "/xapi/extensions/practice-level"] == "N3"
    scores = diagnostic["result"]["extensions"][base + "/xapi/extensions/axis-scores"]
    assert scores == {
        "A": pytest.approx(66.67),
        "B": pytest.approx(66.67),
        "C": pytest.approx(66.67),
        "D": pytest.approx(66.67),
        "E": pytest.approx(66.67),
    }
    assert diagnostic["result"]["score"]["scaled"] == pytest.approx(0.6667, abs=1e-3)
    module_done = next(s for s in completions if s["object"]["id"].endswith("/modules/M8"))
    assert module_done["result"]["completion"] is True and module_done["result"]["duration"].startswith("PT")

    attended = next(s for s in statements if s["verb"]["id"] == ADL + "attended")
    instructor = attended["context"]["instructor"]
    assert instructor["account"]["homePage"] == issuer and instructor["account"]["name"] == facilitator.sub

    # The facilitator un-ticks the learner: the attendance statement is voided, not deleted.
    facilitator.post(url, {})
    assert lrs_for_demo.get(statementId=attended["id"]).status_code == 404
    assert lrs_for_demo.get(voidedStatementId=attended["id"]).status_code == 200


def test_statements_are_written_with_the_change_they_record(
    app: Flask, browser: LtiBrowser, lrs_for_demo: Lrs
) -> None:
    issuer = app.extensions["socle_demo_platform"].issuer
    learner = Learner(browser)
    before = len(statements_of(lrs_for_demo, issuer, learner.sub))
    assert before == 1  # launched
    learner.get("/modules/fondamentaux/pages/3")
    assert len(statements_of(lrs_for_demo, issuer, learner.sub)) == before + 2  # experienced, progressed
    learner.get("/modules/fondamentaux/pages/3")  # a page already read records nothing more
    assert len(statements_of(lrs_for_demo, issuer, learner.sub)) == before + 2
    refused = learner.get("/modules/fondamentaux/pages/99")
    assert refused.status_code == 404 and len(statements_of(lrs_for_demo, issuer, learner.sub)) == before + 2


def test_a_client_bound_to_another_platform_sees_nothing_of_this_one(
    app: Flask, browser: LtiBrowser, live_server: LiveServer, lrs_for_demo: Lrs
) -> None:
    elsewhere = "https://elsewhere.example"
    app.test_cli_runner().invoke(
        args=[
            "platform",
            "add",
            "--issuer",
            elsewhere,
            "--client-id",
            "c",
            "--auth-login-url",
            elsewhere + "/auth",
            "--auth-token-url",
            elsewhere + "/token",
            "--key-set-url",
            elsewhere + "/jwks",
            "--deployment-id",
            "1",
        ]
    )
    other = Lrs(live_server.url, make_client(app, "all/read", platforms=(elsewhere,)))
    issuer = app.extensions["socle_demo_platform"].issuer
    learner = Learner(browser)
    assert len(statements_of(lrs_for_demo, issuer, learner.sub)) == 1
    assert statements_of(other, issuer, learner.sub) == []
