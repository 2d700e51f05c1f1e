"""What a learner earned and what comes next, over real HTTP: a bloc credential is announced once on the
learner's next page; a completed module offers the next recommended module; every recommendation of the
autodiagnostic is a link; the learner home marks the recommended modules."""

from __future__ import annotations

import html
import re
import time

from flask import Flask
from sqlalchemy import select

from lti_tool.content.loader import Content
from lti_tool.db import db
from lti_tool.diagnostic.models import DiagnosticRun
from tests.conftest import LiveServer
from tests.functional.test_competences import assess, credentials_of, deliverable_ids, follow_module, people
from tests.functional.test_competences import learner_id as learner_pk
from tests.functional.test_diagnostic import axis, practice, start
from tests.functional.test_player import Learner
from tests.helpers import LtiBrowser, error_code, fr

EARNED = 'data-testid="earned"'


def test_a_bloc_issued_is_announced_once_on_the_learners_next_page(live_server: LiveServer) -> None:
    app = live_server.app
    content: Content = app.extensions["socle_content"]
    course = {"id": f"bloc-{time.time_ns()}", "title": "Cours du bloc B1"}
    learner, facilitator = people(live_server, course, "learner", "instructor")
    pk = learner_pk(app, learner.sub)
    for module_id in ("M1", "M2", "M7"):
        follow_module(learner, content, module_id)
    assert EARNED not in learner.get("/learner/").text  # nothing earned yet: nothing said
    productions = deliverable_ids(app, pk)
    assert assess(facilitator, content, "M2", productions["M2"]).status_code == 303
    assert "B1" in credentials_of(app, pk)
    # The facilitator's own pages say nothing of it: it is the learner's.
    assert EARNED not in facilitator.get("/staff/").text
    page = learner.get("/modules/fondamentaux/").text
    assert EARNED in page
    assert fr("Vous avez validé le bloc B1 « Analyser et mettre en cohérence ».") in page
    assert "/competences/" in page.split(EARNED)[1].split("</div>")[0]
    # said once: the next page is quiet, and the credential stays on the competences page
    assert EARNED not in learner.get("/learner/").text
    assert EARNED not in learner.get("/competences/").text


def test_an_error_page_does_not_use_up_the_announcement(live_server: LiveServer) -> None:
    app = live_server.app
    content: Content = app.extensions["socle_content"]
    course = {"id": f"bloc-err-{time.time_ns()}", "title": "Cours"}
    learner, facilitator = people(live_server, course, "learner", "instructor")
    pk = learner_pk(app, learner.sub)
    for module_id in ("M1", "M2", "M7"):
        follow_module(learner, content, module_id)
    assert assess(facilitator, content, "M2", deliverable_ids(app, pk)["M2"]).status_code == 303
    missing = learner.get("/modules/no-such-module/")
    assert missing.status_code == 404 and EARNED not in missing.text
    english = learner.get("/learner/", lang="en").text
    assert "You validated bloc B1 “Analyse and align”." in english


def diagnosed(browser: LtiBrowser, app: Flask) -> tuple[Learner, list[str]]:
    """A learner of a course of their own whose autodiagnostic suggests modules; and those modules."""
    learner = Learner(browser, context={"id": f"reco-{time.time_ns()}", "title": "Cours conseillé"})
    run = start(learner)
    profile = {"P1": "fundraiser", "P2": "association-non-employeuse", "P3": "2-6h", "P4": "mooc"}
    assert learner.post(f"/diagnostic/runs/{run}/profile", profile).status_code == 303
    assert learner.post(f"/diagnostic/runs/{run}/pratique", practice(4)).status_code == 303
    for letter in "ABCDE":
        assert learner.post(f"/diagnostic/runs/{run}/{letter}", axis(letter, 1)).status_code == 303
    assert learner.post(f"/diagnostic/runs/{run}/review").status_code == 303
    with app.app_context():
        row = db.session.scalar(select(DiagnosticRun).where(DiagnosticRun.id == run))
        assert row is not None and row.result is not None
        recommended = list(row.result["modules"])
        db.session.remove()
    assert recommended
    return learner, recommended


def test_every_recommendation_of_the_autodiagnostic_is_a_link(app: Flask, browser: LtiBrowser) -> None:
    learner, recommended = diagnosed(browser, app)
    run_page = learner.get("/learner/").text
    result_url = re.search(r'href="(/diagnostic/runs/\d+/result)[^"]*"', run_page)
    assert result_url
    page = learner.get(result_url.group(1)).text
    recommendation = page.split('class="recommendation"')[1].split("</dl>")[0]
    formats = re.findall(r'<dd data-format="([^"]+)">(.*?)</dd>', recommendation, re.S)
    assert len(formats) == 2
    for code, body in formats:
        assert "<a href=" in body, f"the format {code} is recommended without a link"
    # the path links the first suggested module; the academic resources link their resource centre
    content: Content = app.extensions["socle_content"]
    first = content.module(recommended[0])
    assert first is not None
    assert f"/modules/{first.slug}/" in dict(formats)["parcours"]
    assert (
        "https://modeles-socio-economiques.plateformecapitalisation.org/"
        in dict(formats)["contenus-academiques"]
    )


def test_the_learner_home_marks_the_recommended_modules(app: Flask, browser: LtiBrowser) -> None:
    learner, recommended = diagnosed(browser, app)
    home = learner.get("/learner/").text
    content: Content = app.extensions["socle_content"]
    listed = [m.id for m in content.modules if f"/modules/{m.slug}/" in home]
    for module_id in listed:
        assert (f'data-testid="recommended-{module_id}"' in home) == (module_id in recommended)
    assert set(recommended) & set(listed)


def test_a_completed_module_offers_the_next_recommended_module(app: Flask, browser: LtiBrowser) -> None:
    learner, recommended = diagnosed(browser, app)
    content: Content = app.extensions["socle_content"]
    done = next(m for m in content.modules if m.id not in recommended and not m.meta.deliverable)
    follow_module(learner, content, done.id)
    page = learner.get(f"/modules/{done.slug}/").text
    assert "Module terminé." in page and "Reprendre à la page" not in page
    following = content.module(recommended[0])
    assert following is not None
    step = page.split('data-testid="next-step"')[1].split("</p>")[0]
    assert f"/modules/{following.slug}/" in step
    assert fr(f"Module suivant conseillé : {following.id} · {following.meta.title}") in html.unescape(step)
    # once the recommended ones are done too, the next in the programme's order is offered, unmarked
    for module_id in recommended:
        module = content.module(module_id)
        assert module is not None
        follow_module(learner, content, module_id)
    page = learner.get(f"/modules/{done.slug}/").text
    step = page.split('data-testid="next-step"')[1].split("</p>")[0]
    assert "Module suivant conseillé" not in step
    assert fr("Module suivant : ") in step or "Retour à mon parcours" in step


def test_a_module_not_yet_completed_still_resumes_where_the_learner_left(browser: LtiBrowser) -> None:
    learner = Learner(browser)
    learner.get("/modules/fondamentaux/pages/2")
    page = learner.get("/modules/fondamentaux/")
    assert page.status_code == 200, error_code(page)
    assert "Reprendre à la page 2" in page.text and 'data-testid="next-step"' not in page.text
