"""Malformed input that used to answer 500, one case each: now a 4xx that says what is wrong, and nothing
already recorded is lost. Real HTTP against the live server, launches signed by the demo platform."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import jwt
import pytest
import requests
from flask import Flask
from sqlalchemy import func, select

from lti_tool.competences.models import PriorLearning
from lti_tool.content.loader import Content
from lti_tool.content.schemas import MatchingQuestion
from lti_tool.db import db, utcnow
from lti_tool.learners.models import Learner as LearnerRow
from lti_tool.learners.models import Platform as PlatformRow
from lti_tool.training.models import Deliverable
from tests.conftest import SECOND_CLIENT_ID, LiveServer
from tests.functional.test_player import Learner, answer, asked, right_answer, start_attempt
from tests.functional.test_xapi_api import Lrs, make_client, statement
from tests.helpers import LtiBrowser, Platform, error_code

HUGE = str(2**63)  # past SQLite's INTEGER: the driver raised OverflowError


@pytest.fixture
def course() -> dict[str, str]:
    return {"id": f"course-{time.time_ns()}", "title": "Cours des entrées"}


def person(live_server: LiveServer, course: dict[str, str], user: str) -> Learner:
    platform = Platform(live_server.app.extensions["socle_demo_platform"], live_server.url)
    return Learner(LtiBrowser(live_server.url, platform), user=user, context=course)


def learner_pk(app: Flask, sub: str) -> int:
    with app.app_context():
        pk = db.session.scalar(select(LearnerRow.id).where(LearnerRow.sub == sub))
        db.session.remove()
    assert pk is not None
    return int(pk)


def plan_session(facilitator: Learner, **changes: str) -> requests.Response:
    form = {
        "kind": "atelier",
        "title": "Atelier des entrées",
        "starts_at": "2026-12-03T14:00",
        "duration_minutes": "90",
        **changes,
    }
    return facilitator.post("/staff/sessions", form)


# -- "²" passes str.isdigit() but not int()
def test_a_superscript_digit_in_the_dashboard_filters_is_a_400(
    live_server: LiveServer, course: dict[str, str]
) -> None:
    staff = person(live_server, course, "instructor")
    for name in ("days", "page", "context"):
        response = staff.get("/staff/dashboard/learners", **{name: "²"})
        assert response.status_code == 400, (name, response.status_code)


def test_a_superscript_digit_as_a_session_duration_is_a_400(
    live_server: LiveServer, course: dict[str, str]
) -> None:
    response = plan_session(person(live_server, course, "instructor"), duration_minutes="²")
    assert response.status_code == 400 and error_code(response) == "bad_duration"
    assert "duration_minutes" in response.text


def test_a_superscript_digit_in_the_attendance_is_a_400(
    live_server: LiveServer, course: dict[str, str]
) -> None:
    facilitator = person(live_server, course, "instructor")
    created = plan_session(facilitator)
    assert created.status_code == 303, error_code(created)
    url = created.headers["Location"].split("?")[0]
    response = facilitator.post(url, {"present": ["²"]})
    assert response.status_code == 400 and error_code(response) == "unknown_learner"


def test_a_superscript_digit_as_a_matching_answer_is_a_400(
    live_server: LiveServer, course: dict[str, str], content: Content
) -> None:
    learner = person(live_server, course, "learner")
    # An attempt asks the questions it drew: answer them until it asks a matching question.
    for module in (
        m for m in content.modules if any(isinstance(q, MatchingQuestion) for q in m.quiz.questions)
    ):
        attempt = start_attempt(learner, module)
        for _ in range(module.draw):
            question = asked(learner, module)
            assert question is not None
            if isinstance(question, MatchingQuestion):
                form = {f"match-{i}": "²" for i in range(len(question.pairs))}
                response = answer(learner, module, attempt, question, form)
                assert response.status_code == 400 and error_code(response) == "bad_choice"
                return
            assert answer(learner, module, attempt, question, right_answer(question)).status_code == 303
    pytest.fail("no attempt drew a matching question")


def test_a_superscript_digit_as_the_xapi_limit_is_a_400(app: Flask, live_server: LiveServer) -> None:
    lrs = Lrs(live_server.url, make_client(app, "all"))
    response = lrs.get(limit="²")
    assert response.status_code == 400 and "limit" in response.json()["message"]


# -- ids at or above 2^63
def test_ids_past_the_column_name_nothing(live_server: LiveServer, course: dict[str, str]) -> None:
    staff = person(live_server, course, "instructor")
    learner = person(live_server, course, "learner")
    paths = [
        (staff, f"/staff/learners/{HUGE}/competences"),
        (staff, f"/staff/sessions/{HUGE}/attendance"),
        (staff, f"/staff/dashboard/courses/{HUGE}/learners/{HUGE}"),
        (learner, f"/diagnostic/runs/{HUGE}/result"),
        (learner, f"/diagnostic/runs/{HUGE}/profile"),
    ]
    for who, path in paths:
        response = who.get(path)
        assert response.status_code == 404, (path, response.status_code)
    context = staff.get("/staff/dashboard/", context=HUGE)
    assert context.status_code == 400 and error_code(context) == "bad_context"
    assert "context" in context.text


def test_the_public_status_list_refuses_a_huge_number_with_a_404(live_server: LiveServer) -> None:
    for number in (HUGE, "9" * 40):
        response = requests.get(f"{live_server.url}/credentials/status/{number}", timeout=10)
        assert response.status_code == 404, (number, response.status_code)


# -- dates that cannot move to UTC
def test_a_session_starting_in_year_one_is_a_400(live_server: LiveServer, course: dict[str, str]) -> None:
    response = plan_session(person(live_server, course, "instructor"), starts_at="0001-01-01T00:00")
    assert response.status_code == 400 and error_code(response) == "bad_date"
    assert "starts_at" in response.text


def test_dashboard_dates_at_the_ends_of_the_calendar_are_a_400(
    live_server: LiveServer, course: dict[str, str]
) -> None:
    staff = person(live_server, course, "instructor")
    for name, value in (("since", "0001-01-01"), ("until", "9999-12-31")):
        response = staff.get("/staff/dashboard/", **{name: value})
        assert response.status_code == 400 and error_code(response) == "bad_date", (name, value)


# -- launch claims that cannot be stored
@pytest.mark.parametrize(
    ("claim", "value"),
    [
        ("sub", "learner-\ud800"),
        ("sub", "learner-\x00"),
        ("name", "Ada \ud800"),
        ("name", "Ada\x00Lovelace"),
        ("context", {"id": "course-\ud800", "title": "Cours"}),
        ("context", {"id": "course-\x00", "title": "Cours"}),
    ],
)
def test_a_launch_claim_with_a_surrogate_or_nul_is_refused(
    browser: LtiBrowser, nothing_recorded: None, claim: str, value: Any
) -> None:
    response = browser.launch_with(**{claim: value})
    assert response.status_code == 400 and error_code(response) == "malformed_claim"


def test_a_claim_nested_975_deep_is_refused(
    browser: LtiBrowser, platform: Platform, nothing_recorded: None
) -> None:
    login = browser.start_login()
    claims = platform.claims(login.nonce)
    # Signed as a platform would send it: the JSON text nests 975 arrays (too deep for this process's own
    # json.dumps, hence spliced in), which json.loads still reads and json.dumps could not write back.
    claims["https://example.org/claims/deep"] = "DEEP"
    payload = json.dumps(claims).replace('"DEEP"', "[" * 975 + '"fond"' + "]" * 975)
    key = platform.demo.keys.active()
    token = jwt.api_jws.encode(
        payload.encode(), key.private_key, algorithm="RS256", headers={"kid": key.kid, "typ": "JWT"}
    )
    response = browser.launch(token, login.state)
    assert response.status_code == 400 and error_code(response) == "malformed_claim"


def test_a_platform_key_without_modulus_is_a_launch_refusal(
    app: Flask, live_server: LiveServer, platform: Platform, nothing_recorded: None
) -> None:
    """The platform publishes a key under the token's kid, but no RSA modulus (``n``) in it."""
    with app.app_context():
        row = db.session.scalar(select(PlatformRow).where(PlatformRow.client_id == SECOND_CLIENT_ID))
        assert row is not None
        saved = (row.jwks_json, row.jwks_fetched_at)
        real = json.loads(row.jwks_json)["keys"] if row.jwks_json else []
        row.jwks_json = json.dumps({"keys": [*real, {"kty": "RSA", "kid": "no-modulus", "e": "AQAB"}]})
        row.jwks_fetched_at = utcnow()
        db.session.commit()
        db.session.remove()
    try:
        browser = LtiBrowser(live_server.url, platform)
        login = browser.start_login(via=SECOND_CLIENT_ID)
        claims = platform.claims(login.nonce, via=SECOND_CLIENT_ID)
        token = platform.sign(claims, headers={"kid": "no-modulus"})
        response = browser.launch(token, login.state)
        assert response.status_code == 400 and error_code(response) == "bad_platform_key"
    finally:
        with app.app_context():
            row = db.session.scalar(select(PlatformRow).where(PlatformRow.client_id == SECOND_CLIENT_ID))
            row.jwks_json, row.jwks_fetched_at = saved
            db.session.commit()
            db.session.remove()


# -- xAPI actor and object ids
@pytest.mark.parametrize("bad", ["\ud800", "\x00"])
def test_an_xapi_statement_with_a_surrogate_or_nul_in_an_id_is_a_400(
    app: Flask, live_server: LiveServer, bad: str
) -> None:
    lrs = Lrs(live_server.url, make_client(app, "all"))
    actor = {"objectType": "Agent", "account": {"homePage": "https://lms.example", "name": "a" + bad}}
    for body in (statement(actor=actor), statement(object={"id": "https://socle.example/a/" + bad})):
        response = lrs.post(body)
        assert response.status_code == 400, response.text[:300]
        assert "NUL or an unpaired surrogate" in response.json()["message"]


# -- double-clicked forms: ten posts at once, one row, no 5xx
def post_at_once(who: Learner, path: str, form: dict[str, str], times: int = 10) -> list[int]:
    """``times`` real HTTP posts of the same form, released together (each thread its own connection)."""
    cookies = who.browser.http.cookies.get_dict()
    start = threading.Barrier(times)
    statuses: list[int] = []

    def send() -> None:
        start.wait()
        response = requests.post(
            who.browser.base_url + path,
            params={"launch": who.launch},
            data={**form, "csrf_token": who.browser.http.csrf_tokens[who.launch]},
            headers={"Origin": who.browser.base_url},
            cookies=cookies,
            allow_redirects=False,
            timeout=60,
        )
        statuses.append(response.status_code)

    threads = [threading.Thread(target=send) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def test_ten_parallel_deliverable_submissions_record_one(
    app: Flask, live_server: LiveServer, course: dict[str, str], content: Content
) -> None:
    learner = person(live_server, course, "learner")
    module = next(m for m in content.modules if m.meta.deliverable is not None)
    text = " ".join(["simultané"] * module.meta.deliverable.min_words)  # type: ignore[union-attr]
    statuses = post_at_once(learner, f"/modules/{module.slug}/deliverable", {"text": text})
    assert all(status < 500 for status in statuses), statuses
    assert statuses.count(303) == 1 and set(statuses) <= {303, 409}, statuses
    with app.app_context():
        count = db.session.scalar(
            select(func.count())
            .select_from(Deliverable)
            .where(Deliverable.learner_id == learner_pk(app, learner.sub))
        )
        db.session.remove()
    assert count == 1


def test_parallel_prior_learning_posts_record_one(
    app: Flask, live_server: LiveServer, course: dict[str, str]
) -> None:
    learner = person(live_server, course, "learner")
    facilitator = person(live_server, course, "instructor")
    pk = learner_pk(app, learner.sub)
    form = {"module": "M3", "reason": "Responsable bénévolat depuis six ans, attestation fournie."}
    statuses = post_at_once(facilitator, f"/staff/learners/{pk}/prior-learning", form, times=16)
    assert all(status < 500 for status in statuses), statuses
    assert statuses.count(303) == 1 and set(statuses) <= {303, 409}, statuses
    with app.app_context():
        count = db.session.scalar(
            select(func.count()).select_from(PriorLearning).where(PriorLearning.learner_id == pk)
        )
        db.session.remove()
    assert count == 1


def test_a_nul_anywhere_in_a_form_or_query_is_a_400_naming_the_field(
    live_server: LiveServer, course: dict[str, str]
) -> None:
    staff = person(live_server, course, "instructor")
    response = plan_session(staff, title="Atelier\x00")
    assert response.status_code == 400 and error_code(response) == "bad_text" and "title" in response.text
    search = staff.get("/staff/dashboard/learners", q="Ada\x00")
    assert search.status_code == 400 and error_code(search) == "bad_text"
    assert requests.get(f"{live_server.url}/verify/abc%00def", timeout=10).status_code == 400
