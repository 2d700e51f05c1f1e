"""Live sessions over real HTTP: where to join and what it is about, shown to learners on the module page
with an .ics file; a facilitator edits and cancels a session; attendance before a session starts is
recorded only once the facilitator confirms it."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from icalendar import Calendar
from sqlalchemy import inspect, select

from lti_tool import create_app
from lti_tool.content.loader import Content
from lti_tool.db import db
from lti_tool.learners.models import Learner as LearnerRow
from tests.conftest import new_database, standalone_config
from tests.functional.test_diagnostic import run_through
from tests.functional.test_player import Learner, events
from tests.helpers import LtiBrowser, error_code

PARIS = ZoneInfo("Europe/Paris")


class Course:
    """A course of its own (nothing another test planned shows), with a facilitator and a learner."""

    def __init__(self, browser: LtiBrowser, other_browser: LtiBrowser) -> None:
        context = {"id": f"live-{time.time_ns()}", "title": "Cours des séances"}
        self.learner = Learner(browser, context=context)
        self.facilitator = Learner(other_browser, user="instructor", context=context)

    def plan(self, **fields: str) -> str:
        """Plan a session; answer its attendance URL."""
        data = {
            "kind": "webinaire",
            "title": "Webinaire M5",
            "starts_at": local(datetime.now(UTC) + timedelta(days=10)),
            "duration_minutes": "90",
            "module_id": "M5",
            **fields,
        }
        created = self.facilitator.post("/staff/sessions", data)
        assert created.status_code == 303, error_code(created)
        return created.headers["Location"].split("?")[0]


def learner_id_of(app: Flask, sub: str) -> int:
    with app.app_context():
        learner_id = db.session.scalar(select(LearnerRow.id).where(LearnerRow.sub == sub))
        db.session.remove()
    assert learner_id is not None
    return int(learner_id)


def local(moment: datetime) -> str:
    return moment.astimezone(PARIS).strftime("%Y-%m-%dT%H:%M")


def session_id(url: str) -> int:
    return int(url.rstrip("/").split("/")[-2])


def ics_of(course: Course, slug: str, live_id: int) -> Calendar:
    response = course.learner.get(f"/modules/{slug}/sessions/{live_id}.ics")
    assert response.status_code == 200, error_code(response)
    assert response.headers["Content-Type"].startswith("text/calendar")
    return Calendar.from_ical(response.content)


@pytest.fixture
def course(browser: LtiBrowser, other_browser: LtiBrowser) -> Course:
    return Course(browser, other_browser)


def test_a_learner_sees_where_to_join_and_downloads_the_session_for_their_calendar(
    course: Course, content: Content
) -> None:
    module = content.module("M5")
    starts = (datetime.now(UTC) + timedelta(days=9)).replace(second=0, microsecond=0)
    url = course.plan(
        title="Webinaire de lancement",
        starts_at=local(starts),
        duration_minutes="75",
        place="Salle Condorcet, 12 rue de Paris",
        join_url="https://visio.example.org/aff-m5",
        description="Préparez une question sur votre projet.",
    )
    live_id = session_id(url)
    page = course.learner.get(f"/modules/{module.slug}/")
    assert page.status_code == 200
    assert f'data-testid="live-session-{live_id}"' in page.text
    assert "Webinaire de lancement" in page.text and "Salle Condorcet, 12 rue de Paris" in page.text
    assert 'href="https://visio.example.org/aff-m5"' in page.text
    assert "Préparez une question sur votre projet." in page.text
    assert starts.astimezone(PARIS).strftime("%d/%m/%Y %H:%M") in page.text
    assert f"/modules/{module.slug}/sessions/{live_id}.ics" in page.text
    english = course.learner.get(f"/modules/{module.slug}/", lang="en").text
    assert "Add to my calendar (.ics)" in english and "Join the session online" in english
    (event,) = ics_of(course, module.slug, live_id).walk("VEVENT")
    assert event.decoded("dtstart") == starts
    assert event.decoded("dtend") == starts + timedelta(minutes=75)
    assert "Webinaire de lancement" in str(event["summary"])
    assert str(event["location"]) == "Salle Condorcet, 12 rue de Paris"
    assert str(event["url"]) == "https://visio.example.org/aff-m5"
    assert "Préparez une question" in str(event["description"])
    assert str(event["status"]) == "CONFIRMED" and int(event["sequence"]) == 0
    # the session belongs to M5: another module's page neither lists it nor serves it
    other = content.module("M1")
    assert f"live-session-{live_id}" not in course.learner.get(f"/modules/{other.slug}/").text
    assert course.learner.get(f"/modules/{other.slug}/sessions/{live_id}.ics").status_code == 404


def test_a_session_of_another_course_has_no_calendar_file_here(
    course: Course, browser: LtiBrowser, content: Content
) -> None:
    live_id = session_id(course.plan())
    outsider = Learner(browser, context={"id": f"elsewhere-{time.time_ns()}", "title": "Ailleurs"})
    slug = content.module("M5").slug
    assert outsider.get(f"/modules/{slug}/sessions/{live_id}.ics").status_code == 404
    assert f"live-session-{live_id}" not in outsider.get(f"/modules/{slug}/").text


def test_editing_a_session_shows_learners_the_new_time_and_place_and_updates_the_same_calendar_event(
    course: Course, content: Content
) -> None:
    slug = content.module("M5").slug
    url = course.plan(place="Salle A")
    live_id = session_id(url)
    uid = str(ics_of(course, slug, live_id).walk("VEVENT")[0]["uid"])
    form = course.facilitator.get(f"/staff/sessions/{live_id}/edit")
    assert form.status_code == 200 and 'value="Salle A"' in form.text
    moved = (datetime.now(UTC) + timedelta(days=20)).replace(second=0, microsecond=0)
    edited = course.facilitator.post(
        f"/staff/sessions/{live_id}/edit",
        {
            "kind": "atelier",
            "title": "Atelier déplacé",
            "starts_at": local(moved),
            "duration_minutes": "120",
            "module_id": "M5",
            "place": "Salle B",
            "join_url": "",
            "description": "Nouvelle salle.",
        },
    )
    assert edited.status_code == 303, error_code(edited)
    assert "Séance modifiée." in course.facilitator.get(edited.headers["Location"]).text
    page = course.learner.get(f"/modules/{slug}/").text
    assert "Atelier déplacé" in page and "Salle B" in page and "Salle A" not in page
    assert moved.astimezone(PARIS).strftime("%d/%m/%Y %H:%M") in page
    (event,) = ics_of(course, slug, live_id).walk("VEVENT")
    assert str(event["uid"]) == uid and int(event["sequence"]) == 1
    assert event.decoded("dtstart") == moved and str(event["location"]) == "Salle B"


def test_a_cancelled_session_is_shown_cancelled_and_records_no_attendance(
    app: Flask, course: Course, content: Content
) -> None:
    slug = content.module("M5").slug
    url = course.plan(starts_at=local(datetime.now(UTC) - timedelta(hours=3)))
    live_id = session_id(url)
    course.learner.get(f"/modules/{slug}/")  # the learner is known in the course
    cancelled = course.facilitator.post(f"/staff/sessions/{live_id}/cancel")
    assert cancelled.status_code == 303
    assert 'data-testid="session-cancelled"' in course.facilitator.get(url).text
    page = course.learner.get(f"/modules/{slug}/").text
    section = page.split(f'data-testid="live-session-{live_id}"')[1].split("</li>")[0]
    assert "annulée" in section and "Cette séance n'aura pas lieu." in section
    (event,) = ics_of(course, slug, live_id).walk("VEVENT")
    assert str(event["status"]) == "CANCELLED" and int(event["sequence"]) == 1
    before = events(app, course.learner.sub, "attendance_recorded")
    learner_id = learner_id_of(app, course.learner.sub)
    refused = course.facilitator.post(url, {"present": [str(learner_id)], "confirm_early": "1"})
    assert refused.status_code == 409 and error_code(refused) == "session_cancelled"
    assert events(app, course.learner.sub, "attendance_recorded") == before
    edit = course.facilitator.post(
        f"/staff/sessions/{live_id}/edit",
        {"kind": "webinaire", "title": "x", "starts_at": "2026-12-30T10:00", "duration_minutes": "60"},
    )
    assert edit.status_code == 409 and error_code(edit) == "session_cancelled"


def test_attendance_before_the_session_starts_warns_and_records_only_once_confirmed(
    app: Flask, course: Course, content: Content
) -> None:
    module = content.module("M5")
    url = course.plan()
    course.learner.get(f"/modules/{module.slug}/")
    learner_id = learner_id_of(app, course.learner.sub)
    page = course.facilitator.get(url).text
    assert 'data-testid="not-started"' in page and "n'a pas encore commencé" in page
    unconfirmed = course.facilitator.post(url, {"present": [str(learner_id)]})
    assert unconfirmed.status_code == 409
    assert 'role="alert"' in unconfirmed.text and 'name="confirm_early"' in unconfirmed.text
    # the ticks come back as they were sent, and nothing was recorded
    assert f'id="p-{learner_id}" name="present" value="{learner_id}" checked' in unconfirmed.text
    assert events(app, course.learner.sub, "attendance_recorded") == 0
    confirmed = course.facilitator.post(url, {"present": [str(learner_id)], "confirm_early": "1"})
    assert confirmed.status_code == 303, error_code(confirmed)
    assert events(app, course.learner.sub, "attendance_recorded") == 1


def test_a_session_that_has_started_records_attendance_without_a_warning(app: Flask, course: Course) -> None:
    url = course.plan(starts_at=local(datetime.now(UTC) - timedelta(minutes=30)))
    course.learner.get("/learner/")
    assert 'data-testid="not-started"' not in course.facilitator.get(url).text
    learner_id = learner_id_of(app, course.learner.sub)
    assert course.facilitator.post(url, {"present": [str(learner_id)]}).status_code == 303
    assert events(app, course.learner.sub, "attendance_recorded") == 1


@pytest.mark.parametrize(
    "link", ["javascript:alert(1)", "data:text/html,x", "visio.example.org", "https://a b.org", "https://"]
)
def test_a_joining_link_that_is_not_a_web_address_is_a_400(course: Course, link: str) -> None:
    response = course.facilitator.post(
        "/staff/sessions",
        {
            "kind": "webinaire",
            "title": "Lien douteux",
            "starts_at": "2026-12-30T10:00",
            "duration_minutes": "60",
            "join_url": link,
        },
    )
    assert response.status_code == 400 and error_code(response) == "bad_join_url"


def test_learners_cannot_edit_or_cancel_a_session(course: Course) -> None:
    live_id = session_id(course.plan())
    assert course.learner.get(f"/staff/sessions/{live_id}/edit").status_code == 403
    assert course.learner.post(f"/staff/sessions/{live_id}/cancel").status_code == 403


def test_the_migration_adds_where_to_join_and_cancellation_and_goes_back(tmp_path: Path) -> None:
    """0017 adds the place, link, description, cancellation and revision to sessions; its downgrade
    removes them again."""
    with new_database("socle_migration", tmp_path / "migrated.sqlite3") as url:
        app = create_app(standalone_config(tmp_path, DATABASE_URL=url))
        runner = app.test_cli_runner()
        result = runner.invoke(args=["db", "upgrade", "0015_assessed_productions"])
        assert result.exit_code == 0, result.output
        result = runner.invoke(args=["db", "upgrade"])
        assert result.exit_code == 0, result.output
        with app.app_context():
            columns = {c["name"] for c in inspect(db.engine).get_columns("live_sessions")}
            assert {"place", "join_url", "description", "cancelled_at", "revision"} <= columns
            assert "announced_at" in {c["name"] for c in inspect(db.engine).get_columns("credentials")}
            db.engine.dispose()
        result = runner.invoke(args=["db", "downgrade", "0015_assessed_productions"])
        assert result.exit_code == 0, result.output
        with app.app_context():
            columns = {c["name"] for c in inspect(db.engine).get_columns("live_sessions")}
            assert "join_url" not in columns and "revision" not in columns
            db.engine.dispose()


def test_a_cancelled_workshop_is_no_longer_recommended_by_the_autodiagnostic(course: Course) -> None:
    lagging_alliances = {"A": 4, "B": 4, "C": 4, "D": 1, "E": 3}
    url = course.plan(kind="atelier", title="Atelier alliances")
    result = course.learner.get(f"/diagnostic/runs/{run_through(course.learner, lagging_alliances)}/result")
    assert 'data-format="ateliers"' in result.text
    assert course.facilitator.post(f"/staff/sessions/{session_id(url)}/cancel").status_code == 303
    result = course.learner.get(f"/diagnostic/runs/{run_through(course.learner, lagging_alliances)}/result")
    assert 'data-rule="axe-alliances"' in result.text and 'data-format="ateliers"' not in result.text
