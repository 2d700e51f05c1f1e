"""The autodiagnostic over real HTTP: saved step by step, submitted, scored, routed, compared on retake."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from sqlalchemy import select

from lti_tool.content.loader import Content
from lti_tool.db import db
from lti_tool.diagnostic.models import DiagnosticRun
from tests.functional.test_player import Learner, events
from tests.helpers import LtiBrowser, error_code, fr


def content_version(app: Flask) -> int:
    return int(app.extensions["socle_content"].version)


PROFILE = {"P1": "fundraiser", "P2": "association-employeuse", "P3": "2-6h", "P4": "webinaires"}


def start(learner: Learner) -> int:
    response = learner.post("/diagnostic/runs")
    assert response.status_code == 303, error_code(response)
    match = re.search(r"/diagnostic/runs/(\d+)/", response.headers["Location"])
    assert match
    return int(match.group(1))


def axis(letter: str, level: int) -> dict[str, str]:
    return {f"{letter}{n}": str(level) for n in range(1, 5)}


def practice(level: int) -> dict[str, str]:
    return {f"PR{n}": str(level) for n in range(1, 5)}


def run_through(
    learner: Learner, levels: dict[str, int], profile: dict[str, str] = PROFILE, practice_level: int = 3
) -> int:
    run = start(learner)
    assert learner.post(f"/diagnostic/runs/{run}/profile", profile).status_code == 303
    response = learner.post(f"/diagnostic/runs/{run}/pratique", practice(practice_level))
    assert response.status_code == 303, error_code(response)
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
    assert fr("Niveau L3 : Structuration") in page.text and "score global 60/100" in page.text
    assert '<svg viewBox="0 0 320 320" role="img"' in page.text
    assert "<caption>Scores par axe, sur 100</caption>" in page.text
    assert 'data-rule="confirme"' in page.text  # practice N3, organisation L3, spread 33 < 40
    assert "/modules/richesses-humaines/" in page.text  # priority axis B -> M3
    assert events(app, learner.sub, "diagnostic_submitted") == 1
    with app.app_context():
        row = db.session.get(DiagnosticRun, run)
        assert row is not None and row.level == "L3" and row.result is not None
        assert row.result["axis_scores"]["B"] == pytest.approx(33.33) and row.result["priority_axis"] == "B"
        assert row.result["practice_level"] == "N3" and row.result["practice_score"] == pytest.approx(66.67)
        db.session.remove()


def test_the_whole_questionnaire_gives_two_results_and_a_path_that_can_be_joined(browser: LtiBrowser) -> None:
    """Through the demo platform, every step in order: a senior fundraiser newly in a small association that
    has already followed the MOOC gets two results, a path that skips first steps and the MOOC, and for
    each recommended format how to join it."""
    learner = Learner(browser)
    run = start(learner)
    profile = {"P1": "fundraiser", "P2": "association-non-employeuse", "P3": "2-6h", "P4": "mooc"}
    page = learner.get(f"/diagnostic/runs/{run}/profile")
    assert "Votre profil" in page.text
    assert (
        learner.post(f"/diagnostic/runs/{run}/profile", profile)
        .headers["Location"]
        .split("?")[0]
        .endswith(f"/diagnostic/runs/{run}/pratique")
    )
    page = learner.get(f"/diagnostic/runs/{run}/pratique")
    assert "<h1>Votre pratique</h1>" in page.text and 'name="PR1"' in page.text
    assert learner.post(f"/diagnostic/runs/{run}/pratique", practice(4)).status_code == 303
    page = learner.get(f"/diagnostic/runs/{run}/A")
    assert "Cette partie porte sur votre structure, pas sur vous." in page.text
    for letter in "ABCDE":
        assert learner.post(f"/diagnostic/runs/{run}/{letter}", axis(letter, 1)).status_code == 303
    assert learner.post(f"/diagnostic/runs/{run}/review").status_code == 303
    page = learner.get(f"/diagnostic/runs/{run}/result")
    assert "<h2>Votre pratique</h2>" in page.text and 'data-practice="N4"' in page.text
    assert "<h2>La maturité de votre structure</h2>" in page.text and 'data-level="L1"' in page.text
    assert 'data-rule="confirme-structure-debutante"' in page.text
    assert 'data-format="parcours"' in page.text and 'data-format="contenus-academiques"' in page.text
    assert 'data-format="mooc"' not in page.text and "webinaires" not in page.text.lower()
    assert "Dans ce cours, à votre rythme" in page.text  # how to join the path
    assert "/modules/diagnostic/" in page.text and "/modules/trajectoire/" in page.text  # M2, M7


def test_a_junior_in_a_mature_organisation_is_sent_to_the_fundamentals(browser: LtiBrowser) -> None:
    learner = Learner(browser)
    run = run_through(learner, dict.fromkeys("ABCDE", 4), practice_level=1)
    page = learner.get(f"/diagnostic/runs/{run}/result")
    assert 'data-practice="N1"' in page.text and 'data-level="L4"' in page.text
    assert 'data-rule="debutant-structure-avancee"' in page.text
    assert 'data-format="mooc"' in page.text
    assert 'href="https://fr.coursera.org/learn/nouveaux-modeles-economiques-associations"' in page.text
    assert 'data-format="co-developpement"' not in page.text


def test_a_workshop_is_recommended_once_a_facilitator_plans_one(
    browser: LtiBrowser, other_browser: LtiBrowser
) -> None:
    lagging_alliances = {"A": 4, "B": 4, "C": 4, "D": 1, "E": 3}
    learner = Learner(browser)
    before = learner.get(f"/diagnostic/runs/{run_through(learner, lagging_alliances)}/result")
    assert 'data-rule="axe-alliances"' in before.text and 'data-format="ateliers"' not in before.text
    facilitator = Learner(other_browser, user="instructor")
    created = facilitator.post(
        "/staff/sessions",
        {
            "kind": "atelier",
            "title": "Atelier alliances",
            "starts_at": "2030-01-17T14:00",
            "duration_minutes": "120",
            "module_id": "M5",
        },
    )
    assert created.status_code == 303, error_code(created)
    after = learner.get(f"/diagnostic/runs/{run_through(learner, lagging_alliances)}/result")
    assert 'data-format="ateliers"' in after.text and "atelier en direct du module M5" in after.text
    assert "/modules/alliances/" in after.text


def test_a_result_stored_under_an_earlier_version_still_displays(app: Flask, browser: LtiBrowser) -> None:
    """A run scored by version 3 (one level, the ended webinar cycle, rule R2) keeps its scores and formats,
    without today's explanations, and says the questionnaire has changed."""
    learner = Learner(browser)
    run = run_through(learner, dict.fromkeys("ABCDE", 1))
    with app.app_context():
        row = db.session.get(DiagnosticRun, run)
        assert row is not None and row.result is not None
        old = {k: v for k, v in row.result.items() if k not in ("practice_score", "practice_level")}
        row.result = {**old, "rule": "R2", "primary_format": "webinaires", "secondary_format": "mooc"}
        row.content_version = 3
        db.session.commit()
        db.session.remove()
    page = learner.get(f"/diagnostic/runs/{run}/result")
    assert page.status_code == 200
    assert "version antérieure du questionnaire (version 3)" in page.text
    assert 'data-rule="R2"' in page.text and 'data-format="webinaires"' in page.text
    assert "octobre 2021 (terminé)" in page.text  # the format's own description, now in the past
    assert "Votre pratique" not in page.text


def test_a_result_of_the_same_questionnaire_stays_current_when_other_content_changes(
    app: Flask, browser: LtiBrowser, content: Content
) -> None:
    """Raising the content version for a quiz or a page does not turn today's results into old ones."""
    learner = Learner(browser)
    run = run_through(learner, dict.fromkeys("ABCDE", 2))
    since = content.diagnostic.since_version
    assert since < content.version  # the quizzes changed after the questionnaire did
    with app.app_context():
        row = db.session.get(DiagnosticRun, run)
        assert row is not None
        row.content_version = since
        db.session.commit()
        db.session.remove()
    page = learner.get(f"/diagnostic/runs/{run}/result")
    assert page.status_code == 200
    assert "version antérieure du questionnaire" not in page.text
    assert "Votre pratique" in page.text


def test_a_run_left_open_under_an_earlier_version_resumes_at_the_practice_and_is_scored_today(
    app: Flask, browser: LtiBrowser
) -> None:
    learner = Learner(browser)
    run = start(learner)
    learner.post(f"/diagnostic/runs/{run}/profile", PROFILE)
    for letter in "ABCDE":
        learner.post(f"/diagnostic/runs/{run}/{letter}", axis(letter, 2))
    with app.app_context():
        row = db.session.get(DiagnosticRun, run)
        assert row is not None
        row.content_version = 3  # started before the practice questions existed
        db.session.commit()
        db.session.remove()
    resumed = learner.post("/diagnostic/runs")
    assert resumed.headers["Location"].split("?")[0].endswith(f"/diagnostic/runs/{run}/pratique")
    early = learner.post(f"/diagnostic/runs/{run}/review")
    assert early.status_code == 400 and error_code(early) == "incomplete"
    learner.post(f"/diagnostic/runs/{run}/pratique", practice(2))
    assert learner.post(f"/diagnostic/runs/{run}/review").status_code == 303
    page = learner.get(f"/diagnostic/runs/{run}/result")
    assert "version antérieure" not in page.text and 'data-practice="N2"' in page.text
    with app.app_context():
        row = db.session.get(DiagnosticRun, run)
        assert row is not None and row.content_version == content_version(app)
        db.session.remove()


def test_researchers_and_consultants_answer_their_variant(browser: LtiBrowser) -> None:
    learner = Learner(browser)
    run = start(learner)
    learner.post(f"/diagnostic/runs/{run}/profile", {**PROFILE, "P1": "chercheur"})
    assert "Vos travaux portent-ils" in learner.get(f"/diagnostic/runs/{run}/pratique").text
    assert "une structure que vous étudiez" in learner.get(f"/diagnostic/runs/{run}/B").text
    learner.post(f"/diagnostic/runs/{run}/profile", {**PROFILE, "P1": "consultant"})
    assert "accompagnez-vous des structures" in learner.get(f"/diagnostic/runs/{run}/pratique").text
    assert "une structure que vous accompagnez" in learner.get(f"/diagnostic/runs/{run}/B").text


def test_answers_are_saved_as_they_come_and_the_run_resumes(app: Flask, browser: LtiBrowser) -> None:
    learner = Learner(browser)
    run = start(learner)
    learner.post(f"/diagnostic/runs/{run}/profile", PROFILE)
    learner.post(f"/diagnostic/runs/{run}/A", axis("A", 2))
    home = learner.get("/diagnostic/")
    assert "Reprendre mon autodiagnostic" in home.text
    resumed = learner.post("/diagnostic/runs")
    assert resumed.headers["Location"].split("?")[0].endswith(f"/diagnostic/runs/{run}/pratique")
    learner.post(f"/diagnostic/runs/{run}/pratique", practice(2))
    resumed = learner.post("/diagnostic/runs")
    assert resumed.headers["Location"].split("?")[0].endswith(f"/diagnostic/runs/{run}/B")
    page = learner.get(f"/diagnostic/runs/{run}/A")
    assert 'id="A1-2" name="A1" value="2" required checked' in page.text
    with app.app_context():
        row = db.session.get(DiagnosticRun, run)
        assert (
            row is not None
            and row.answers == {"A1": 2, "A2": 2, "A3": 2, "A4": 2, "PR1": 2, "PR2": 2, "PR3": 2, "PR4": 2}
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
    assert "quels qu'ils soient" not in page.text  # the common C2


@pytest.mark.parametrize(
    ("step", "form", "code"),
    [
        ("profile", {**PROFILE, "P1": "astronaut"}, "bad_profile"),
        ("A", {**axis("A", 3), "A2": "7"}, "bad_answer"),
        ("A", {"A1": "3"}, "bad_answer"),
        ("pratique", {**practice(3), "PR4": "x"}, "bad_answer"),
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
