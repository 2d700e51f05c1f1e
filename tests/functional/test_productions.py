"""Assessed productions end to end: refusals of a facilitator's assessment, and a change of the mastery
rules (a new thresholds version) that re-evaluates learners in progress but leaves issued credentials as
they were issued."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import requests
import yaml
from sqlalchemy import select

from lti_tool.certificates.models import Credential
from lti_tool.competences.models import CompetenceState
from lti_tool.content.loader import Content, load_content
from lti_tool.db import db
from lti_tool.learners.models import Context
from tests.conftest import LiveServer
from tests.functional.test_competences import (
    assess,
    deliverable_ids,
    follow_module,
    learner_id,
    people,
    plain_content,  # noqa: F401 - the fixture
)
from tests.functional.test_diagnostic import PROFILE, run_through
from tests.helpers import error_code, fr

ROOT = Path(__file__).resolve().parents[2] / "modules"


def test_an_assessment_needs_a_level_for_every_criterion_and_a_comment(
    live_server: LiveServer,
    plain_content: Content,  # noqa: F811 - the fixture
) -> None:
    app = live_server.app
    content = plain_content  # M5's deliverable without its grid, to show what cannot be "assessed"
    course = {"id": f"course-{time.time_ns()}", "title": "Évaluations"}
    learner, facilitator = people(live_server, course, "learner", "instructor")
    (outsider,) = people(live_server, {"id": f"other-{time.time_ns()}", "title": "Ailleurs"}, "instructor")
    module = content.module("M4")
    assert module is not None and module.meta.deliverable is not None
    rubric = module.meta.deliverable.rubric
    assert rubric is not None
    text = " ".join(["plan"] * module.meta.deliverable.min_words)
    assert learner.post(f"/modules/{module.slug}/deliverable", {"text": text}).status_code == 303
    pk = learner_id(app, learner.sub)
    productions = deliverable_ids(app, pk)
    url = f"/staff/deliverables/{productions['M4']}/review"
    full = {f"level-{c.id}": str(c.required) for c in rubric.criteria}
    first = rubric.criteria[0].id

    def post(form: dict[str, Any], who: Any = facilitator) -> Any:
        return who.post(url, {"decision": "assess", "comment": "Plan chiffré et sourcé.", **form})

    # a production with a grid is not simply accepted
    accepted = facilitator.post(url, {"decision": "accept", "comment": "Bien."})
    assert accepted.status_code == 400 and error_code(accepted) == "levels_required"
    missing = post({k: v for k, v in full.items() if k != f"level-{first}"})
    assert missing.status_code == 400 and error_code(missing) == "bad_level"
    for bad in ("9", "x", "", "３"):
        response = post({**full, f"level-{first}": bad})
        assert response.status_code == 400 and error_code(response) == "bad_level", bad
    silent = facilitator.post(url, {"decision": "assess", "comment": " ", **full})
    assert silent.status_code == 400 and error_code(silent) == "comment_required"
    assert post(full, outsider).status_code == 404
    # a deliverable without a grid cannot be "assessed"
    m5 = content.module("M5")
    assert m5 is not None and m5.meta.deliverable is not None
    words = " ".join(["alliance"] * m5.meta.deliverable.min_words)
    assert learner.post(f"/modules/{m5.slug}/deliverable", {"text": words}).status_code == 303
    no_grid = facilitator.post(
        f"/staff/deliverables/{deliverable_ids(app, pk)['M5']}/review", {"decision": "assess", **full}
    )
    assert no_grid.status_code == 400 and error_code(no_grid) == "no_rubric"
    # nothing was recorded by the refusals; then one assessment, once
    assert "attend l'examen" in learner.get(f"/modules/{module.slug}/").text
    assert post(full).status_code == 303
    assert post(full).status_code == 409
    # a new judgement (one criterion lowered) is recorded and returns the production to the learner
    lowered = post({**full, f"level-{first}": str(rubric.criteria[0].required - 1)})
    assert lowered.status_code == 303
    page = learner.get(f"/modules/{module.slug}/")
    assert "Plan chiffré et sourcé." in page.text and 'name="text"' in page.text
    assert f'data-testid="given-{first}">{rubric.criteria[0].required - 1}' in page.text
    # the same, in English (the grid itself is content, in French)
    english = learner.get(f"/modules/{module.slug}/", lang="en").text
    assert "<caption>Marking grid</caption>" in english and "below the level required" in english
    assert fr("évaluée : sous le niveau requis") in facilitator.get("/staff/competences/").text
    staff = facilitator.get("/staff/competences/", lang="en").text
    assert "Save the assessment" in staff and "Comment for the learner (required)" in staff


def stricter_rules(tmp_path: Path) -> Content:
    """The shipped content with thresholds version 3: C1 needs the B4 defence (M7) as well."""
    target = tmp_path / "modules"
    shutil.copytree(ROOT, target)
    path = target / "thresholds.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["version"] += 1
    data["competences"]["C1"]["assessed"] = ["M2", "M7"]
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return load_content(target)


def states_of(app: Any, pk: int) -> dict[str, tuple[bool, int]]:
    with app.app_context():
        rows = {
            s.code: (s.is_met, s.rules_version)
            for s in db.session.scalars(select(CompetenceState).where(CompetenceState.learner_id == pk))
        }
        db.session.remove()
    return rows


def test_new_rules_re_evaluate_learners_in_progress_and_keep_issued_credentials(
    live_server: LiveServer, tmp_path: Path
) -> None:
    app = live_server.app
    shipped: Content = app.extensions["socle_content"]
    course = {"id": f"course-{time.time_ns()}", "title": "Changement de règles"}
    graduate, in_progress, facilitator = people(live_server, course, "learner", "learner", "instructor")
    for person in (graduate, in_progress):
        for module_id in ("M1", "M2", "M7"):  # B1's modules (C2 counts the M7 quiz)
            follow_module(person, shipped, module_id)
    graduate_pk, in_progress_pk = learner_id(app, graduate.sub), learner_id(app, in_progress.sub)
    done = assess(facilitator, shipped, "M2", deliverable_ids(app, graduate_pk)["M2"])
    assert done.status_code == 303, error_code(done)
    version = shipped.thresholds.version
    with app.app_context():
        credential = db.session.scalar(select(Credential).where(Credential.learner_id == graduate_pk))
        assert credential is not None and credential.achievement == "B1"
        issued = (credential.id, credential.rules_version, credential.document, credential.revoked_at)
        context_pk = db.session.scalar(select(Context.id).where(Context.lti_context_id == course["id"]))
        db.session.remove()
    assert issued[1] == version and states_of(app, graduate_pk)["B1"] == (True, version)

    app.extensions["socle_content"] = stricter_rules(tmp_path)
    try:
        result = app.test_cli_runner().invoke(
            args=["competences", "rebuild", "--context-id", str(context_pk)], catch_exceptions=False
        )
        assert result.exit_code == 0, result.output
        # both learners are evaluated on the new rules: B1 now waits for the M7 defence
        for pk in (graduate_pk, in_progress_pk):
            states = states_of(app, pk)
            assert states["C1"] == (False, version + 1) and states["B1"] == (False, version + 1)
            assert states["C2"] == ((pk == graduate_pk), version + 1)
        assert "faire évaluer la production de M7" in in_progress.get("/competences/").text
        # the credential issued under the previous rules is untouched and still verifies
        with app.app_context():
            kept = db.session.get(Credential, issued[0])
            assert kept is not None
            assert (kept.id, kept.rules_version, kept.document, kept.revoked_at) == issued
            assert f"Règles de maîtrise, version {version} :" in kept.document  # its criteria narrative
            db.session.remove()
        verify = requests.get(f"{live_server.url}/verify/{issued[0]}", timeout=10)
        assert verify.status_code == 200 and 'data-status="valid"' in verify.text
    finally:
        app.extensions["socle_content"] = shipped


def test_a_foundation_director_follows_the_grantmaker_track(live_server: LiveServer) -> None:
    course = {"id": f"course-{time.time_ns()}", "title": "Parcours"}
    director, head = people(live_server, course, "learner", "learner")
    levels = {"A": 3, "B": 2, "C": 3, "D": 3, "E": 3}
    run_through(director, levels, {**PROFILE, "P1": "dirigeant", "P2": "fondation"})
    run_through(head, levels, {**PROFILE, "P1": "dirigeant", "P2": "association-employeuse"})
    mine = director.get("/competences/").text
    assert fr("Parcours : Parcours financeur (grantmaker)") in mine and 'id="bloc-B2"' not in mine
    theirs = head.get("/competences/").text
    assert fr("Parcours : Parcours fundraiser") in theirs and 'id="bloc-B2"' in theirs


def test_the_facilitators_comment_reaches_the_learner_whatever_the_decision(
    live_server: LiveServer,
    plain_content: Content,  # noqa: F811 - the fixture
) -> None:
    app = live_server.app
    content = plain_content  # M5 accepted or returned as a plain text, M4 assessed on its grid
    course = {"id": f"course-{time.time_ns()}", "title": "Commentaires"}
    learner, facilitator = people(live_server, course, "learner", "instructor")
    pk = learner_id(app, learner.sub)
    m4, m5 = content.module("M4"), content.module("M5")
    assert m4 is not None and m4.meta.deliverable is not None
    assert m5 is not None and m5.meta.deliverable is not None
    for module, word in ((m4, "plan"), (m5, "alliance")):
        text = " ".join([word] * module.meta.deliverable.min_words)  # type: ignore[union-attr]
        assert learner.post(f"/modules/{module.slug}/deliverable", {"text": text}).status_code == 303
    ids = deliverable_ids(app, pk)
    review = f"/staff/deliverables/{ids['M5']}/review"
    # returned, then accepted: each time the learner reads the comment on the module page
    returned = facilitator.post(review, {"decision": "return", "comment": "Nommez vos partenaires."})
    assert returned.status_code == 303
    assert "Nommez vos partenaires." in learner.get(f"/modules/{m5.slug}/").text
    words = " ".join(["partenaire"] * m5.meta.deliverable.min_words)
    assert learner.post(f"/modules/{m5.slug}/deliverable", {"text": words}).status_code == 303
    accepted = facilitator.post(review, {"decision": "accept", "comment": "Alliances claires, bravo."})
    assert accepted.status_code == 303
    page = learner.get(f"/modules/{m5.slug}/").text
    assert "Alliances claires, bravo." in page and fr("Commentaire de l'équipe d'animation :") in page
    # assessed on the grid and accepted: the comment is there too
    assert assess(facilitator, content, "M4", ids["M4"]).status_code == 303
    assert "Diagnostic étayé, sources citées." in learner.get(f"/modules/{m4.slug}/").text


def test_a_decision_taken_before_the_module_had_its_grid_is_still_to_assess(
    live_server: LiveServer,
    plain_content: Content,  # noqa: F811 - the fixture
) -> None:
    from lti_tool.training.models import Deliverable

    app = live_server.app
    course = {"id": f"course-{time.time_ns()}", "title": "Grille venue après"}
    learner, facilitator = people(live_server, course, "learner", "instructor")
    module = plain_content.module("M4")
    assert module is not None and module.meta.deliverable is not None
    text = " ".join(["plan"] * module.meta.deliverable.min_words)
    assert learner.post(f"/modules/{module.slug}/deliverable", {"text": text}).status_code == 303
    pk = deliverable_ids(app, learner_id(app, learner.sub))["M4"]

    def decided(status: str) -> str:
        """The staff page's item for M4, once decided as ``status`` without levels (before the grid)."""
        with app.app_context():
            row = db.session.get(Deliverable, pk)
            assert row is not None
            row.review_status, row.review_comment, row.rubric_levels = status, "Vu.", None
            db.session.commit()
            db.session.remove()
        page = facilitator.get("/staff/competences/").text
        return page.split(f'data-testid="deliverable-{pk}"', 1)[1].split("</h3>", 1)[0]

    accepted = decided("accepted")
    assert fr("acceptée avant la grille : à évaluer") in accepted and "niveaux atteints" not in accepted
    returned = decided("returned")
    assert fr("renvoyée avant la grille : à évaluer") in returned and "sous le niveau requis" not in returned
