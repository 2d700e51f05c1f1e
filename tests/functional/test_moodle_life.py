"""Life inside Moodle (issue 14): the right grade after a retake, only what the teachers placed in the
gradebook and on the learner home, the roster, the way from an activity to the trainer area, the grades page,
the language of a launch, the first run and what Moodle shows of the tool."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import delete, select

from demo_platform import roster
from demo_platform.models import DemoScore
from demo_platform.platform import DemoPlatform
from lti_tool.db import db
from lti_tool.learners.models import Context
from lti_tool.lti.models import Placement, ScoreOutbox
from tests.functional.test_lti_advantage import deep_link_launch, deliver_scores, pass_quiz
from tests.functional.test_player import Learner as Person
from tests.helpers import LtiBrowser, autopost_form, launch_id_of

LEARNER_ROLE = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"


@pytest.fixture
def demo(app: Flask) -> Iterator[DemoPlatform]:
    platform: DemoPlatform = app.extensions["socle_demo_platform"]
    yield platform
    platform.outage = None


def course() -> dict[str, str]:
    """A course of its own (the demo course is shared by every test and holds the whole path)."""
    code = str(time.time_ns())
    return {"id": f"course-{code}", "title": f"Cours {code}", "label": code[-6:]}


def member(app: Flask) -> str:
    """A new learner on the demo course's roster, so the gradebook takes their scores."""
    sub = f"member-{time.time_ns()}"
    with app.app_context():
        roster.add_member(db.session, sub, roles=[LEARNER_ROLE])
        db.session.remove()
    return sub


def queued(app: Flask, sub: str) -> list[tuple[str, float | None, str]]:
    with app.app_context():
        rows = [
            (row.resource_id, row.score_given, row.status)
            for row in db.session.scalars(
                select(ScoreOutbox).where(ScoreOutbox.sub == sub).order_by(ScoreOutbox.id)
            )
        ]
        db.session.remove()
    return rows


# -- 1. never a lower grade after a pass
def test_a_failed_retake_after_a_pass_never_lowers_the_grade_in_the_gradebook(
    app: Flask, browser: LtiBrowser, content: Any
) -> None:
    sub = member(app)
    learner = Person(browser, sub=sub)
    pass_quiz(learner, content, "M1")
    deliver_scores(app)
    quiz = learner.get("/modules/fondamentaux/quiz")
    # After a pass, a retake is a secondary choice that says it will not lower the grade.
    assert 'data-testid="retake-keeps-grade"' in quiz.text
    assert "ne fera pas baisser votre note" in quiz.text and 'class="button secondary"' in quiz.text
    pass_quiz(learner, content, "M1", correct=False)
    deliver_scores(app)
    rows = [row for row in queued(app, sub) if row[0] == "M1"]
    assert len(rows) == 2 and all(status == "delivered" for _, _, status in rows)
    assert [given for _, given, _ in rows] == [100.0, 100.0]
    with app.app_context():
        latest = db.session.scalars(
            select(DemoScore).where(DemoScore.user_sub == sub).order_by(DemoScore.id.desc())
        ).first()
        db.session.remove()
    assert latest is not None and latest.score_given == 100  # Moodle's gradebook keeps the pass


def test_a_failed_attempt_before_any_pass_sends_the_best_score_so_far(
    app: Flask, browser: LtiBrowser, content: Any
) -> None:
    learner = Person(browser, context=course(), custom={"module": "M4"})
    module = content.module("M4")
    pass_quiz(learner, content, "M4", correct=False)
    pass_quiz(learner, content, "M4")
    pass_quiz(learner, content, "M4", correct=False)
    scores = [given for resource, given, _ in queued(app, learner.sub) if resource == "M4"]
    assert scores[0] is not None and scores[0] < module.meta.mastery_score * 100
    assert scores[1:] == [100.0, 100.0]


# -- 2. only placed resources: on the learner home and in the gradebook
def test_only_the_modules_a_teacher_placed_show_and_get_a_gradebook_column(
    app: Flask, browser: LtiBrowser, other_browser: LtiBrowser, content: Any
) -> None:
    place = course()
    learner = Person(browser, context=place, custom={"module": "M1"})
    home = learner.get("/learner/")
    assert home.status_code == 200
    assert "M1 · " in home.text and "M3 · " not in home.text and "M8 · " not in home.text
    assert 'id="diag-title"' not in home.text  # the autodiagnostic was not placed either
    pass_quiz(learner, content, "M3")  # reachable, but not placed: no column
    pass_quiz(learner, content, "M1")
    assert {resource for resource, _, _ in queued(app, learner.sub)} == {"M1"}
    # The teacher adds the whole path: every module and the autodiagnostic are offered, and graded.
    Person(other_browser, user="instructor", context=place, custom={"activity": "path"})
    home = learner.get("/learner/")
    assert all(f"{m.id} · " in home.text for m in content.modules)
    assert 'id="diag-title"' in home.text
    pass_quiz(learner, content, "M2")
    assert "M2" in {resource for resource, _, _ in queued(app, learner.sub)}


def test_a_course_with_nothing_placed_says_so_on_the_learner_home(browser: LtiBrowser) -> None:
    learner = Person(browser, context=course(), custom={"activity": "sessions"})
    home = learner.get("/learner/")
    assert home.status_code == 200 and 'data-testid="no-modules"' in home.text
    assert "M1 · " not in home.text


def test_an_operator_may_let_unplaced_resources_create_columns(
    app: Flask, browser: LtiBrowser, content: Any
) -> None:
    learner = Person(browser, context=course(), custom={"module": "M1"})
    app.config["AGS_LINE_ITEMS_FOR_UNPLACED"] = True
    try:
        pass_quiz(learner, content, "M5")
    finally:
        app.config["AGS_LINE_ITEMS_FOR_UNPLACED"] = False
    assert "M5" in {resource for resource, _, _ in queued(app, learner.sub)}


def test_deep_linking_places_the_chosen_modules_and_the_whole_path_is_an_item(
    app: Flask, browser: LtiBrowser, demo: DemoPlatform
) -> None:
    picker = deep_link_launch(browser, demo)
    assert 'value="activity:path"' in picker.text and "Parcours complet" in picker.text
    with app.app_context():
        context_pks = list(db.session.scalars(select(Context.id)))
        db.session.execute(delete(Placement).where(Placement.resource_id == "M7"))
        db.session.commit()
        db.session.remove()
    response = browser.http.post(
        browser.base_url + "/lti/deep-link",
        params={"launch": launch_id_of(picker)},
        data={"item": ["module:M7", "activity:sessions"]},
    )
    assert response.status_code == 200
    autopost_form(response.text)
    with app.app_context():
        placed = set(
            db.session.scalars(select(Placement.resource_id).where(Placement.context_pk.in_(context_pks)))
        )
        db.session.remove()
    assert "M7" in placed and "sessions" not in placed


# -- 6. the roster: never enrolled is not "left the course"
def roster_row(page: str, name: str) -> str:
    start = page.index(name)
    return page[page.rindex("<tr", 0, start) : page.index("</tr>", start)]


def test_a_site_admin_who_never_was_in_the_roster_is_not_someone_who_left(
    app: Flask, browser: LtiBrowser, other_browser: LtiBrowser
) -> None:
    code = str(time.time_ns())
    admin = f"Admin{code}"
    Person(other_browser, user="admin", name=f"Ada {admin}", given_name="Ada", family_name=admin)
    leaver = f"Partant{code}"
    with app.app_context():
        roster.add_member(
            db.session,
            f"leaver-{code}",
            roles=[LEARNER_ROLE],
            name=f"Léo {leaver}",
            given_name="Léo",
            family_name=leaver,
        )
        db.session.remove()
    teacher = Person(browser, user="instructor", sub="demo-instructor-0001")
    assert teacher.post("/staff/roster/refresh").status_code == 303
    with app.app_context():
        roster.set_member_status(db.session, f"leaver-{code}", "Inactive")
        db.session.commit()
        db.session.remove()
    assert teacher.post("/staff/roster/refresh").status_code == 303
    page = teacher.get("/staff/").text
    admin_row = roster_row(page, admin)
    assert "a quitté le cours" not in admin_row and 'data-testid="never-enrolled"' in admin_row
    assert "non inscrit·e au cours" in admin_row
    assert "a quitté le cours" in roster_row(page, leaver)
    english = teacher.get("/staff/", lang="en").text
    assert "not enrolled in the course" in roster_row(english, admin)


# -- 11. the language lasts for the launch
def test_english_chosen_once_stays_english_for_the_rest_of_the_launch(browser: LtiBrowser) -> None:
    learner = Person(browser)
    home = learner.get("/learner/", lang="en")
    assert 'lang="en"' in home.text
    links = re.findall(r'href="(/modules/[^"]+)"', home.text)
    assert links and all("lang=en" in link for link in links)
    module = browser.http.get(browser.base_url + html.unescape(links[0]))
    assert module.status_code == 200 and 'lang="en"' in module.text
    onward = [
        html.unescape(link) for link in re.findall(r'href="(/[^"]*launch=[^"]*)"(?! lang=)', module.text)
    ]
    assert len(onward) >= 2 and all("lang=en" in link for link in onward)  # the switch itself aside
    page = browser.http.get(browser.base_url + onward[0])
    assert 'lang="en"' in page.text
    # Switching back to French lasts too.
    french = learner.get("/learner/", lang="fr")
    assert all("lang=fr" in link for link in re.findall(r'href="(/modules/[^"]+)"', french.text))


# -- 4. staff find their room from any activity
def test_a_teacher_opening_a_module_activity_has_a_way_to_the_trainer_area(
    browser: LtiBrowser, other_browser: LtiBrowser, demo: DemoPlatform
) -> None:
    place = course()
    teacher = Person(browser, user="instructor", context=place, custom={"module": "M2"})
    assert 'data-testid="module-overview"' in teacher.landing.text  # the activity itself, as learners see it
    link = re.search(r'href="([^"]+)" data-testid="staff-area-link"', teacher.landing.text)
    assert link and "cohorte, séances, exports" in teacher.landing.text
    staff = browser.http.get(browser.base_url + html.unescape(link.group(1)))
    assert staff.status_code == 200 and 'data-testid="staff-home"' in staff.text
    learner = Person(other_browser, context=place, custom={"module": "M2"})
    assert 'data-testid="module-overview"' in learner.landing.text
    assert 'data-testid="staff-area-link"' not in learner.landing.text
    assert learner.get("/staff/").status_code == 403
    # The trainer area is no longer an activity of its own for the course page (students would see it).
    picker = deep_link_launch(browser, demo)
    assert 'value="activity:dashboard"' not in picker.text


# -- 3. the grades page: names, what each row is, and an autodiagnostic that sends no score
def test_the_grades_page_names_people_says_what_each_row_is_and_an_ungraded_autodiagnostic_sends_nothing(
    app: Flask, browser: LtiBrowser, other_browser: LtiBrowser, demo: DemoPlatform
) -> None:
    from tests.functional.test_diagnostic import run_through

    place, code = course(), str(time.time_ns())
    quiet = Person(
        browser,
        context=place,
        custom={"activity": "autodiagnostic", "score": "none"},
        name=f"Camille Sansnote{code}",
    )
    run_through(quiet, {"A": 2, "B": 2, "C": 2, "D": 2, "E": 2})
    assert "autodiagnostic" not in {resource for resource, _, _ in queued(app, quiet.sub)}
    # The choice holds for the course, also for a learner who reaches the autodiagnostic another way.
    roundabout = Person(other_browser, context=place, custom={"activity": "path"})
    run_through(roundabout, {"A": 2, "B": 2, "C": 2, "D": 2, "E": 2})
    assert "autodiagnostic" not in {resource for resource, _, _ in queued(app, roundabout.sub)}
    graded = Person(
        other_browser, context=place, custom={"activity": "autodiagnostic"}, name=f"Dominique Note{code}"
    )
    run_through(graded, {"A": 2, "B": 2, "C": 2, "D": 2, "E": 2})
    assert "autodiagnostic" in {resource for resource, _, _ in queued(app, graded.sub)}
    teacher = Person(browser, user="instructor", context=place, custom={"module": "M1"})
    page = teacher.get("/staff/grades")
    assert page.status_code == 200
    row = roster_row(page.text, f"Dominique Note{code}")
    assert graded.sub not in page.text  # a name, not the platform's user id
    assert "résultat de l'autodiagnostic" in row and "Chaque ligne est un envoi" in page.text
    assert f"Sansnote{code}" not in page.text
    # The picker offers the autodiagnostic without a grade, as its own choice.
    picker = deep_link_launch(browser, demo)
    assert 'value="activity:autodiagnostic-ungraded"' in picker.text


# -- 16. a newcomer's first run
def test_setup_says_where_to_go_and_nothing_that_reads_like_a_failure(app: Flask) -> None:
    from pathlib import Path

    path = Path(app.config["LTI_CONFIG_PATH"])
    assert not path.exists() or '"platforms": []' in path.read_text()  # as in a fresh clone
    result = app.test_cli_runner().invoke(args=["setup"])
    assert result.exit_code == 0, result.output
    assert "Imported 0" not in result.output and "0 platform" not in result.output
    assert f"open {app.config['BASE_URL']}/" in result.output


def test_the_readme_sends_a_newcomer_nowhere_a_clone_does_not_have() -> None:
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    for readme in (root / "README.md", root / "modules" / "README.md"):
        text = readme.read_text(encoding="utf-8")
        assert "../shared" not in text and "/work/" not in text, readme
        for target in re.findall(r"\]\((?!https?:|#|mailto:)([^)#]+)", text):
            assert (readme.parent / target).exists(), (readme, target)


# -- 7. what Moodle shows of the tool
def test_registration_sends_an_icon_that_is_served_and_the_site_has_a_favicon(
    app: Flask, browser: LtiBrowser, demo: DemoPlatform
) -> None:
    from demo_platform.models import DemoToolRegistration
    from tests.functional.test_lti_advantage import invite, registration_token

    page = browser.http.get(
        browser.base_url + "/lti/register",
        params={
            "token": invite(app),
            "openid_configuration": demo.openid_configuration_url,
            "registration_token": registration_token(demo),
        },
    )
    assert page.status_code == 200 and 'data-testid="registered"' in page.text
    with app.app_context():
        tool = db.session.scalars(
            select(DemoToolRegistration).order_by(DemoToolRegistration.id.desc())
        ).first()
        assert tool is not None
        logo = tool.metadata_json.get("logo_uri")
        db.session.remove()
    assert logo == app.config["BASE_URL"] + "/static/socle-icon.png"
    icon = browser.http.get(logo)
    assert icon.status_code == 200 and icon.headers["Content-Type"] == "image/png"
    assert icon.content.startswith(b"\x89PNG")
    favicon = browser.http.get(browser.base_url + "/favicon.ico")
    assert favicon.status_code == 200 and favicon.content[:4] == b"\x00\x00\x01\x00"


def test_a_launch_in_a_new_window_offers_the_way_back_to_the_course(
    browser: LtiBrowser, other_browser: LtiBrowser
) -> None:
    back = "https://moodle.example/mod/lti/return.php?course=7&launch_container=4"
    window = Person(
        browser,
        launch_presentation={"document_target": "window", "return_url": back, "locale": "fr-FR"},
    )
    link = re.search(
        r'<a href="([^"]+)" data-testid="back-to-course">Retour au cours</a>', window.landing.text
    )
    assert link and html.unescape(link.group(1)) == back
    assert 'data-testid="back-to-course"' in window.get("/learner/").text  # on every page of the launch
    framed = Person(other_browser, launch_presentation={"document_target": "iframe", "return_url": back})
    assert 'data-testid="back-to-course"' not in framed.landing.text  # the platform's page is around it
    hostile = Person(
        other_browser,
        launch_presentation={"document_target": "window", "return_url": "javascript:alert(1)"},
    )
    assert 'data-testid="back-to-course"' not in hostile.landing.text


def test_deep_linking_item_descriptions_stay_short(
    app: Flask, browser: LtiBrowser, demo: DemoPlatform, content: Any
) -> None:
    import jwt as pyjwt

    picker = deep_link_launch(browser, demo)
    response = browser.http.post(
        browser.base_url + "/lti/deep-link",
        params={"launch": launch_id_of(picker)},
        data={"item": [f"module:{m.id}" for m in content.modules]},
    )
    _, fields = autopost_form(response.text)
    message = pyjwt.decode(fields["JWT"], options={"verify_signature": False})
    items = message["https://purl.imsglobal.org/spec/lti-dl/claim/content_items"]
    assert len(items) == len(content.modules)
    assert all(len(item["text"]) <= 140 for item in items)
    assert any(len(m.meta.summary) > 140 for m in content.modules)  # so the cut is really exercised
    assert any(item["text"].endswith("…") for item in items)
