"""LTI Advantage end to end against the demo platform: Dynamic Registration, Deep Linking (several items),
grades through AGS (with the platform down, then back), the roster through NRPS (several pages), and the
bad inputs of each, refused with nothing stored."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
import requests
from flask import Flask
from sqlalchemy import delete, func, select
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from demo_platform import roster
from demo_platform.models import DemoLineItem, DemoScore
from demo_platform.platform import DemoPlatform
from lti_tool.db import db, utcnow
from lti_tool.learners.models import Enrolment, Learner, Platform
from lti_tool.lti import ags, nrps
from lti_tool.lti.models import ScoreOutbox
from lti_tool.training.models import QuizAttempt
from tests.conftest import SECOND_CLIENT_ID, free_port
from tests.functional.test_player import Learner as Person
from tests.functional.test_player import take_quiz
from tests.helpers import LtiBrowser, autopost_form, error_code, launch_id_of


@pytest.fixture
def demo(app: Flask) -> Iterator[DemoPlatform]:
    platform: DemoPlatform = app.extensions["socle_demo_platform"]
    yield platform
    platform.outage = None


def count(app: Flask, model: type, *where: object) -> int:
    with app.app_context():
        value = int(db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0)
        db.session.remove()
        return value


def registration_token(demo: DemoPlatform) -> str:
    response = requests.post(demo.base_url + "/admin/registration-token", data={"pending": "0"}, timeout=10)
    return str(response.json()["registration_token"])


def invite(app: Flask, name: str = "Moodle DU", expires: str | None = None) -> str:
    """The operator's invitation token, made with the CLI as the README says."""
    args = ["platform", "invite", "--name", name, *(["--expires", expires] if expires else [])]
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code == 0, result.output
    url = result.output.strip().splitlines()[-1]
    assert url.startswith(app.config["BASE_URL"] + "/lti/register?token=")
    return url.rsplit("token=", 1)[1]


def deliver_scores(app: Flask, base_delay_seconds: float = 0.01) -> dict[str, int]:
    with app.app_context():
        lti = app.extensions["socle_lti"]
        counts = ags.run_once(
            db.session, lti.http, lti.keys, db.engine, ags.Policy(base_delay_seconds=base_delay_seconds)
        )
        db.session.remove()
        return counts


def make_due(app: Flask) -> None:
    with app.app_context():
        for row in db.session.scalars(select(ScoreOutbox).where(ScoreOutbox.status == "pending")):
            row.next_attempt_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
        db.session.remove()


# -- Dynamic Registration
def test_dynamic_registration_end_to_end(app: Flask, browser: LtiBrowser, demo: DemoPlatform) -> None:
    token = registration_token(demo)
    invitation = invite(app)
    before = count(app, Platform)
    page = browser.http.get(
        browser.base_url + "/lti/register",
        params={
            "token": invitation,
            "openid_configuration": demo.openid_configuration_url,
            "registration_token": token,
        },
    )
    assert page.status_code == 200, error_code(page)
    assert 'data-testid="registered"' in page.text and "lti-close.js" in page.text
    assert count(app, Platform) == before + 1
    with app.app_context():
        platform = db.session.scalars(
            select(Platform).where(Platform.source == "dynamic").order_by(Platform.id.desc())
        ).first()
        assert platform is not None and platform.issuer == demo.issuer
        assert platform.auth_token_url == demo.token_url and platform.key_set_url == demo.jwks_url
        assert len(platform.deployments) == 1
        client_id = platform.client_id
        db.session.remove()
    # The platform now launches Socle through the new registration.
    launched = browser.http.get(demo.base_url + "/start", params={"as": "learner", "client_id": client_id})
    action, fields = autopost_form(launched.text)
    home = browser.http.post(action, data=fields)
    assert home.status_code == 200 and 'data-testid="learner-home"' in home.text
    # The platform's registration token works once (with a new invitation, so that only the token fails).
    again = browser.http.get(
        browser.base_url + "/lti/register",
        params={
            "token": invite(app),
            "openid_configuration": demo.openid_configuration_url,
            "registration_token": token,
        },
    )
    assert again.status_code == 400 and error_code(again) == "registration_refused"
    assert count(app, Platform) == before + 1


@pytest.fixture
def foreign_configuration(demo: DemoPlatform) -> Iterator[str]:
    """An openid configuration that claims to be the demo platform's but is served from elsewhere."""
    config = requests.get(demo.openid_configuration_url, timeout=10).json()

    @Request.application
    def serve(request: Request) -> Response:
        return Response(json.dumps(config), content_type="application/json")

    port = free_port()
    server = make_server("127.0.0.1", port, serve, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{port}/openid-configuration"
    server.shutdown()


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"registration_token": "x"}, "bad_configuration_url"),
        (
            {"openid_configuration": "http://127.0.0.1:1/nothing", "registration_token": "x"},
            "configuration_unreachable",
        ),
    ],
)
def test_registration_refuses_bad_configuration_urls(
    app: Flask, browser: LtiBrowser, params: dict[str, str], code: str
) -> None:
    before = count(app, Platform)
    response = browser.http.get(browser.base_url + "/lti/register", params={"token": invite(app), **params})
    assert response.status_code == 400 and error_code(response) == code
    assert "Ce qui s'est passé" in response.text and count(app, Platform) == before


def test_registration_refuses_an_issuer_the_configuration_does_not_belong_to(
    app: Flask, browser: LtiBrowser, demo: DemoPlatform, foreign_configuration: str
) -> None:
    before = count(app, Platform)
    response = browser.http.get(
        browser.base_url + "/lti/register",
        params={
            "token": invite(app),
            "openid_configuration": foreign_configuration,
            "registration_token": registration_token(demo),
        },
    )
    assert response.status_code == 400 and error_code(response) == "issuer_mismatch"
    assert count(app, Platform) == before


def test_registration_with_an_invalid_token_is_refused(
    app: Flask, browser: LtiBrowser, demo: DemoPlatform
) -> None:
    before = count(app, Platform)
    response = browser.http.get(
        browser.base_url + "/lti/register",
        params={
            "token": invite(app),
            "openid_configuration": demo.openid_configuration_url,
            "registration_token": "not-issued",
        },
    )
    assert response.status_code == 400 and error_code(response) == "registration_refused"
    # The platform's answer (its error description) is never shown on the page.
    assert "invalid_token" not in response.text and "unknown or expired" not in response.text
    assert count(app, Platform) == before


# -- Deep Linking
def deep_link_launch(browser: LtiBrowser, demo: DemoPlatform) -> requests.Response:
    page = browser.http.get(demo.base_url + "/start", params={"as": "instructor", "message": "deeplink"})
    action, fields = autopost_form(page.text)
    picker = browser.http.post(action, data=fields)
    assert picker.status_code == 200 and 'data-testid="deep-link-picker"' in picker.text, error_code(picker)
    return picker


def test_deep_linking_places_several_items_and_their_links_open_them(
    app: Flask, browser: LtiBrowser, demo: DemoPlatform
) -> None:
    picker = deep_link_launch(browser, demo)
    launch = launch_id_of(picker)
    response = browser.http.post(
        browser.base_url + "/lti/deep-link",
        params={"launch": launch},
        data={"item": ["module:M2", "activity:autodiagnostic", "activity:sessions"]},
    )
    assert response.status_code == 200
    action, fields = autopost_form(response.text)
    assert action.startswith(demo.base_url + "/deep-link-return")
    created = browser.http.post(action, data=fields)
    assert created.status_code == 200 and 'data-testid="deep-link-created"' in created.text, created.text[
        :500
    ]
    link_ids = [int(v) for v in re.findall(r'<li data-link-id="(\d+)">', created.text)][-3:]
    assert len(link_ids) == 3
    with app.app_context():
        columns = {c.resource_id for c in db.session.scalars(select(DemoLineItem))}
        db.session.remove()
    assert {"M2", "autodiagnostic"} <= columns  # graded items come with their gradebook column
    # A learner launching the first new link lands on module M2.
    page = browser.http.get(demo.base_url + "/start", params={"as": "learner", "link": str(link_ids[0])})
    action, fields = autopost_form(page.text)
    landed = browser.http.post(action, data=fields)
    assert 'data-testid="module-overview"' in landed.text and "M2 · " in landed.text
    # The request is answered once.
    again = browser.http.post(
        browser.base_url + "/lti/deep-link", params={"launch": launch}, data={"item": ["module:M3"]}
    )
    assert again.status_code == 409


def test_deep_linking_refuses_another_users_launch_and_unknown_items(
    browser: LtiBrowser, other_browser: LtiBrowser, demo: DemoPlatform
) -> None:
    launch = launch_id_of(deep_link_launch(browser, demo))
    other_browser.launch_with(user="instructor")  # the other browser has its own session
    stolen = other_browser.http.post(
        other_browser.base_url + "/lti/deep-link", params={"launch": launch}, data={"item": ["module:M1"]}
    )
    assert stolen.status_code == 403 and error_code(stolen) == "csrf_refused"  # not from its pages
    # Even with the page's token (copied with the id), the launch belongs to the other browser's cookie.
    token = browser.http.csrf_tokens[launch]
    stolen = other_browser.http.post(
        other_browser.base_url + "/lti/deep-link",
        params={"launch": launch},
        data={"item": ["module:M1"], "csrf_token": token},
    )
    assert stolen.status_code == 403 and error_code(stolen) == "foreign_launch"
    unknown = browser.http.post(
        browser.base_url + "/lti/deep-link", params={"launch": launch}, data={"item": ["module:M99"]}
    )
    assert unknown.status_code == 400 and error_code(unknown) == "unknown_item"
    nothing = browser.http.post(browser.base_url + "/lti/deep-link", params={"launch": launch}, data={})
    assert nothing.status_code == 400 and error_code(nothing) == "nothing_chosen"


def test_a_resource_launch_cannot_answer_a_deep_linking_request(browser: LtiBrowser) -> None:
    teacher = Person(browser, user="instructor")
    response = teacher.post("/lti/deep-link", {"item": ["module:M1"]})
    assert response.status_code == 400 and error_code(response) == "not_deep_linking"


def test_an_admin_switches_off_their_own_registration_after_confirming_and_its_launches_end(
    app: Flask, browser: LtiBrowser, other_browser: LtiBrowser
) -> None:
    admin = Person(other_browser, user="admin", via=SECOND_CLIENT_ID)
    with app.app_context():
        own = db.session.scalar(select(Platform.id).where(Platform.client_id == SECOND_CLIENT_ID))
        first = db.session.scalar(select(Platform.id).where(Platform.client_id == "socle-demo"))
        db.session.remove()
    try:
        # Through A2, the admin cannot touch A either.
        other = admin.post("/admin/platforms", {"platform": str(first), "action": "deactivate"})
        assert other.status_code == 403 and error_code(other) == "other_registration"
        done = admin.post(
            "/admin/platforms", {"platform": str(own), "action": "deactivate", "confirm": "yes"}
        )
        assert done.status_code == 200 and "désactivée" in done.text
        assert browser.request_login(via=SECOND_CLIENT_ID).status_code == 400
        assert admin.get("/learner/").status_code == 401  # the session ended with its registration
        assert browser.request_login().status_code == 302  # A is untouched
    finally:
        runner = app.test_cli_runner()
        issuer = app.extensions["socle_demo_platform"].issuer
        on = runner.invoke(args=["platform", "activate", "--issuer", issuer, "--client-id", SECOND_CLIENT_ID])
        assert on.exit_code == 0, on.output


# -- Grades (AGS)
def pass_quiz(person: Person, content: object, module_id: str = "M1", correct: bool = True) -> None:
    module = content.module(module_id)  # type: ignore[attr-defined]
    take_quiz(person, module, correct=module.draw if correct else 0)


def test_scores_reach_the_gradebook_after_an_outage_with_one_token(
    app: Flask, browser: LtiBrowser, demo: DemoPlatform, content: object
) -> None:
    learner = Person(browser, sub="demo-learner-0001")  # a member of the demo course
    deliver_scores(app)  # whatever earlier tests queued
    before = count(app, ScoreOutbox, ScoreOutbox.status == "delivered")
    pass_quiz(learner, content, "M6")
    pending = count(app, ScoreOutbox, ScoreOutbox.status == "pending")
    assert pending >= 1
    demo.outage = "down"
    deliver_scores(app, base_delay_seconds=30)
    with app.app_context():
        waiting = db.session.scalars(
            select(ScoreOutbox).where(
                ScoreOutbox.status == "pending",
                ScoreOutbox.resource_id == "M6",
                ScoreOutbox.sub == "demo-learner-0001",
            )
        ).all()
        assert waiting and all(row.attempts >= 1 and row.last_error for row in waiting)
        assert all(row.next_attempt_at > utcnow() for row in waiting)  # backing off
        db.session.remove()
    demo.outage = None
    make_due(app)
    tokens_before = (
        requests.get(demo.base_url + "/admin/token-stats", timeout=10)
        .json()
        .get("socle-demo", {})
        .get("*", 0)
    )
    deliver_scores(app)
    assert count(app, ScoreOutbox, ScoreOutbox.status == "pending") == 0
    assert count(app, ScoreOutbox, ScoreOutbox.status == "delivered") >= before + pending
    with app.app_context():
        score = db.session.scalars(
            select(DemoScore).where(DemoScore.user_sub == "demo-learner-0001").order_by(DemoScore.id.desc())
        ).first()
        assert score is not None and score.grading_progress == "FullyGraded" and score.score_given == 100
        db.session.remove()
    # More scores reuse the cached token: none is requested per score.
    pass_quiz(learner, content, "M7")
    deliver_scores(app)
    tokens_after = (
        requests.get(demo.base_url + "/admin/token-stats", timeout=10)
        .json()
        .get("socle-demo", {})
        .get("*", 0)
    )
    assert tokens_after - tokens_before <= 2  # at most one per scope set (line items, scores) per expiry


def test_score_timestamps_strictly_increase_within_a_second(
    app: Flask, browser: LtiBrowser, content: object
) -> None:
    learner = Person(browser, sub="demo-learner-0001")
    # The demo learner is shared by the session's tests: give them M1's attempts back, so that two more
    # can be failed within a second whatever ran before.
    with app.app_context():
        db.session.execute(
            delete(QuizAttempt).where(
                QuizAttempt.module_id == "M1",
                QuizAttempt.learner_id.in_(select(Learner.id).where(Learner.sub == "demo-learner-0001")),
            )
        )
        db.session.commit()
        db.session.remove()
    pass_quiz(learner, content, "M1", correct=False)
    pass_quiz(learner, content, "M1", correct=False)
    with app.app_context():
        stamps = [
            row.timestamp
            for row in db.session.scalars(
                select(ScoreOutbox)
                .where(ScoreOutbox.resource_id == "M1", ScoreOutbox.sub == "demo-learner-0001")
                .order_by(ScoreOutbox.id)
            )
        ]
        db.session.remove()
    assert all(
        later - earlier >= timedelta(seconds=1) for earlier, later in zip(stamps, stamps[1:], strict=False)
    )
    deliver_scores(app)
    assert (
        count(
            app,
            ScoreOutbox,
            ScoreOutbox.resource_id == "M1",
            ScoreOutbox.sub == "demo-learner-0001",
            ScoreOutbox.status == "refused",
        )
        == 0
    )


def test_a_score_for_someone_not_in_the_course_is_refused_and_shown_to_staff(
    app: Flask, browser: LtiBrowser, other_browser: LtiBrowser, content: object
) -> None:
    stranger = Person(browser)  # a random sub the platform's roster does not know
    pass_quiz(stranger, content, "M2")
    deliver_scores(app)
    with app.app_context():
        row = db.session.scalars(select(ScoreOutbox).where(ScoreOutbox.sub == stranger.sub)).first()
        assert row is not None and row.status == "refused" and "refusée" in (row.last_error or "")
        db.session.remove()
    teacher = Person(other_browser, user="instructor")
    page = teacher.get("/staff/grades")
    assert page.status_code == 200 and "Apprenant·e de démonstration" in page.text and "refusée" in page.text


# -- Roster (NRPS)
@pytest.fixture
def big_roster(app: Flask, demo: DemoPlatform) -> Iterator[None]:
    with app.app_context():
        roster.resize_roster(db.session, 250)
        db.session.commit()
        db.session.remove()
    demo.nrps_default_limit = 100
    yield
    demo.nrps_default_limit = None
    with app.app_context():
        roster.resize_roster(db.session, 3)
        db.session.commit()
        db.session.remove()


def test_the_roster_comes_from_the_platform_page_by_page(
    app: Flask, browser: LtiBrowser, big_roster: None
) -> None:
    teacher = Person(browser, user="instructor", sub="demo-instructor-0001")
    assert teacher.post("/staff/roster/refresh").status_code == 303
    page = teacher.get("/staff/")
    assert "Liste lue auprès de la plateforme le" in page.text
    with app.app_context():
        known = db.session.scalar(
            select(func.count()).select_from(Learner).where(Learner.sub.like("demo-learner-%"))
        )
        never = db.session.scalar(
            select(func.count())
            .select_from(Enrolment)
            .join(Learner)
            .where(Learner.sub == "demo-learner-0200", Enrolment.last_launch_at.is_(None))
        )
        db.session.remove()
    assert known >= 248 and never == 1  # learners who never launched are on the roster
    assert "jamais" in page.text
    # One leaves the course: after a refresh they are marked, not deleted.
    with app.app_context():
        roster.set_member_status(db.session, "demo-learner-0100", "Inactive")
        db.session.commit()
        db.session.remove()
    refreshed = teacher.post("/staff/roster/refresh")
    assert refreshed.status_code == 303
    with app.app_context():
        left = db.session.scalar(
            select(Enrolment.is_active).join(Learner).where(Learner.sub == "demo-learner-0100")
        )
        db.session.remove()
    assert left is False


def test_an_oversized_roster_page_is_refused_and_nothing_changes(
    app: Flask, browser: LtiBrowser, big_roster: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    teacher = Person(browser, user="instructor", sub="demo-instructor-0001")
    monkeypatch.setattr(nrps, "MAX_MEMBERS_PER_PAGE", 50)  # the platform's pages of 100 are now too large
    before = count(app, Enrolment)
    response = teacher.post("/staff/roster/refresh")
    assert response.status_code == 303
    page = browser.http.get(browser.base_url + response.headers["Location"])
    assert page.status_code == 200 and 'role="alert"' in page.text and "too many members" in page.text
    assert count(app, Enrolment) == before  # nothing of the refused roster was stored


# -- Registrations: CLI and admin page
def test_registrations_are_switched_off_and_on_from_the_cli(app: Flask, browser: LtiBrowser) -> None:
    runner = app.test_cli_runner()
    issuer = app.extensions["socle_demo_platform"].issuer
    off = runner.invoke(
        args=["platform", "deactivate", "--issuer", issuer, "--client-id", "socle-demo-second"]
    )
    assert off.exit_code == 0, off.output
    assert (
        "deactivated"
        in runner.invoke(args=["platform", "list"]).output.split("socle-demo-second")[1].split("\n")[0]
        or "inactive" in runner.invoke(args=["platform", "list"]).output
    )
    refused = browser.request_login(via="socle-demo-second")
    assert refused.status_code == 400 and error_code(refused) == "unknown_platform"
    on = runner.invoke(args=["platform", "activate", "--issuer", issuer, "--client-id", "socle-demo-second"])
    assert on.exit_code == 0
    assert browser.request_login(via="socle-demo-second").status_code == 302
    removal = runner.invoke(args=["platform", "remove", "--issuer", issuer, "--client-id", "nope"])
    assert removal.exit_code != 0


def test_the_admin_page_is_for_platform_admins_and_their_own_issuer(
    app: Flask, browser: LtiBrowser, other_browser: LtiBrowser
) -> None:
    teacher = Person(browser, user="instructor")
    assert teacher.get("/admin/platforms").status_code == 403
    admin = Person(other_browser, user="admin")
    page = admin.get("/admin/platforms")
    assert page.status_code == 200 and "socle-demo-second" in page.text
    assert "no-alg-client" not in page.text  # another issuer's registration is not shown
    with app.app_context():
        second = db.session.scalar(select(Platform.id).where(Platform.client_id == "socle-demo-second"))
        own = db.session.scalar(select(Platform.id).where(Platform.client_id == "socle-demo"))
        db.session.remove()
    # Another registration of the same issuer may be another tenant's: its admin alone switches it.
    other = admin.post("/admin/platforms", {"platform": str(second), "action": "deactivate"})
    assert other.status_code == 403 and error_code(other) == "other_registration"
    assert browser.request_login(via="socle-demo-second").status_code == 302  # still on
    assert page.text.count('name="platform"') == 1  # listed, but only their own has a switch
    # Their own registration needs a confirmation: it ends their session and every launch through it.
    unconfirmed = admin.post("/admin/platforms", {"platform": str(own), "action": "deactivate"})
    assert unconfirmed.status_code == 400 and error_code(unconfirmed) == "own_registration"
