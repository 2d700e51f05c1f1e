"""The autodiagnostic over real HTTP: saved step by step, submitted, scored, routed, compared on retake."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from sqlalchemy import select

from lti_tool.db import db
from lti_tool.diagnostic.models import DiagnosticRun
from tests.functional.test_player import Learner, events
from tests.helpers import LtiBrowser, error_code

PROFILE = {"P1": "fundraiser", "P2": "association-employeuse", "P3": "2-6h", "P4": "webinaires"}


def start(learner: Learner) -> int:
    response = learner.post("/diagnostic/runs")
    assert response.status_code == 303, error_code(response)
    match = re.search(r"/diagnostic/runs/(\d+)/", response.headers["Location"])
    assert match
    return int(match.group(1))


def axis(letter: str, level: int) -> dict[str, str]:
    return {f"{letter}{n}": str(level) for n in range(1, 5)}


def run_through(learner: Learner, levels: dict[str, int], profile: dict[str, str] = PROFILE) -> int:
    run = start(learner)
    assert learner.post(f"/diagnostic/runs/{run}/profile", profile).status_code == 303
    for letter, level in levels.items():
        response = learner.post(f"/diagnostic/runs/{run}/{letter}", axis(letter, level))
        assert response.status_code == 303, error_code(response)
    assert learner.post(f"/diagnostic/runs/{run}/review").status_code == 303
    return run


def test_a_submitted_diagnostic_shows_level_radar_table_and_path(app: Flask, browser: LtiBrowser) -> None:
    learner = Learner(browser)
    run = run_through(learner, {"A": 3, "B": 2, "C": 3, "D": 3, "E": 3})
    page = learner.get(f"/diagnostic/runs/{run}/result")
    assert page.status_code == 200
    assert "Niveau L3 : Structuration" in page.text and "score global 60/100" in page.text
    assert '<svg viewBox="0 0 320 320" role="img"' in page.text
    assert "<caption>Scores par axe, sur 100</caption>" in page.text
    assert 'data-rule="R6"' in page.text  # L3, spread 33 < 40
    assert "/modules/richesses-humaines/" in page.text  # priority axis B -> M3
    assert events(app, learner.sub, "diagnostic_submitted") == 1
    with app.app_context():
        row = db.session.get(DiagnosticRun, run)
        assert row is not None and row.level == "L3" and row.result is not None
        assert row.result["axis_scores"]["B"] == pytest.approx(33.33) and row.result["priority_axis"] == "B"
        db.session.remove()


def test_answers_are_saved_as_they_come_and_the_run_resumes(app: Flask, browser: LtiBrowser) -> None:
    learner = Learner(browser)
    run = start(learner)
    learner.post(f"/diagnostic/runs/{run}/profile", PROFILE)
    learner.post(f"/diagnostic/runs/{run}/A", axis("A", 2))
    home = learner.get("/diagnostic/")
    assert "Reprendre mon autodiagnostic" in home.text
    resumed = learner.post("/diagnostic/runs")
    assert resumed.headers["Location"].split("?")[0].endswith(f"/diagnostic/runs/{run}/B")
    page = learner.get(f"/diagnostic/runs/{run}/A")
    assert 'id="A1-2" name="A1" value="2" required checked' in page.text
    with app.app_context():
        row = db.session.get(DiagnosticRun, run)
        assert (
            row is not None
            and row.answers == {"A1": 2, "A2": 2, "A3": 2, "A4": 2}
            and row.status == "in_progress"
        )
        db.session.remove()


def test_a_retake_shows_both_results_side_by_side(browser: LtiBrowser) -> None:
    learner = Learner(browser)
    run_through(learner, {"A": 1, "B": 1, "C": 2, "D": 1, "E": 1})
    second = run_through(learner, {"A": 3, "B": 3, "C": 3, "D": 4, "E": 3})
    page = learner.get(f"/diagnostic/runs/{second}/result")
    assert "Précédent (" in page.text
    assert 'class="series previous"' in page.text
    assert re.search(r"Score global</th><td>\d+ \(L3\)</td><td>\d+ \(L1\)</td>", page.text)


def test_grantmakers_get_their_questions(browser: LtiBrowser) -> None:
    learner = Learner(browser)
    run = start(learner)
    learner.post(f"/diagnostic/runs/{run}/profile", {**PROFILE, "P1": "grantmaker"})
    page = learner.get(f"/diagnostic/runs/{run}/C")
    assert "accompagnement extra-financier" in page.text
    assert "Collectez-vous auprès des particuliers" not in page.text


@pytest.mark.parametrize(
    ("step", "form", "code"),
    [
        ("profile", {**PROFILE, "P1": "astronaut"}, "bad_profile"),
        ("A", {**axis("A", 3), "A2": "7"}, "bad_answer"),
        ("A", {"A1": "3"}, "bad_answer"),
    ],
)
def test_tampered_diagnostic_forms_are_refused(
    app: Flask, browser: LtiBrowser, step: str, form: dict[str, str], code: str
) -> None:
    learner = Learner(browser)
    run = start(learner)
    if step != "profile":
        learner.post(f"/diagnostic/runs/{run}/profile", PROFILE)
    response = learner.post(f"/diagnostic/runs/{run}/{step}", form)
    assert response.status_code == 400 and error_code(response) == code
    with app.app_context():
        row = db.session.get(DiagnosticRun, run)
        assert row is not None and (row.answers == {} if step != "profile" else row.profile == {})
        db.session.remove()


def test_submitting_incomplete_or_twice_is_refused(app: Flask, browser: LtiBrowser) -> None:
    learner = Learner(browser)
    run = start(learner)
    learner.post(f"/diagnostic/runs/{run}/profile", PROFILE)
    incomplete = learner.post(f"/diagnostic/runs/{run}/review")
    assert incomplete.status_code == 400 and error_code(incomplete) == "incomplete"
    done = run_through(learner, {"A": 2, "B": 2, "C": 2, "D": 2, "E": 2})
    assert done == run  # the run in progress was resumed and finished
    before = events(app)
    with app.app_context():
        submitted = db.session.scalar(select(DiagnosticRun.submitted_at).where(DiagnosticRun.id == run))
        db.session.remove()
    again = learner.post(f"/diagnostic/runs/{run}/A", axis("A", 4))
    assert again.status_code == 409 and error_code(again) == "already_recorded"
    replayed = learner.post(f"/diagnostic/runs/{run}/review")
    assert replayed.status_code == 409
    assert (
        learner.get(f"/diagnostic/runs/{run}/A", follow=False)
        .headers["Location"]
        .split("?")[0]
        .endswith("/result")
    )
    assert events(app) == before
    with app.app_context():
        row = db.session.get(DiagnosticRun, run)
        assert row is not None and row.submitted_at == submitted and row.answers["A1"] == 2
        db.session.remove()


def test_another_learners_run_is_not_found(browser: LtiBrowser, other_browser: LtiBrowser) -> None:
    owner, intruder = Learner(browser), Learner(other_browser)
    run = start(owner)
    assert intruder.get(f"/diagnostic/runs/{run}/profile").status_code == 404
    assert intruder.post(f"/diagnostic/runs/{run}/profile", PROFILE).status_code == 404
    assert intruder.get(f"/diagnostic/runs/{run}/result").status_code == 404
