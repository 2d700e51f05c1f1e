"""The staff dashboard over real HTTP, with a small cohort made through the demo platform: what a trainer
and an administrator see, the filters (and the refusal of bad ones), the heatmap, the learners at risk, one
learner's detail, the scope (404 outside it), and that no page reads the statements or the events."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, func, insert, select, update

from lti_tool.content.loader import Content
from lti_tool.db import db
from lti_tool.learners.models import Context, Enrolment
from lti_tool.learners.models import Learner as LearnerRow
from lti_tool.lti.claims import NRPS
from tests.conftest import LiveServer
from tests.functional.test_competences import (
    assess,
    deliverable_ids,
    follow_module,
    learner_id,
    plan_and_attend,
)
from tests.functional.test_diagnostic import run_through
from tests.functional.test_player import Learner, take_quiz
from tests.helpers import DROP, LtiBrowser, Platform, error_code, fr

DASHBOARD = "/staff/dashboard/"
# The demo platform's roster lists its own demo people only: reading it would mark this cohort as having
# left the course. These launches come from a platform that does not share its roster.
NO_ROSTER: dict[str, Any] = {NRPS: DROP}


@dataclass
class Cohort:
    course: dict[str, str]
    other_course: dict[str, str]
    instructor: Learner
    other_instructor: Learner
    admin: Learner
    alice: int
    bob: int
    carol: int
    dave: int
    context_pk: int
    other_context_pk: int
    alice_learner: Learner


def person(browser: LtiBrowser, course: dict[str, str], given: str, family: str) -> Learner:
    return Learner(
        browser,
        context=course,
        name=f"{given} {family}",
        given_name=given,
        family_name=family,
        **NO_ROSTER,
    )


def context_pk_of(app: Flask, lti_context_id: str) -> int:
    with app.app_context():
        value = db.session.scalar(select(Context.id).where(Context.lti_context_id == lti_context_id))
        db.session.remove()
    assert value is not None
    return int(value)


@pytest.fixture(scope="module")
def cohort(live_server: LiveServer) -> Cohort:
    """Course A: Alice (M1 and M3 done, autodiagnostic, present at a session), Bob (M1's quiz failed twice), Carol
    (launched long ago, nothing since). Course B, on the same registration: Dave. An administrator."""
    app = live_server.app
    content: Content = app.extensions["socle_content"]
    platform = Platform(app.extensions["socle_demo_platform"], live_server.url)
    stamp = time.time_ns()
    course = {"id": f"dash-a-{stamp}", "title": f"Promotion tableau A {stamp}"}
    other = {"id": f"dash-b-{stamp}", "title": f"Promotion tableau B {stamp}"}

    def browser() -> LtiBrowser:
        return LtiBrowser(live_server.url, platform)

    alice = person(browser(), course, "Alice", "Martin")
    bob = person(browser(), course, "Bob", "Durand")
    carol = person(browser(), course, "Carol", "Petit")
    dave = person(browser(), other, "Dave", "Leroy")
    follow_module(alice, content, "M1")
    follow_module(alice, content, "M3")  # C3 needs M3 and the M4 resource plan assessed: Alice meets it
    plan = content.module("M4")
    assert plan is not None and plan.meta.deliverable is not None
    words = " ".join(["ressources"] * plan.meta.deliverable.min_words)
    assert alice.post(f"/modules/{plan.slug}/deliverable", {"text": words}).status_code == 303
    run_through(alice, {"A": 3, "B": 2, "C": 3, "D": 3, "E": 3})
    module = content.module("M1")
    assert module is not None
    for _ in range(2):
        take_quiz(bob, module, correct=0)
    bob.get("/modules/fondamentaux/pages/1")
    instructor = Learner(browser(), user="instructor", context=course, **NO_ROSTER)
    plan_and_attend(instructor, "M5", learner_id(app, alice.sub))
    assessed = assess(instructor, content, "M4", deliverable_ids(app, learner_id(app, alice.sub))["M4"])
    assert assessed.status_code == 303, error_code(assessed)
    other_instructor = Learner(browser(), user="instructor", context=other, **NO_ROSTER)
    admin = Learner(browser(), user="admin", context=course, **NO_ROSTER)
    ids = {
        name: learner_id(app, who.sub) for name, who in (("a", alice), ("b", bob), ("c", carol), ("d", dave))
    }
    context_pk = context_pk_of(app, course["id"])
    # Carol launched 40 days ago and did nothing since.
    with app.app_context():
        db.session.execute(
            update(Enrolment)
            .where(Enrolment.learner_id == ids["c"], Enrolment.context_pk == context_pk)
            .values(last_launch_at=datetime.now(UTC) - timedelta(days=40))
        )
        db.session.commit()
        db.session.remove()
    return Cohort(
        course,
        other,
        instructor,
        other_instructor,
        admin,
        ids["a"],
        ids["b"],
        ids["c"],
        ids["d"],
        context_pk,
        context_pk_of(app, other["id"]),
        alice,
    )


def plain(text: str) -> str:
    """Text as read: no-break spaces (kept between a number and its %) as spaces."""
    return text.replace("&nbsp;", " ").replace("\xa0", " ")


def cell(page: str, testid: str) -> str:
    match = re.search(rf'data-testid="{re.escape(testid)}">([^<]*)<', page)
    assert match, testid
    return plain(match.group(1)).strip()


def row_text(page: str, testid: str) -> str:
    match = re.search(rf'<tr data-testid="{re.escape(testid)}">(.*?)</tr>', page, re.S)
    assert match, testid
    return re.sub(r"\s+", " ", plain(re.sub(r"<[^>]+>", " ", match.group(1)))).strip()


# -- what a trainer sees ---------------------------------------------------------------------------------


def test_the_trainer_sees_the_cohort_progress_competences_diagnostics_and_attendance(cohort: Cohort) -> None:
    page = cohort.instructor.get(DASHBOARD)
    assert page.status_code == 200, error_code(page)
    text = page.text
    assert 'data-testid="dashboard-overview"' in text
    assert cell(text, "known") == "3"
    assert cell(text, "started") == "2 (67 %)"
    assert cell(text, "diagnosed") == "1 (33 %)"
    assert row_text(text, "module-M1").startswith("M1 · ")
    assert "2 (67 %) 1 (33 %) 1 (33 %)" in row_text(text, "module-M1")
    assert "1 (33 %)" in row_text(text, "competence-C3")  # Alice met C3: M3 done, the M4 plan assessed
    assert " 2 0 (0 %) " in row_text(text, "competence-C1")  # evidence for Alice and Bob, not met
    assert "L3 · " in row_text(text, "level-L3") and row_text(text, "level-L3").endswith("1 (100 %)")
    session_row = next(m.group(1) for m in re.finditer(r'<tr data-testid="(session-\d+)">', text))
    assert "1 (33 %)" in row_text(text, session_row)
    # every chart is an SVG image with a title, and has a table beside it
    for chart in ("funnel-chart", "competences-chart", "levels-chart", "formats-chart", "attendance-chart"):
        assert re.search(rf'<svg [^>]*role="img" aria-labelledby="{chart}-title" data-testid="{chart}"', text)
    assert "<caption>Progression par module</caption>" in text
    assert '<svg viewBox="0 0 320 320" role="img" aria-labelledby="radar-title">' in text


def test_the_learners_at_risk_are_counted_and_listed(cohort: Cohort) -> None:
    page = cohort.instructor.get(DASHBOARD).text
    assert cell(page, "risk-inactive") == "1"
    assert cell(page, "risk-failed_twice") == "1"
    assert cell(page, "risk-no_diagnostic") == "2"
    failed = cohort.instructor.get(DASHBOARD + "learners", risk="failed_twice")
    assert failed.status_code == 200
    assert f'data-testid="learner-{cohort.bob}"' in failed.text
    assert f'data-testid="learner-{cohort.alice}"' not in failed.text
    inactive = cohort.instructor.get(DASHBOARD + "learners", risk="inactive").text
    assert f'data-testid="learner-{cohort.carol}"' in inactive
    assert f'data-testid="learner-{cohort.alice}"' not in inactive
    # with a longer grace period, Carol is no longer late
    assert cohort.instructor.get(DASHBOARD, days="60").text.count('data-testid="risk-inactive">0<') == 1


def test_the_heatmap_shows_value_colour_and_an_accessible_table(cohort: Cohort) -> None:
    page = cohort.instructor.get(DASHBOARD + "heatmap")
    assert page.status_code == 200, error_code(page)
    text = page.text
    assert '<svg viewBox="0 0 ' in text and 'aria-labelledby="heatmap-title"' in text
    assert (
        fr(
            "<caption>Scores pondérés par personne et par compétence, en % (✓ : acquise ; — : aucune preuve)</caption>"
        )
        in text
    )
    assert '<th scope="col"><abbr title=' in text
    alice_c3 = cell(text, f"heat-{cohort.alice}-C3")
    assert alice_c3.endswith("✓") and alice_c3[:-1].strip().isdigit()
    assert cell(text, f"heat-{cohort.alice}-C1").isdigit()  # a score, not met (M2 is missing)
    assert cell(text, f"heat-{cohort.carol}-C1") == "—"
    # the learners come by name, with a link to their detail
    assert text.index("Durand") < text.index("Martin") < text.index("Petit")
    assert f"/staff/dashboard/courses/{cohort.context_pk}/learners/{cohort.alice}?launch=" in text


def test_filters_narrow_the_cohort_and_focus_the_figures(cohort: Cohort) -> None:
    searched = cohort.instructor.get(DASHBOARD + "learners", q="  aLiCe ")
    assert f'data-testid="learner-{cohort.alice}"' in searched.text
    # her autodiagnostic level is said by its name beside its code
    row = searched.text.split(f'data-testid="learner-{cohort.alice}"', 1)[1].split("</tr>", 1)[0]
    assert re.search(r"<td[^>]*>[^<(]+ \(L\d\)</td>", row), row
    assert f'data-testid="learner-{cohort.bob}"' not in searched.text
    assert cell(cohort.instructor.get(DASHBOARD, q="durand").text, "known") == "1"
    tomorrow = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    assert cell(cohort.instructor.get(DASHBOARD, since=tomorrow).text, "known") == "0"
    long_ago = (datetime.now(UTC) - timedelta(days=20)).date().isoformat()
    assert cell(cohort.instructor.get(DASHBOARD, until=long_ago).text, "known") == "1"  # Carol only
    focused = cohort.instructor.get(DASHBOARD, module="M1").text
    assert 'data-testid="module-M1"' in focused and 'data-testid="module-M2"' not in focused
    heat = cohort.instructor.get(DASHBOARD + "heatmap", module="M1").text
    assert (
        f'data-testid="heat-{cohort.alice}-C1"' in heat
        and f'data-testid="heat-{cohort.alice}-C9"' not in heat
    )
    one = cohort.instructor.get(DASHBOARD + "heatmap", competence="c2").text
    assert (
        f'data-testid="heat-{cohort.alice}-C2"' in one and f'data-testid="heat-{cohort.alice}-C1"' not in one
    )
    listed = cohort.instructor.get(DASHBOARD + "learners", module="M1").text
    assert "quiz réussi" in row_text(listed, f"learner-{cohort.alice}") or "terminé" in row_text(
        listed, f"learner-{cohort.alice}"
    )
    assert "2 échecs" in row_text(listed, f"learner-{cohort.bob}")
    # the filters travel with the links between pages
    assert "q=durand" in cohort.instructor.get(DASHBOARD, q="durand").text


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"module": "M99"}, "bad_module"),
        ({"competence": "C99"}, "bad_competence"),
        ({"since": "2026-13-01"}, "bad_date"),
        ({"until": "31/03/2026"}, "bad_date"),
        ({"since": "2026-05-02", "until": "2026-05-01"}, "bad_dates"),
        ({"context": "abc"}, "bad_context"),
        ({"q": "x" * 101}, "bad_search"),
        ({"days": "0"}, "bad_days"),
        ({"days": "many"}, "bad_days"),
        ({"page": "0"}, "bad_page"),
        ({"page": "-1"}, "bad_page"),
    ],
)
def test_bad_filters_are_refused_with_a_clear_message(
    cohort: Cohort, params: dict[str, Any], code: str
) -> None:
    for path in (DASHBOARD, DASHBOARD + "heatmap", DASHBOARD + "learners"):
        if "page" in params and path == DASHBOARD:
            continue
        response = cohort.instructor.get(path, **params)
        assert response.status_code == 400, (path, params)
        assert error_code(response) == code
        # what happened and what to do, in French then in English
        what = re.findall(
            r"<strong>(?:Ce qui s'est passé\u202f:|What happened:)</strong> ([^<]+)</p>",
            response.text,
        )
        assert len(what) == 2 and all(len(text) > 20 for text in what), what


def test_a_bad_risk_or_history_cursor_is_refused(cohort: Cohort) -> None:
    assert error_code(cohort.instructor.get(DASHBOARD + "learners", risk="rich")) == "bad_risk"
    detail = f"{DASHBOARD}courses/{cohort.context_pk}/learners/{cohort.alice}"
    response = cohort.instructor.get(detail, more="not-a-cursor")
    assert response.status_code == 400 and error_code(response) == "bad_cursor"


# -- one learner -------------------------------------------------------------------------------------------


def test_a_learner_detail_tells_the_story_in_plain_words(cohort: Cohort) -> None:
    page = cohort.instructor.get(f"{DASHBOARD}courses/{cohort.context_pk}/learners/{cohort.alice}")
    assert page.status_code == 200, error_code(page)
    text = page.text
    assert '<h1 data-testid="dashboard-learner">Alice Martin</h1>' in text
    timeline = text[text.index('data-testid="timeline"') :]
    assert fr("a terminé « x")[:-1] in timeline and fr("a réussi « x")[:-1] in timeline
    assert fr("a consulté « x")[:-1] in timeline
    assert fr("a participé à « x")[:-1] in timeline and "(enregistré par l'équipe de formation)" in timeline
    assert "http://adlnet.gov" not in timeline  # words, not IRIs
    # the competence trail and the actions of the competences pages, for this course
    assert 'data-testid="competence-C1"' in text and "Preuves retenues" in text
    assert f"/staff/learners/{cohort.alice}/competences?launch=" in text
    assert "/staff/competences/?launch=" in text
    assert 'data-testid="learner-diagnostic"' in text and "Niveau L3" in text


def test_the_history_pages_fifty_statements_at_a_time(cohort: Cohort) -> None:
    detail = f"{DASHBOARD}courses/{cohort.context_pk}/learners/{cohort.alice}"
    first = cohort.instructor.get(detail).text
    entries = first[first.index('data-testid="timeline"') :].split("</ol>")[0].count("<li>")
    assert entries == 50  # Alice read six pages, answered ten questions, … : more than fifty statements
    more = re.search(r'more=([^&"#]+)', first)
    assert more
    second = cohort.instructor.get(detail, more=more.group(1)).text
    assert "Les plus récentes" in second and 'data-testid="timeline"' in second
    assert fr("a lancé « x")[:-1] in second  # the launch, older than fifty statements


def test_the_history_keeps_to_the_course(live_server: LiveServer) -> None:
    """A learner of two courses: each course's history shows that course's statements only."""
    app = live_server.app
    platform = Platform(app.extensions["socle_demo_platform"], live_server.url)
    stamp = time.time_ns()
    first = {"id": f"dash-h1-{stamp}", "title": f"Histoire un {stamp}"}
    second = {"id": f"dash-h2-{stamp}", "title": f"Histoire deux {stamp}"}
    eve = person(LtiBrowser(live_server.url, platform), first, "Eve", "Moreau")
    elsewhere = Learner(LtiBrowser(live_server.url, platform), sub=eve.sub, context=second, **NO_ROSTER)
    assert elsewhere.get("/modules/fondamentaux/pages/2").status_code == 200
    trainer = Learner(LtiBrowser(live_server.url, platform), user="instructor", context=first, **NO_ROSTER)
    page = trainer.get(
        f"{DASHBOARD}courses/{context_pk_of(app, first['id'])}/learners/{learner_id(app, eve.sub)}"
    )
    timeline = page.text[page.text.index('data-testid="timeline"') :]
    assert fr(f"a lancé « {first['title']} »") in timeline
    assert second["title"] not in timeline and "a consulté" not in timeline


# -- scope ----------------------------------------------------------------------------------------------


def test_a_trainer_sees_only_their_course(cohort: Cohort) -> None:
    mine = cohort.instructor.get(DASHBOARD + "learners").text
    assert f'data-testid="learner-{cohort.dave}"' not in mine
    other = f"{DASHBOARD}courses/{cohort.other_context_pk}/learners/{cohort.dave}"
    assert cohort.instructor.get(other).status_code == 404
    # a learner of this course, named with the other course: not found either
    assert (
        cohort.instructor.get(
            f"{DASHBOARD}courses/{cohort.other_context_pk}/learners/{cohort.alice}"
        ).status_code
        == 404
    )
    assert (
        cohort.instructor.get(f"{DASHBOARD}courses/{cohort.context_pk}/learners/{cohort.dave}").status_code
        == 404
    )
    assert cohort.instructor.get(DASHBOARD, context=str(cohort.other_context_pk)).status_code == 404
    assert (
        cohort.other_instructor.get(
            f"{DASHBOARD}courses/{cohort.context_pk}/learners/{cohort.alice}"
        ).status_code
        == 404
    )
    assert cell(cohort.other_instructor.get(DASHBOARD).text, "known") == "1"


def test_an_administrator_sees_every_course_of_the_registration_and_filters_one(cohort: Cohort) -> None:
    everything = cohort.admin.get(DASHBOARD + "learners", q="leroy")
    assert everything.status_code == 200, error_code(everything)
    assert f'data-testid="learner-{cohort.dave}"' in everything.text
    assert cohort.other_course["title"] in everything.text  # the course column
    only_b = cohort.admin.get(DASHBOARD, context=str(cohort.other_context_pk)).text
    assert cell(only_b, "known") == "1"
    assert f'<option value="{cohort.other_context_pk}" selected>' in only_b
    detail = cohort.admin.get(f"{DASHBOARD}courses/{cohort.other_context_pk}/learners/{cohort.dave}")
    assert detail.status_code == 200
    # the competences pages act on the launch's course: another course's actions are not offered
    assert "lancez Socle depuis ce cours" in detail.text
    assert f"/staff/learners/{cohort.dave}/competences" not in detail.text


def test_learners_cannot_open_the_dashboard(cohort: Cohort) -> None:
    for path in (DASHBOARD, DASHBOARD + "heatmap", DASHBOARD + "learners"):
        response = cohort.alice_learner.get(path)
        assert response.status_code == 403 and error_code(response) == "staff_only"
    detail = cohort.alice_learner.get(f"{DASHBOARD}courses/{cohort.context_pk}/learners/{cohort.alice}")
    assert detail.status_code == 403


# -- a cohort larger than a page ---------------------------------------------------------------------


def test_lists_page_fifty_learners_at_a_time(live_server: LiveServer) -> None:
    """A course whose roster (as the platform's roster service leaves it) has 51 learners who never
    launched: 50 on the first page, 1 on the second."""
    app = live_server.app
    platform = Platform(app.extensions["socle_demo_platform"], live_server.url)
    course = {"id": f"dash-big-{time.time_ns()}", "title": "Grande promotion"}
    trainer = Learner(LtiBrowser(live_server.url, platform), user="instructor", context=course, **NO_ROSTER)
    context_pk = context_pk_of(app, course["id"])
    with app.app_context():
        context = db.session.get(Context, context_pk)
        assert context is not None
        issuer = db.session.scalar(select(LearnerRow.issuer).where(LearnerRow.sub == trainer.sub))
        # Core inserts, as the roster service writes them: the ORM would put its defaults in the NULLs.
        for n in range(51):
            learner_pk = db.session.execute(
                insert(LearnerRow)
                .values(
                    issuer=issuer,
                    sub=f"roster-{course['id']}-{n}",
                    platform_id=context.platform_id,
                    family_name=f"Roster{n:03d}",
                    created_at=datetime.now(UTC),
                    last_launch_at=None,
                )
                .returning(LearnerRow.id)
            ).scalar_one()
            db.session.execute(
                insert(Enrolment).values(
                    learner_id=learner_pk,
                    context_pk=context_pk,
                    platform_id=context.platform_id,
                    roles=[],
                    is_staff=False,
                    is_active=True,
                    first_launch_at=None,
                    last_launch_at=None,
                    roster_seen_at=datetime.now(UTC),
                )
            )
        db.session.commit()
        db.session.remove()
    first = trainer.get(DASHBOARD + "learners").text
    assert first.count('<tr data-testid="learner-') == 50
    assert "Personnes 1 à 50 sur 51" in first and "jamais lancé" in first
    assert "Page 1 sur 2" in first
    second = trainer.get(DASHBOARD + "learners", page="2").text
    assert second.count('<tr data-testid="learner-') == 1 and "Roster050" in second
    heat = trainer.get(DASHBOARD + "heatmap", page="2").text
    assert heat.count('<tr data-testid="heat-row-') == 1
    assert cell(trainer.get(DASHBOARD).text, "known") == "51"
    assert "Aucune personne ne correspond" in trainer.get(DASHBOARD + "learners", page="3").text


# -- projections only -------------------------------------------------------------------------------------


@contextmanager
def sql_seen(app: Flask) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_the_overview_heatmap_and_lists_never_read_statements_or_events(app: Flask, cohort: Cohort) -> None:
    with sql_seen(app) as seen:
        pages: tuple[tuple[str, dict[str, Any]], ...] = (
            (DASHBOARD, {}),
            (DASHBOARD, {"since": "2020-01-01", "module": "M1"}),
            (DASHBOARD + "heatmap", {}),
            (DASHBOARD + "learners", {"risk": "inactive"}),
        )
        for path, params in pages:
            assert cohort.instructor.get(path, **params).status_code == 200
    reads = [s for s in seen if s.lstrip().upper().startswith(("SELECT", "WITH"))]
    assert reads
    for statement in reads:
        assert "xapi_statement" not in statement and "learning_events" not in statement, statement


def test_the_learner_count_matches_the_roster(app: Flask, cohort: Cohort) -> None:
    with app.app_context():
        roster = db.session.scalar(
            select(func.count())
            .select_from(Enrolment)
            .where(Enrolment.context_pk == cohort.context_pk, Enrolment.is_staff.is_(False))
        )
        db.session.remove()
    assert cell(cohort.instructor.get(DASHBOARD).text, "known") == str(roster)


def test_the_overview_has_a_table_of_contents_of_its_sections(cohort: Cohort) -> None:
    """Every section heading of the long overview is listed at the top, each link to its heading's id."""
    page = cohort.instructor.get(DASHBOARD).text
    head, _, rest = page.partition('data-testid="dashboard-toc"')
    assert rest, "no table of contents"
    toc = rest.split("</nav>", 1)[0]
    targets = re.findall(r'<a href="#([\w-]+)">', toc)
    sections = re.findall(r'<h2 id="([\w-]+)"', rest.split("</nav>", 1)[1])
    assert targets == sections and len(sections) >= 6, (targets, sections)
    # at the top: before the filters and the first section
    assert page.index('data-testid="dashboard-toc"') < page.index(f'id="{sections[0]}"')
    assert "On this page" in cohort.instructor.get(DASHBOARD, lang="en").text
