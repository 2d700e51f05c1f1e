"""Competences and credentials end to end: a learner launched through the demo platform earns the blocs
and the certificate the thresholds require, facilitators review and recognise, mastery can be rebuilt."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from flask import Flask
from sqlalchemy import select

from lti_tool.certificates.models import Credential
from lti_tool.competences.models import CompetenceState, EvidenceLink, LearnerFacts
from lti_tool.content.loader import Content, load_content
from lti_tool.db import db
from lti_tool.learners.models import Learner as LearnerRow
from tests.conftest import LiveServer
from tests.functional.test_player import Learner, take_quiz
from tests.helpers import LtiBrowser, Platform, error_code
from xapi import store

SATISFIED = "https://w3id.org/xapi/adl/verbs/satisfied"
EARNED = "http://id.tincanapi.com/verb/earned"
WAIVED = "https://w3id.org/xapi/adl/verbs/waived"
SCORED = "http://adlnet.gov/expapi/verbs/scored"


def learner_id(app: Flask, sub: str) -> int:
    with app.app_context():
        value = db.session.scalar(select(LearnerRow.id).where(LearnerRow.sub == sub))
        db.session.remove()
    assert value is not None
    return int(value)


def follow_module(learner: Learner, content: Content, module_id: str, correct: int | None = None) -> None:
    module = content.module(module_id)
    assert module is not None
    for number in range(1, len(module.pages) + 1):
        assert learner.get(f"/modules/{module.slug}/pages/{number}").status_code == 200
    take_quiz(learner, module, correct=len(module.quiz.questions) if correct is None else correct)
    if module.meta.deliverable is not None:
        text = " ".join(["analyse"] * module.meta.deliverable.min_words)
        assert learner.post(f"/modules/{module.slug}/deliverable", {"text": text}).status_code == 303


def plan_and_attend(facilitator: Learner, module_id: str, learner_pk: int) -> None:
    created = facilitator.post(
        "/staff/sessions",
        {
            "kind": "atelier" if module_id == "M5" else "co-developpement",
            "title": f"Séance {module_id}",
            "starts_at": "2026-12-03T14:00",
            "duration_minutes": "120",
            "module_id": module_id,
        },
    )
    assert created.status_code == 303, error_code(created)
    url = created.headers["Location"].split("?")[0]
    assert facilitator.post(url, {"present": [str(learner_pk)]}).status_code == 303


def deliverable_ids(app: Flask, learner_pk: int) -> dict[str, int]:
    from lti_tool.training.models import Deliverable

    with app.app_context():
        rows = db.session.execute(
            select(Deliverable.module_id, Deliverable.id).where(Deliverable.learner_id == learner_pk)
        ).all()
        db.session.remove()
    return {module_id: pk for module_id, pk in rows}


def assess(
    facilitator: Learner, content: Content, module_id: str, deliverable: int, below: str | None = None
) -> Any:
    """A facilitator's assessment of a production: every criterion at its required level, but ``below``
    one level under it."""
    module = content.module(module_id)
    assert module is not None and module.meta.deliverable is not None
    rubric = module.meta.deliverable.rubric
    assert rubric is not None
    form = {f"level-{c.id}": str(c.required - 1 if c.id == below else c.required) for c in rubric.criteria}
    return facilitator.post(
        f"/staff/deliverables/{deliverable}/review",
        {**form, "decision": "assess", "comment": "Diagnostic étayé, sources citées."},
    )


def plain_deliverable(tmp_path: Path) -> Content:
    """The shipped content with M5's deliverable a plain text again, accepted or returned without a grid (C6
    then counts it under `accepted`): every shipped deliverable has a grid, this keeps the accept / return
    path that content authors may still use under test."""
    root = Path(__file__).resolve().parents[2] / "modules"
    target = tmp_path / "plain-modules"
    shutil.copytree(root, target)
    module = target / "m5-alliances" / "module.yaml"
    data = yaml.safe_load(module.read_text(encoding="utf-8"))
    for key in ("rubric", "title", "bloc"):
        data["deliverable"].pop(key, None)
    module.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    thresholds = target / "thresholds.yaml"
    rules = yaml.safe_load(thresholds.read_text(encoding="utf-8"))
    c6 = rules["competences"]["C6"]
    c6.pop("assessed")
    c6["accepted"] = ["M5"]
    thresholds.write_text(yaml.safe_dump(rules, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return load_content(target)


@contextmanager
def serving(app: Flask, content: Content) -> Iterator[Content]:
    """The live server answers with this content for the duration of the block."""
    shipped = app.extensions["socle_content"]
    app.extensions["socle_content"] = content
    try:
        yield content
    finally:
        app.extensions["socle_content"] = shipped


@pytest.fixture
def plain_content(live_server: LiveServer, tmp_path: Path) -> Iterator[Content]:
    """For one test, the live server answers with M5's deliverable as a plain text (see above)."""
    with serving(live_server.app, plain_deliverable(tmp_path)) as content:
        yield content


def credentials_of(app: Flask, learner_pk: int) -> dict[str, dict[str, Any]]:
    with app.app_context():
        rows = db.session.scalars(select(Credential).where(Credential.learner_id == learner_pk)).all()
        found = {
            c.achievement: {
                "id": c.id,
                "document": json.loads(c.document),
                "jwt": c.jwt,
                "revoked": c.revoked_at is not None,
            }
            for c in rows
        }
        db.session.remove()
    return found


def statements(app: Flask, learner: Learner, verb: str) -> list[dict[str, Any]]:
    """The learner's stored statements with this verb."""
    with app.app_context():
        found, _ = store.find(
            db.session,
            store.Query(
                agent=f"account:{learner.browser.platform.issuer}|{learner.sub}", verb=verb, limit=500
            ),
            store.Visibility(everything=True),
        )
        db.session.remove()
    return found


@dataclass
class Graduate:
    learner: Learner
    facilitator: Learner
    pk: int
    credentials: dict[str, dict[str, Any]]


@pytest.fixture(scope="module")
def graduate(live_server: LiveServer) -> Graduate:
    """A fundraiser who follows every module, attends both live sessions and has the five productions
    assessed: the thresholds give them the four blocs and the certificate."""
    app = live_server.app
    content: Content = app.extensions["socle_content"]
    platform = Platform(app.extensions["socle_demo_platform"], live_server.url)
    course = {"id": f"course-{time.time_ns()}", "title": "Promotion test"}
    learner = Learner(LtiBrowser(live_server.url, platform), context=course)
    facilitator = Learner(LtiBrowser(live_server.url, platform), user="instructor", context=course)
    pk = learner_id(app, learner.sub)
    for module in content.programme.tracks[0].modules:
        follow_module(learner, content, module)
    # Every page read and every quiz passed at 100 %: still no bloc, each waits for work a person judged.
    assert credentials_of(app, pk) == {}
    productions = deliverable_ids(app, pk)
    assert sorted(productions) == ["M2", "M4", "M5", "M7", "M8"]
    # The B1 diagnosis one level under on one criterion: B1 is not met, however good the rest.
    below = assess(facilitator, content, "M2", productions["M2"], below="domaines")
    assert below.status_code == 303, error_code(below)
    assert credentials_of(app, pk) == {}
    for module_id in ("M2", "M4"):
        assert assess(facilitator, content, module_id, productions[module_id]).status_code == 303
    assert sorted(credentials_of(app, pk)) == ["B1", "B2"]
    for module_id in ("M5", "M8"):
        plan_and_attend(facilitator, module_id, pk)
    for module_id in ("M5", "M8"):
        decision = assess(facilitator, content, module_id, productions[module_id])
        assert decision.status_code == 303, error_code(decision)
    # B4 waits for the defence of the trajectory (M7) too.
    assert sorted(credentials_of(app, pk)) == ["B1", "B2", "B3"]
    assert assess(facilitator, content, "M7", productions["M7"]).status_code == 303
    return Graduate(learner, facilitator, pk, credentials_of(app, pk))


def test_the_thresholds_earn_every_bloc_and_the_certificate(graduate: Graduate) -> None:
    assert sorted(graduate.credentials) == ["B1", "B2", "B3", "B4", "certificate-fundraiser"]
    certificate = graduate.credentials["certificate-fundraiser"]["document"]
    assert certificate["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    achievement = certificate["credentialSubject"]["achievement"]
    assert achievement["achievementType"] == "Certificate"
    assert {a["targetCode"] for a in achievement["alignment"]} == {
        *(f"B{i}" for i in range(1, 5)),
        *(f"C{i}" for i in range(1, 10)),
    }
    results = {
        r["resultDescription"].rsplit("-", 1)[1]: r["value"]
        for r in certificate["credentialSubject"]["result"]
    }
    assert results["C3"] == "100" and len(results) == 9
    assert certificate["credentialStatus"]["type"] == "BitstringStatusListEntry"
    assert certificate["proof"][0]["cryptosuite"] == "eddsa-rdfc-2022"


def test_each_competence_and_bloc_is_satisfied_once_and_each_credential_earned_once(
    app: Flask, graduate: Graduate
) -> None:
    satisfied = [s["object"]["id"].rsplit("/", 1)[1] for s in statements(app, graduate.learner, SATISFIED)]
    assert sorted(satisfied) == sorted([*(f"C{i}" for i in range(1, 10)), *(f"B{i}" for i in range(1, 5))])
    earned = statements(app, graduate.learner, EARNED)
    assert len(earned) == 5
    ids = {
        s["result"]["extensions"][next(k for k in s["result"]["extensions"] if k.endswith("credential-id"))]
        for s in earned
    }
    assert ids == {c["id"] for c in graduate.credentials.values()}


def test_the_learner_page_shows_competences_met_and_credentials(graduate: Graduate) -> None:
    page = graduate.learner.get("/competences/")
    assert page.status_code == 200
    assert 'data-testid="bloc-met-B4"' in page.text
    assert page.text.count("acquise</strong>") == 9
    for credential in graduate.credentials.values():
        assert f"/verify/{credential['id']}" in page.text


def test_each_assessment_is_a_scored_statement_with_the_level_of_each_criterion(
    app: Flask, graduate: Graduate
) -> None:
    scored = statements(app, graduate.learner, SCORED)
    by_module = {}
    for statement in sorted(scored, key=lambda s: s["timestamp"]):
        assert statement["object"]["id"].endswith("/deliverable")
        by_module.setdefault(statement["object"]["id"].split("/")[-2], []).append(statement)
    assert sorted(by_module) == ["M2", "M4", "M5", "M7", "M8"]
    first, second = by_module["M2"]  # one level under on « domaines », then at the required levels
    assert first["result"]["success"] is False and second["result"]["success"] is True
    levels = next(v for k, v in first["result"]["extensions"].items() if k.endswith("/rubric-levels"))
    assert levels == {"projet": 3, "trois-leviers": 3, "domaines": 2, "coherence": 3}
    assert first["result"]["score"]["scaled"] < second["result"]["score"]["scaled"]
    assert second["context"]["instructor"]["account"]["name"] == graduate.facilitator.sub
    # the competence evidence points at the assessment that met the grid, not at the one below it
    with app.app_context():
        linked = set(
            db.session.scalars(
                select(EvidenceLink.statement_id).where(
                    EvidenceLink.learner_id == graduate.pk, EvidenceLink.kind == "assessed"
                )
            )
        )
        db.session.remove()
    assert second["id"] in linked and first["id"] not in linked


def test_the_learner_sees_the_grid_and_the_levels_given(graduate: Graduate) -> None:
    page = graduate.learner.get("/modules/diagnostic/")
    assert 'data-testid="rubric-M2"' in page.text
    assert "chaque critère atteint son niveau requis" in page.text
    assert "Diagnostic étayé, sources citées." in page.text
    assert 'data-testid="given-domaines">3' in page.text


def test_rebuild_from_statements_equals_the_incremental_result(app: Flask, graduate: Graduate) -> None:
    def snapshot() -> dict[str, Any]:
        with app.app_context():
            facts = db.session.scalar(
                select(LearnerFacts.facts).where(LearnerFacts.learner_id == graduate.pk)
            )
            states = sorted(
                (s.code, s.score, s.is_met, s.met_at, s.rules_version)
                for s in db.session.scalars(
                    select(CompetenceState).where(CompetenceState.learner_id == graduate.pk)
                )
            )
            trail = sorted(
                (e.code, e.kind, e.module_id, e.statement_id, e.ref, e.weight, e.value, e.occurred_at)
                for e in db.session.scalars(
                    select(EvidenceLink).where(EvidenceLink.learner_id == graduate.pk)
                )
            )
            db.session.remove()
        return {"facts": facts, "states": states, "trail": trail}

    before = snapshot()
    assert len(before["trail"]) > 20 and sum(1 for s in before["states"] if s[2]) == 13
    result = app.test_cli_runner().invoke(
        args=["competences", "rebuild", "--learner-id", str(graduate.pk)], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert "Rebuilt the mastery of 1 learner(s)" in result.output
    assert snapshot() == before


# -- facilitators' actions and their refusals
@pytest.fixture
def course(live_server: LiveServer) -> dict[str, str]:
    return {"id": f"course-{time.time_ns()}", "title": "Cours isolé"}


def people(live_server: LiveServer, course: dict[str, str], *users: str) -> list[Learner]:
    platform = Platform(live_server.app.extensions["socle_demo_platform"], live_server.url)
    return [Learner(LtiBrowser(live_server.url, platform), user=user, context=course) for user in users]


def test_prior_learning_is_recognised_with_a_reason_and_counts_for_the_rules(
    live_server: LiveServer, course: dict[str, str]
) -> None:
    app = live_server.app
    learner, facilitator = people(live_server, course, "learner", "instructor")
    pk = learner_id(app, learner.sub)
    too_short = facilitator.post(f"/staff/learners/{pk}/prior-learning", {"module": "M3", "reason": "oui"})
    assert too_short.status_code == 400 and error_code(too_short) == "reason_required"
    unknown = facilitator.post(f"/staff/learners/{pk}/prior-learning", {"module": "M99", "reason": "x" * 20})
    assert unknown.status_code == 400 and error_code(unknown) == "unknown_module"
    reason = "Responsable bénévolat depuis six ans, attestation fournie."
    done = facilitator.post(f"/staff/learners/{pk}/prior-learning", {"module": "M3", "reason": reason})
    assert done.status_code == 303, error_code(done)
    again = facilitator.post(f"/staff/learners/{pk}/prior-learning", {"module": "M3", "reason": reason})
    assert again.status_code == 409
    waived = statements(app, learner, WAIVED)
    assert len(waived) == 1 and reason in json.dumps(waived[0], ensure_ascii=False)
    assert waived[0]["context"]["instructor"]["account"]["name"] == facilitator.sub
    # C3's quiz and module are M3's: recognised, they count without a score; the B2 resource plan (M4's
    # production) is still to be assessed.
    page = learner.get("/competences/")
    assert "reconnue (acquis)" in page.text
    assert "faire évaluer la production de M4" in page.text
    with app.app_context():
        c3 = db.session.scalar(
            select(CompetenceState).where(CompetenceState.learner_id == pk, CompetenceState.code == "C3")
        )
        assert c3 is not None and not c3.is_met and c3.score is None
        db.session.remove()
    assert statements(app, learner, SATISFIED) == []


def test_a_returned_deliverable_needs_a_comment_and_a_decision_is_not_recorded_twice(
    live_server: LiveServer, course: dict[str, str], plain_content: Content
) -> None:
    app = live_server.app
    content = plain_content
    learner, facilitator = people(live_server, course, "learner", "instructor")
    module = content.module("M5")
    assert module is not None and module.meta.deliverable is not None
    text = " ".join(["partenariat"] * module.meta.deliverable.min_words)
    assert learner.post(f"/modules/{module.slug}/deliverable", {"text": text}).status_code == 303
    deliverable = deliverable_ids(app, learner_id(app, learner.sub))["M5"]
    url = f"/staff/deliverables/{deliverable}/review"
    silent = facilitator.post(url, {"decision": "return", "comment": "  "})
    assert silent.status_code == 400 and error_code(silent) == "comment_required"
    # the review page comes back, the message at that deliverable's comment field
    assert f'id="comment-{deliverable}-error"' in silent.text and 'class="error"' not in silent.text
    assert facilitator.post(url, {"decision": "maybe"}).status_code == 400
    assert (
        facilitator.post(url, {"decision": "return", "comment": "Précisez les indicateurs."}).status_code
        == 303
    )
    assert facilitator.post(url, {"decision": "return", "comment": "Encore."}).status_code == 409
    # the learner reads the comment, reworks the text and submits it again, once
    overview = learner.get(f"/modules/{module.slug}/")
    assert "Précisez les indicateurs." in overview.text and 'name="text"' in overview.text
    reworked = text + " indicateurs partagés"
    assert learner.post(f"/modules/{module.slug}/deliverable", {"text": reworked}).status_code == 303
    assert learner.post(f"/modules/{module.slug}/deliverable", {"text": reworked}).status_code == 409
    assert "attend l'examen" in learner.get(f"/modules/{module.slug}/").text
    assert facilitator.post(url, {"decision": "accept"}).status_code == 303
    assert "a été accepté" in learner.get(f"/modules/{module.slug}/").text
    page = facilitator.get("/staff/competences/")
    assert f'data-testid="deliverable-{deliverable}"' in page.text and "accepté" in page.text


def test_facilitators_act_only_in_their_own_course(live_server: LiveServer, course: dict[str, str]) -> None:
    app = live_server.app
    content: Content = app.extensions["socle_content"]
    (learner,) = people(live_server, course, "learner")
    elsewhere = {"id": f"other-{time.time_ns()}", "title": "Autre cours"}
    (outsider,) = people(live_server, elsewhere, "instructor")
    module = content.module("M8")
    assert module is not None and module.meta.deliverable is not None
    text = " ".join(["transmettre"] * module.meta.deliverable.min_words)
    assert learner.post(f"/modules/{module.slug}/deliverable", {"text": text}).status_code == 303
    pk = learner_id(app, learner.sub)
    deliverable = deliverable_ids(app, pk)["M8"]
    review = outsider.post(f"/staff/deliverables/{deliverable}/review", {"decision": "accept"})
    assert review.status_code == 404
    prior = outsider.post(f"/staff/learners/{pk}/prior-learning", {"module": "M1", "reason": "x" * 30})
    assert prior.status_code == 404
    assert outsider.get(f"/staff/learners/{pk}/competences").status_code == 404
    assert f"deliverable-{deliverable}" not in outsider.get("/staff/competences/").text
    # a learner opens no staff page
    assert learner.get("/staff/competences/").status_code == 403
    assert (
        learner.post(f"/staff/deliverables/{deliverable}/review", {"decision": "accept"}).status_code == 403
    )
    with app.app_context():
        from lti_tool.training.models import Deliverable

        row = db.session.get(Deliverable, deliverable)
        assert row is not None and row.review_status is None
        db.session.remove()


def test_revocation_needs_an_administrator_of_the_same_course_and_a_reason(
    app: Flask, graduate: Graduate, live_server: LiveServer
) -> None:
    credential = graduate.credentials["B1"]["id"]
    url = f"/staff/credentials/{credential}/revoke"
    assert graduate.facilitator.post(url, {"reason": "Erreur de saisie"}).status_code == 403
    elsewhere = {"id": f"other-{time.time_ns()}", "title": "Autre cours"}
    (admin_elsewhere,) = people(live_server, elsewhere, "admin")
    assert admin_elsewhere.post(url, {"reason": "Erreur de saisie"}).status_code == 404
    assert (
        admin_elsewhere.post("/staff/credentials/not-a-uuid/revoke", {"reason": "Erreur"}).status_code == 404
    )
    assert credentials_of(app, graduate.pk)["B1"]["revoked"] is False


def test_concurrent_requests_issue_a_credential_once(live_server: LiveServer, course: dict[str, str]) -> None:
    """Two requests that both find a bloc met race to issue it: one credential, one "earned" statement."""
    import threading

    from lti_tool.certificates import issuing
    from lti_tool.competences.services import rules_of

    app = live_server.app
    content: Content = app.extensions["socle_content"]
    (learner,) = people(live_server, course, "learner")
    scope = issuing_scope(app, learner_id(app, learner.sub))
    barrier = threading.Barrier(2)
    issued: list[str] = []
    errors: list[BaseException] = []

    def issue() -> None:
        try:
            with app.app_context():
                barrier.wait()
                credential = issuing.issue(db.session, scope, content, rules_of(content), "B1", None)
                issued.append(credential.id)
                db.session.commit()
                db.session.remove()
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=issue) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert len(set(issued)) == 1
    assert list(credentials_of(app, scope.learner_id)) == ["B1"]
    assert len(statements(app, learner, EARNED)) == 1


def issuing_scope(app: Flask, learner_pk: int) -> Any:
    from lti_tool.certificates import issuing
    from lti_tool.learners.models import Enrolment

    with app.app_context():
        context_pk = db.session.scalar(select(Enrolment.context_pk).where(Enrolment.learner_id == learner_pk))
        assert context_pk is not None
        scope = issuing.learner_scope(db.session, learner_pk, context_pk)
        db.session.remove()
    return scope


# -- independent verifiers, on the credentials the graduate really earned
def status_list_for(app: Flask, credential: dict[str, Any]) -> dict[str, Any]:
    from lti_tool.certificates import issuing

    number = int(credential["credentialStatus"]["statusListCredential"].rsplit("/", 1)[1])
    with app.test_request_context():
        document = issuing.status_list_document(db.session, number)
        db.session.remove()
    return document


def test_independent_verifiers_accept_the_credentials_and_reject_tampered_ones(
    app: Flask, graduate: Graduate
) -> None:
    from tests.unit.certificates.proof_samples import tampered, tampered_jwt
    from tests.verifiers.independent import dcc_verify, jose_verify, openbadgeslib_verify

    for achievement in ("B1", "certificate-fundraiser"):
        earned = graduate.credentials[achievement]
        document = earned["document"]
        status = status_list_for(app, document)
        dcc = dcc_verify(document, status)
        assert dcc.ok and dcc.revoked is False, dcc.details
        obl = openbadgeslib_verify(document, status_list=status)
        assert obl.ok and obl.revoked is False, obl.details
        assert openbadgeslib_verify(earned["jwt"]).ok  # the key from the issuer's did:key
        assert jose_verify(earned["jwt"]).ok
        for field in ("name", "subject", "result"):
            changed = tampered(document, field)
            assert not dcc_verify(changed, status).ok, field
            assert not openbadgeslib_verify(changed, status_list=status).ok, field
            assert not openbadgeslib_verify(tampered_jwt(earned["jwt"], field)).ok, field
            assert not jose_verify(tampered_jwt(earned["jwt"], field)).ok, field


def test_the_graduate_gets_a_pdf_certificate_and_an_evidence_file(app: Flask, graduate: Graduate) -> None:
    import io

    from pypdf import PdfReader

    http = graduate.learner.browser.http
    base = graduate.learner.browser.base_url
    credential = graduate.credentials["certificate-fundraiser"]["id"]
    page = http.get(f"{base}/verify/{credential}")
    assert page.status_code == 200 and 'data-status="valid"' in page.text
    pdf = http.get(f"{base}/verify/{credential}/certificate.pdf")
    assert pdf.status_code == 200 and pdf.headers["Content-Type"] == "application/pdf"
    text = PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
    assert "Certificat d'aptitude" in text and f"/verify/{credential}" in text
    for code in ("B1", "B4", "C9"):
        assert code in text
    evidence = graduate.learner.get(f"/verify/{credential}/evidence.json").json()  # the holder
    with app.app_context():
        trail = set(
            db.session.scalars(
                select(EvidenceLink.statement_id).where(EvidenceLink.learner_id == graduate.pk)
            )
        )
        db.session.remove()
    listed = {item["statement_id"] for c in evidence["competences"] for item in c["evidence"]}
    assert trail and trail <= listed
    assert (
        graduate.learner.get(f"/verify/{credential}/evidence.pdf").headers["Content-Type"]
        == "application/pdf"
    )


def test_the_hours_agree_between_certificates_evidence_files_and_the_jury_summary(
    app: Flask, graduate: Graduate
) -> None:
    """B1 and B2 were issued by the request that completed their last module: that module's hours count."""
    import csv
    import io

    from lti_tool.certificates import issuing
    from lti_tool.certificates.evidence import activity, certificate_document

    content = app.extensions["socle_content"]
    with app.test_request_context():
        for achievement, earned in graduate.credentials.items():
            credential = issuing.get(db.session, earned["id"])
            assert credential.evidence is not None
            frozen = json.loads(credential.evidence)["hours"]
            assert certificate_document(db.session, credential, content).hours == frozen, achievement
            until = activity(db.session, graduate.pk, credential.context_pk, content, credential.issued_at)
            assert until.hours == frozen, achievement
        certificate = issuing.get(db.session, graduate.credentials["certificate-fundraiser"]["id"])
        hours = json.loads(certificate.evidence or "{}")["hours"]
        db.session.remove()
    assert (
        hours
        == sum(content.module(m).meta.duration_minutes for m in content.programme.tracks[0].modules) / 60
    )
    summary = graduate.facilitator.get("/staff/exports/jury-summary.csv")
    assert summary.status_code == 200
    rows = list(csv.DictReader(io.StringIO(summary.content.decode("utf-8-sig")), delimiter=";"))
    (row,) = [r for r in rows if graduate.learner.sub in r.values()]
    assert row["Heures suivies (modules terminés)"] == f"{hours:.2f}".replace(".", ",")
    pdf = graduate.learner.get(f"/verify/{certificate.id}/certificate.pdf").content
    from pypdf import PdfReader

    text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    from lti_tool.certificates.documents import NBSP, french_duration

    flat = " ".join(text.replace("\xa0", " ").split())  # pypdf reads no-break spaces as spaces
    assert f"soit {french_duration(hours).replace(NBSP, ' ')} de formation" in flat, flat


def test_a_forged_status_list_is_refused_by_the_verifier(app: Flask, graduate: Graduate) -> None:
    """Someone serves a status list that says a valid credential is revoked (or the reverse), without our
    signature: the verifier refuses the list rather than trust its bits."""
    from lti_tool.certificates import credentials as ob
    from tests.verifiers.independent import dcc_verify

    document = graduate.credentials["B2"]["document"]
    status = status_list_for(app, document)
    index = int(document["credentialStatus"]["statusListIndex"])
    bits = ob.decode_list(status["credentialSubject"]["encodedList"])
    assert not ob.is_set(bits, index)
    forged = json.loads(json.dumps(status))
    forged["credentialSubject"]["encodedList"] = ob.encoded_list(len(bits) * 8, [index])
    verdict = dcc_verify(document, forged)
    assert not verdict.ok, verdict.details
    assert verdict.revoked is not True  # a forged list proves nothing either way


def test_credentials_earned_create_no_gradebook_column_the_teacher_did_not_place(
    app: Flask, graduate: Graduate
) -> None:
    """Blocs and the certificate are not placed in a course (issue 14): no column of theirs changes every
    learner's course total, unless the operator sets AGS_LINE_ITEMS_FOR_UNPLACED."""
    from lti_tool.lti.models import ScoreOutbox

    with app.app_context():
        rows = db.session.execute(
            select(ScoreOutbox.resource_id, ScoreOutbox.score_given).where(
                ScoreOutbox.learner_id == graduate.pk, ScoreOutbox.resource_id.in_(list(graduate.credentials))
            )
        ).all()
        db.session.remove()
    assert graduate.credentials and rows == []


# -- revocation: last, it changes the graduate's credentials
def session_of(app: Flask, learner_pk: int, module_id: str) -> int:
    from lti_tool.learners.models import Enrolment
    from lti_tool.training.models import LiveSession

    with app.app_context():
        context_pk = db.session.scalar(select(Enrolment.context_pk).where(Enrolment.learner_id == learner_pk))
        value = db.session.scalar(
            select(LiveSession.id).where(
                LiveSession.context_pk == context_pk, LiveSession.module_id == module_id
            )
        )
        db.session.remove()
    assert value is not None
    return int(value)


def test_revoking_a_bloc_revokes_the_certificate_that_counted_it_until_the_bloc_is_met_again(
    app: Flask, graduate: Graduate
) -> None:
    from tests.verifiers.independent import dcc_verify, openbadgeslib_verify

    bloc, certificate = graduate.credentials["B4"], graduate.credentials["certificate-fundraiser"]
    reason = "Soutenance d'une autre personne"
    result = app.test_cli_runner().invoke(args=["certificates", "revoke", bloc["id"], "--reason", reason])
    assert result.exit_code == 0, result.output
    again = app.test_cli_runner().invoke(args=["certificates", "revoke", bloc["id"], "--reason", "Encore"])
    assert again.exit_code != 0 and "already revoked" in again.output
    unknown = app.test_cli_runner().invoke(args=["certificates", "revoke", "nope", "--reason", "Erreur"])
    assert unknown.exit_code != 0 and "not" in unknown.output.lower()
    now = credentials_of(app, graduate.pk)
    assert now["B4"]["revoked"] and now["certificate-fundraiser"]["revoked"]
    assert not now["B1"]["revoked"] and not now["B3"]["revoked"]
    # /verify says so, with the bloc and its reason; the PDF is gone.
    http, base = graduate.learner.browser.http, graduate.learner.browser.base_url
    page = http.get(f"{base}/verify/{certificate['id']}")
    assert page.status_code == 200 and 'data-status="revoked"' in page.text
    assert f"Bloc B4 révoqué : {reason}".replace("'", "&#39;") in page.text
    assert http.get(f"{base}/verify/{certificate['id']}/certificate.pdf").status_code == 410
    # The status list and both independent verifiers see both revoked.
    for revoked in (bloc, certificate):
        document = revoked["document"]
        status = status_list_for(app, document)
        dcc = dcc_verify(document, status)
        assert not dcc.ok and dcc.revoked is True, dcc.details
        obl = openbadgeslib_verify(document, status_list=status)
        assert not obl.ok and obl.revoked is True, obl.details
    other = graduate.credentials["B2"]["document"]
    assert dcc_verify(other, status_list_for(app, other)).ok
    # Both "earned" statements are voided.
    earned_ids = {
        s["result"]["extensions"][k]
        for s in statements(app, graduate.learner, EARNED)
        for k in s["result"]["extensions"]
        if k.endswith("credential-id")
    }
    assert earned_ids == {graduate.credentials[code]["id"] for code in ("B1", "B2", "B3")}

    # An unrelated event does not undo the jury's decision: B4 is still met, nothing is issued again.
    follow_module(graduate.learner, app.extensions["socle_content"], "M1")
    with app.app_context():
        assert (
            len(db.session.scalars(select(Credential.id).where(Credential.learner_id == graduate.pk)).all())
            == 5
        )
        db.session.remove()
    # B4 met again (its live session's attendance withdrawn, then recorded again): B4 and the certificate
    # are earned again, as new credentials; the revoked ones stay revoked.
    attendance = f"/staff/sessions/{session_of(app, graduate.pk, 'M8')}/attendance"
    assert graduate.facilitator.post(attendance, {"present": []}).status_code == 303
    with app.app_context():
        state = db.session.scalar(
            select(CompetenceState).where(
                CompetenceState.learner_id == graduate.pk, CompetenceState.code == "B4"
            )
        )
        assert state is not None and not state.is_met
        db.session.remove()
    assert graduate.facilitator.post(attendance, {"present": [str(graduate.pk)]}).status_code == 303
    with app.app_context():
        rows = db.session.scalars(select(Credential).where(Credential.learner_id == graduate.pk)).all()
        by_achievement: dict[str, list[Credential]] = {}
        for row in rows:
            by_achievement.setdefault(row.achievement, []).append(row)
        db.session.remove()
    for code in ("B4", "certificate-fundraiser"):
        valid = [c for c in by_achievement[code] if c.revoked_at is None]
        assert len(by_achievement[code]) == 2 and len(valid) == 1, code
        assert valid[0].id != graduate.credentials[code]["id"]
        page = http.get(f"{base}/verify/{valid[0].id}")
        assert 'data-status="valid"' in page.text
    assert [len(by_achievement[code]) for code in ("B1", "B2", "B3")] == [1, 1, 1]
