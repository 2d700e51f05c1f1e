"""Privacy over real HTTP and the CLI: a person's export holds every row about them and nobody else's;
erasure removes them everywhere (rows, xAPI statements and their index and outbox rows), keeps their
credentials revoked for verifiers and anonymised counts only; who may do it; the retention purge."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urljoin

import pytest
import requests
from flask import Flask
from sqlalchemy import Column, Table, Text, cast, delete, func, select, update

from lti_tool.certificates import credentials as ob
from lti_tool.certificates import issuing
from lti_tool.certificates.models import Credential
from lti_tool.competences.services import rules_of
from lti_tool.content.loader import Content
from lti_tool.db import db
from lti_tool.events import LearningEvent
from lti_tool.learners.models import Enrolment
from lti_tool.learners.models import Learner as LearnerRow
from lti_tool.lti.models import Launch
from lti_tool.privacy import access, erasure
from lti_tool.privacy.models import AnonymisedCount
from lti_tool.training.models import Deliverable
from tests.conftest import SECOND_CLIENT_ID, LiveServer
from tests.functional.test_diagnostic import run_through
from tests.functional.test_player import Learner, take_quiz
from tests.functional.test_xapi_api import V, make_client
from tests.helpers import LtiBrowser, Platform, error_code
from xapi.models import Base as XapiBase
from xapi.models import Endpoint, OutboxRow, Statement, StatementActivity, StatementAgent

DELIVERABLE_WORD = "coopération"
PRIOR_REASON = "Dix ans de direction d'une fondation abritante."
EARLIER_REASON = "Révoqué car Prenomtest Privée a présenté le travail d'une autre personne."


def person_claims(given: str, family: str) -> dict[str, Any]:
    return {
        "name": f"{given} {family}",
        "given_name": given,
        "family_name": family,
        "email": f"{given.lower()}.{family.lower()}@example.invalid",
    }


@dataclass
class People:
    server: LiveServer
    subject: Learner
    other: Learner
    facilitator: Learner
    admin: Learner
    subject_pk: int
    other_pk: int
    context_pk: int
    family: str
    email: str
    credentials: dict[str, str]  # achievement -> id
    jwt: str  # the subject's B1 credential as issued (a verifier may hold it)

    @property
    def app(self) -> Flask:
        return self.server.app


def pk_of(app: Flask, sub: str) -> int:
    with app.app_context():
        value = db.session.scalar(select(LearnerRow.id).where(LearnerRow.sub == sub))
        db.session.remove()
    assert value is not None
    return int(value)


def follow(learner: Learner, content: Content, module_id: str, *, deliverable: bool = False) -> None:
    module = content.module(module_id)
    assert module is not None
    for number in range(1, len(module.pages) + 1):
        assert learner.get(f"/modules/{module.slug}/pages/{number}").status_code == 200
    take_quiz(learner, module, correct=len(module.quiz.questions))
    if deliverable:
        assert module.meta.deliverable is not None
        text = " ".join([DELIVERABLE_WORD] * module.meta.deliverable.min_words)
        assert learner.post(f"/modules/{module.slug}/deliverable", {"text": text}).status_code == 303


@pytest.fixture(scope="module")
def people(live_server: LiveServer) -> People:
    """In one course: the subject (modules, a quiz, a deliverable reviewed, a live session attended,
    prior learning, two autodiagnostics, credentials, one revoked earlier), another learner, a
    facilitator and an administrator of the platform."""
    app = live_server.app
    content: Content = app.extensions["socle_content"]
    platform = Platform(app.extensions["socle_demo_platform"], live_server.url)
    course = {"id": f"privacy-{time.time_ns()}", "title": "Promotion confidentialité"}
    family = "Privée" + uuid.uuid4().hex[:6]

    def launch(user: str, **claims: Any) -> Learner:
        return Learner(LtiBrowser(live_server.url, platform), user=user, context=course, **claims)

    subject = launch(
        "learner", sub=f"privacy-subject-{uuid.uuid4().hex}", **person_claims("Prenomtest", family)
    )
    other = launch(
        "learner", sub=f"privacy-other-{uuid.uuid4().hex}", **person_claims("Prenomautre", "Autre")
    )
    facilitator = launch("instructor")
    admin = launch("admin")
    subject_pk, other_pk = pk_of(app, subject.sub), pk_of(app, other.sub)
    follow(subject, content, "M1")
    follow(subject, content, "M5", deliverable=True)
    follow(other, content, "M1")
    run_through(subject, {"A": 3, "B": 2, "C": 4, "D": 1, "E": 2})
    run_through(subject, {"A": 4, "B": 3, "C": 4, "D": 2, "E": 3})
    created = facilitator.post(
        "/staff/sessions",
        {
            "kind": "atelier",
            "title": "Atelier confidentialité",
            "starts_at": "2026-12-03T14:00",
            "duration_minutes": "90",
            "module_id": "M5",
        },
    )
    assert created.status_code == 303, error_code(created)
    attendance = facilitator.post(
        created.headers["Location"].split("?")[0], {"present": [str(subject_pk), str(other_pk)]}
    )
    assert attendance.status_code == 303, error_code(attendance)
    with app.app_context():
        deliverable = db.session.scalar(select(Deliverable.id).where(Deliverable.learner_id == subject_pk))
        context_pk = db.session.scalar(select(Enrolment.context_pk).where(Enrolment.learner_id == subject_pk))
        db.session.remove()
    # assessed on its grid with one criterion under its level: the canvas goes back to the person
    m5 = content.module("M5")
    assert m5 is not None and m5.meta.deliverable is not None and m5.meta.deliverable.rubric is not None
    criteria = m5.meta.deliverable.rubric.criteria
    levels = {f"level-{c.id}": str(c.required - 1 if c is criteria[0] else c.required) for c in criteria}
    returned = facilitator.post(
        f"/staff/deliverables/{deliverable}/review",
        {"decision": "assess", "comment": "Précisez les chiffres.", **levels},
    )
    assert returned.status_code == 303, error_code(returned)
    recognised = facilitator.post(
        f"/staff/learners/{subject_pk}/prior-learning", {"module": "M3", "reason": PRIOR_REASON}
    )
    assert recognised.status_code == 303, error_code(recognised)
    with app.app_context():
        scope = issuing.learner_scope(db.session, subject_pk, int(context_pk or 0))
        ids = {
            achievement: issuing.issue(db.session, scope, content, rules_of(content), achievement, None).id
            for achievement in ("B1", "B2")
        }
        issuing.revoke(db.session, ids["B2"], EARLIER_REASON, "jury", content)
        jwt = issuing.get(db.session, ids["B1"]).jwt
        email = db.session.get(LearnerRow, subject_pk).email  # type: ignore[union-attr]
        db.session.commit()
        db.session.remove()
    return People(
        live_server,
        subject,
        other,
        facilitator,
        admin,
        subject_pk,
        other_pk,
        int(context_pk or 0),
        family,
        str(email),
        ids,
        jwt,
    )


# -- what the tests count, read from the schema (not from the code under test) -------------------------
def learner_columns() -> list[tuple[Table, Column[Any]]]:
    """Every column of every table that points at a person."""
    return [
        (table, key.parent)
        for table in db.metadata.sorted_tables
        for key in table.foreign_keys
        if key.column.table.name == "learners"
    ]


def rows_about(app: Flask, pk: int) -> dict[str, int]:
    with app.app_context():
        counts = {
            f"{table.name}.{column.name}": int(
                db.session.scalar(select(func.count()).select_from(table).where(column == pk)) or 0
            )
            for table, column in learner_columns()
        }
        counts["learners.id"] = int(
            db.session.scalar(select(func.count()).select_from(LearnerRow).where(LearnerRow.id == pk)) or 0
        )
        db.session.remove()
    return counts


def ifi_of(people: People, sub: str) -> str:
    return f"account:{people.subject.browser.platform.issuer}|{sub}"


def statement_ids(app: Flask, ifi: str, *, direct_only: bool = True) -> set[str]:
    with app.app_context():
        query = select(StatementAgent.statement_id).where(StatementAgent.ifi == ifi)
        if direct_only:
            query = query.where(StatementAgent.is_direct.is_(True))
        found = set(db.session.scalars(query))
        db.session.remove()
    return found


def occurrences(app: Flask, marker: str) -> dict[str, int]:
    """Where a string appears in the database, column by column (the demo platform's tables, which play
    the LMS, left aside)."""
    found: dict[str, int] = {}
    with app.app_context():
        for metadata in (db.metadata, XapiBase.metadata):
            for table in metadata.sorted_tables:
                if table.name.startswith("demo_"):
                    continue
                for column in table.columns:
                    if column.type.python_type not in (str, dict, list):
                        continue
                    count = db.session.scalar(
                        select(func.count()).select_from(table).where(cast(column, Text).contains(marker))
                    )
                    if count:
                        found[f"{table.name}.{column.name}"] = int(count)
        db.session.remove()
    return found


def export_via_page(people: People, learner_pk: int) -> requests.Response:
    return people.admin.get(f"/admin/privacy/learners/{learner_pk}/export.json")


# -- export ---------------------------------------------------------------------------------------------
def test_every_table_of_personal_rows_has_its_export_section() -> None:
    goes_with_person = {
        table.name
        for table in db.metadata.sorted_tables
        for key in table.foreign_keys
        if key.column.table.name == "learners" and (key.ondelete or "").upper() != "SET NULL"
    }
    assert goes_with_person <= set(access.TABLE_SECTIONS), goes_with_person - set(access.TABLE_SECTIONS)
    assert set(access.TABLE_SECTIONS.values()) <= set(access.WHY)


def put_state_about(people: People, sub: str, state_id: str) -> None:
    """An xAPI tool stores a State document about this person (their LTI account as the agent)."""
    agent = {"account": {"homePage": people.subject.browser.platform.issuer, "name": sub}}
    response = requests.put(
        people.server.url + "/xapi/activities/state",
        params={
            "activityId": "https://tool.example/activity",
            "agent": json.dumps(agent),
            "stateId": state_id,
        },
        data=json.dumps({"page": 3}),
        headers={**V, "Content-Type": "application/json"},
        auth=make_client(people.app, "all", platforms=(people.subject.browser.platform.issuer,)),
        timeout=10,
    )
    assert response.status_code == 204, response.text


def test_the_export_holds_every_row_about_the_person_and_nobody_elses(people: People) -> None:
    put_state_about(people, people.subject.sub, "bookmark")
    put_state_about(people, people.other.sub, "someone-else")
    response = export_via_page(people, people.subject_pk)
    assert response.status_code == 200, error_code(response)
    assert response.headers["Content-Type"].startswith("application/json")
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "no-store"
    data = response.json()
    sections = data["sections"]
    assert data["format"] == access.EXPORT_FORMAT
    for name, section in sections.items():
        assert section["why"]["fr"] and section["why"]["en"], name
    # As many rows in each section as the database holds about the person, table by table.
    counts = rows_about(people.app, people.subject_pk)
    for table, section in access.TABLE_SECTIONS.items():
        if table in ("learners", "xapi_statements"):
            continue
        assert len(sections[section]["data"]) == counts[f"{table}.learner_id"], table
        assert counts[f"{table}.learner_id"] > 0, f"the fixture should give the subject rows in {table}"
    statements = statement_ids(people.app, ifi_of(people, people.subject.sub))
    assert {s["id"] for s in sections["xapi_statements"]["data"]} == statements and statements
    # The documents xAPI tools stored about them, and not another person's.
    assert [(d["id"], d["content"]) for d in sections["xapi_documents"]["data"]] == [
        ("bookmark", '{"page": 3}')
    ]
    identity = sections["identity"]["data"]
    assert identity["sub"] == people.subject.sub and identity["family_name"] == people.family
    assert identity["email"] == people.email
    # What the person wrote, answered and earned is there.
    assert DELIVERABLE_WORD in sections["deliverables"]["data"][0]["text"]
    assert sections["deliverables"]["data"][0]["review_comment"] == "Précisez les chiffres."
    assert all(a["answers"] for a in sections["quiz_attempts"]["data"])
    # and which questions each attempt drew, in the order asked
    assert all(set(a["answers"]) <= set(a["questions"]) for a in sections["quiz_attempts"]["data"])
    assert sections["prior_learning"]["data"][0]["reason"] == PRIOR_REASON
    assert len(sections["diagnostic_runs"]["data"]) == 2
    documents = {c["id"]: c["document"] for c in sections["credentials"]["data"]}
    assert set(documents) == set(people.credentials.values())
    assert documents[people.credentials["B1"]]["credentialSubject"]["identifier"][0]["identityHash"].endswith(
        people.family
    )
    assert all(launch.keys().isdisjoint({"id", "browser_id"}) for launch in sections["launches"]["data"])
    # Nobody else's: not the other learner, not the facilitator's name or e-mail.
    text = response.text
    for foreign in (
        people.other.sub,
        "Prenomautre",
        "dominique.autre@example.invalid",
        "formation@demo.invalid",
    ):
        assert foreign not in text
    assert "Formateur·rice de démonstration" not in text
    assert sections["as_facilitator"]["data"] == {
        key: 0 for key in sections["as_facilitator"]["data"]
    }  # the subject is no facilitator


def test_the_export_cli_names_the_person_by_id_or_by_issuer_and_sub(people: People, tmp_path: Any) -> None:
    runner = people.app.test_cli_runner()
    by_id = runner.invoke(args=["learners", "export", "--learner-id", str(people.subject_pk)])
    assert by_id.exit_code == 0, by_id.output
    target = tmp_path / "export.json"
    by_sub = runner.invoke(
        args=[
            "learners",
            "export",
            "--issuer",
            people.subject.browser.platform.issuer,
            "--sub",
            people.subject.sub,
            "--output",
            str(target),
        ]
    )
    assert by_sub.exit_code == 0, by_sub.output
    assert target.stat().st_mode & 0o077 == 0
    first, second = json.loads(by_id.output), json.loads(target.read_text(encoding="utf-8"))
    assert first["sections"] == second["sections"]
    assert first["sections"]["identity"]["data"]["sub"] == people.subject.sub
    unknown = runner.invoke(args=["learners", "export", "--learner-id", "999999999"])
    assert unknown.exit_code != 0 and "does not exist" in unknown.output
    neither = runner.invoke(args=["learners", "export"])
    assert neither.exit_code != 0 and "--learner-id" in neither.output


def test_the_privacy_page_lists_the_course_and_finds_people_of_the_registration(people: People) -> None:
    page = people.admin.get("/admin/privacy/")
    assert page.status_code == 200 and 'data-testid="privacy"' in page.text
    assert f'data-testid="person-{people.subject_pk}"' in page.text and people.family in page.text
    found = people.admin.get("/admin/privacy/", q=people.family)
    assert f'data-testid="person-{people.subject_pk}"' in found.text
    assert f'data-testid="person-{people.other_pk}"' not in found.text
    # A search is a plain substring: "%" is no wildcard.
    assert 'data-testid="person-' not in people.admin.get("/admin/privacy/", q="%").text


# -- who may -------------------------------------------------------------------------------------------
def test_only_an_administrator_exports_or_erases(people: People) -> None:
    before = rows_about(people.app, people.subject_pk)
    for who, code in ((people.facilitator, "admin_only"), (people.other, "staff_only")):
        for method, path in (
            ("GET", "/admin/privacy/"),
            ("GET", f"/admin/privacy/learners/{people.subject_pk}/export.json"),
            ("GET", f"/admin/privacy/learners/{people.subject_pk}/erase"),
            ("POST", f"/admin/privacy/learners/{people.subject_pk}/erase"),
        ):
            response = who.get(path) if method == "GET" else who.post(path, {"confirm": "EFFACER"})
            assert (response.status_code, error_code(response)) == (403, code), (path, code)
    assert rows_about(people.app, people.subject_pk) == before


def test_an_administrator_of_another_registration_finds_nobody(people: People) -> None:
    platform = people.subject.browser.platform
    stranger = Learner(
        LtiBrowser(people.server.url, platform),
        user="admin",
        via=SECOND_CLIENT_ID,
        context={"id": f"elsewhere-{time.time_ns()}", "title": "Ailleurs"},
    )
    before = rows_about(people.app, people.subject_pk)
    for path in ("export.json", "erase"):
        assert stranger.get(f"/admin/privacy/learners/{people.subject_pk}/{path}").status_code == 404
    refused = stranger.post(f"/admin/privacy/learners/{people.subject_pk}/erase", {"confirm": "EFFACER"})
    assert refused.status_code == 404
    found = stranger.get("/admin/privacy/", q=people.family).text
    assert f'data-testid="person-{people.subject_pk}"' not in found and people.email not in found
    assert rows_about(people.app, people.subject_pk) == before


def test_a_person_of_two_registrations_is_left_to_the_operator(people: People) -> None:
    platform = people.subject.browser.platform
    sub = f"privacy-both-{uuid.uuid4().hex}"
    course = {"id": f"both-{time.time_ns()}", "title": "Deux inscriptions"}
    Learner(LtiBrowser(people.server.url, platform), sub=sub, context=course)
    Learner(LtiBrowser(people.server.url, platform), sub=sub, via=SECOND_CLIENT_ID, context=course)
    admin = Learner(LtiBrowser(people.server.url, platform), user="admin", context=course)
    response = admin.get(f"/admin/privacy/learners/{pk_of(people.app, sub)}/export.json")
    assert (response.status_code, error_code(response)) == (409, "other_registrations")


def test_an_administrator_cannot_erase_their_own_account(people: People) -> None:
    admin_pk = pk_of(people.app, people.admin.sub)
    response = people.admin.post(f"/admin/privacy/learners/{admin_pk}/erase", {"confirm": "EFFACER"})
    assert (response.status_code, error_code(response)) == (409, "own_account")
    assert rows_about(people.app, admin_pk)["learners.id"] == 1


# -- erasure -------------------------------------------------------------------------------------------
def test_the_erasure_page_says_what_goes_and_wants_the_name_typed(people: People) -> None:
    page = people.admin.get(f"/admin/privacy/learners/{people.subject_pk}/erase")
    assert page.status_code == 200 and 'data-testid="preview"' in page.text
    assert people.credentials["B1"] in page.text and "tentatives de quiz" in page.text
    before = rows_about(people.app, people.subject_pk)
    wrong = people.admin.post(f"/admin/privacy/learners/{people.subject_pk}/erase", {"confirm": "Prenomtest"})
    assert wrong.status_code == 400 and 'data-testid="mismatch"' in wrong.text
    assert rows_about(people.app, people.subject_pk) == before


@pytest.fixture(scope="module")
def erased(people: People) -> Iterator[dict[str, Any]]:
    """The subject erased from the administrator's page (their displayed name typed); what was there
    before."""
    app = people.app
    statements = statement_ids(app, ifi_of(people, people.subject.sub))
    with app.app_context():
        endpoint = Endpoint(
            name="LRS de l'université", url="https://lrs.example.invalid/xAPI", is_active=False
        )
        db.session.add(endpoint)
        db.session.flush()
        # One statement already delivered to an external LRS: the erasure names that LRS.
        db.session.add(
            OutboxRow(statement_id=sorted(statements)[0], endpoint_id=endpoint.id, status="delivered")
        )
        endpoint_id = endpoint.id
        db.session.commit()
        db.session.remove()
    other_before = rows_about(app, people.other_pk)
    other_statements = statement_ids(app, ifi_of(people, people.other.sub))
    response = people.admin.post(
        f"/admin/privacy/learners/{people.subject_pk}/erase",
        {"confirm": f"  prenomtest {people.family.upper()} "},
    )
    assert response.status_code == 303, error_code(response)
    done = people.admin.browser.http.get(urljoin(people.server.url, response.headers["Location"]))
    yield {
        "statements": statements,
        "other_before": other_before,
        "other_statements": other_statements,
        "done": done,
    }
    with app.app_context():
        db.session.execute(delete(Endpoint).where(Endpoint.id == endpoint_id))
        db.session.commit()
        db.session.remove()


def test_erasure_removes_the_person_from_every_table(people: People, erased: dict[str, Any]) -> None:
    assert 'data-testid="erased"' in erased["done"].text
    assert "LRS de l&#39;université" in erased["done"].text
    counts = rows_about(people.app, people.subject_pk)
    assert counts == {key: 0 for key in counts}
    # The statements, their index rows and their outbox rows are gone; none names the person any more.
    app = people.app
    with app.app_context():
        for model, column in (
            (Statement, Statement.id),
            (StatementAgent, StatementAgent.statement_id),
            (StatementActivity, StatementActivity.statement_id),
            (OutboxRow, OutboxRow.statement_id),
        ):
            left = db.session.scalar(
                select(func.count()).select_from(model).where(column.in_(erased["statements"]))
            )
            assert left == 0, model.__tablename__
        db.session.remove()
    assert statement_ids(app, ifi_of(people, people.subject.sub), direct_only=False) == set()
    # Nowhere in the database: not their LTI id, e-mail or name.
    for marker in (people.subject.sub, people.email, people.family, f"{DELIVERABLE_WORD} {DELIVERABLE_WORD}"):
        assert occurrences(app, marker) == {}, marker


def test_erasure_leaves_the_other_people_untouched(people: People, erased: dict[str, Any]) -> None:
    assert rows_about(people.app, people.other_pk) == erased["other_before"]
    assert statement_ids(people.app, ifi_of(people, people.other.sub)) == erased["other_statements"]
    assert people.other.get("/learner/").status_code == 200
    assert rows_about(people.app, pk_of(people.app, people.facilitator.sub))["learners.id"] == 1


def test_erased_credentials_answer_revoked_to_verifiers(people: People, erased: dict[str, Any]) -> None:
    url = people.server.url
    for achievement, credential_id in people.credentials.items():
        page = requests.get(f"{url}/verify/{credential_id}", timeout=10)
        assert page.status_code == 200 and 'data-status="revoked"' in page.text, achievement
        assert erasure.ERASURE_REASON.replace("'", "&#39;") in page.text
        assert people.family not in page.text and "Prenomtest" not in page.text
        assert "acquis antérieurs" not in page.text  # no results shown without the holder's
        assert requests.get(f"{url}/verify/{credential_id}/certificate.pdf", timeout=10).status_code == 410
        # nothing signed is left to download, and the page lists no failing check
        for name in ("credential.json", "credential.jwt", "evidence.pdf", "evidence.json"):
            gone = requests.get(f"{url}/verify/{credential_id}/{name}", timeout=10)
            assert gone.status_code == 410 and 'data-error-code="erased"' in gone.text, name
        assert "invalide" not in page.text
    with people.app.app_context():
        kept = {
            c.id: c
            for c in db.session.scalars(
                select(Credential).where(Credential.id.in_(people.credentials.values()))
            )
        }
        entries = {c.id: (c.status_list, c.status_index) for c in kept.values()}
        assert all(c.jwt == "" and c.revoked_at is not None for c in kept.values())
        db.session.remove()
    for number, index in entries.values():
        listed = requests.get(f"{url}/credentials/status/{number}", timeout=10).json()
        assert ob.is_set(ob.decode_list(listed["credentialSubject"]["encodedList"]), index)
    # A verifier holding the signed credential (as a VC-JWT) is told it is revoked.
    pasted = requests.post(f"{url}/verify", data={"credential": people.jwt}, timeout=10)
    assert 'data-status="revoked"' in pasted.text


def test_erasure_keeps_anonymised_counts_only(people: People, erased: dict[str, Any]) -> None:
    with people.app.app_context():
        rows = db.session.scalars(
            select(AnonymisedCount).where(AnonymisedCount.context_pk == people.context_pk)
        ).all()
        counts = {(r.kind, r.code): r.total for r in rows}
        months = {r.month for r in rows}
        db.session.remove()
    assert counts[("learner", "")] == 1
    assert counts[("module_completed", "M1")] == 1
    assert sum(n for (kind, _), n in counts.items() if kind == "diagnostic_submitted") == 2
    assert months == {datetime.now(UTC).strftime("%Y-%m")}


def test_the_erased_person_is_unknown_afterwards(people: People, erased: dict[str, Any]) -> None:
    assert people.admin.get(f"/admin/privacy/learners/{people.subject_pk}/export.json").status_code == 404
    assert people.admin.get(f"/admin/privacy/learners/{people.subject_pk}/erase").status_code == 404
    # Their open launch is gone with them.
    assert people.subject.get("/learner/").status_code == 401


# -- the CLI -------------------------------------------------------------------------------------------
def test_the_erase_cli_asks_unless_told_yes(people: People) -> None:
    platform = people.subject.browser.platform
    learner = Learner(LtiBrowser(people.server.url, platform), sub=f"privacy-cli-{uuid.uuid4().hex}")
    pk = pk_of(people.app, learner.sub)
    runner = people.app.test_cli_runner()
    args = ["learners", "erase", "--issuer", platform.issuer, "--sub", learner.sub]
    declined = runner.invoke(args=args, input="n\n")
    assert declined.exit_code != 0 and rows_about(people.app, pk)["learners.id"] == 1
    done = runner.invoke(args=[*args, "--yes"])
    assert done.exit_code == 0, done.output
    assert f"Erased learner {pk}" in done.output
    counts = rows_about(people.app, pk)
    assert counts == {key: 0 for key in counts}
    assert statement_ids(people.app, ifi_of(people, learner.sub)) == set()
    again = runner.invoke(args=["learners", "erase", "--learner-id", str(pk), "--yes"])
    assert again.exit_code != 0 and "does not exist" in again.output


# -- retention -----------------------------------------------------------------------------------------
def backdate(app: Flask, pk: int, days: int) -> None:
    """Move every trace of a person's activity ``days`` into the past."""
    moment = datetime.now(UTC) - timedelta(days=days)
    with app.app_context():
        db.session.execute(
            update(LearnerRow).where(LearnerRow.id == pk).values(created_at=moment, last_launch_at=moment)
        )
        db.session.execute(
            update(Enrolment)
            .where(Enrolment.learner_id == pk)
            .values(first_launch_at=moment, last_launch_at=moment, roster_seen_at=None)
        )
        db.session.execute(
            update(LearningEvent).where(LearningEvent.learner_id == pk).values(occurred_at=moment)
        )
        db.session.execute(
            update(Launch)
            .where(Launch.learner_id == pk)
            .values(created_at=moment, expires_at=moment + timedelta(hours=8))
        )
        db.session.commit()
        db.session.remove()


def test_the_purge_applies_the_retention_settings(people: People) -> None:
    app = people.app
    platform = people.subject.browser.platform
    content: Content = app.extensions["socle_content"]
    dormant = Learner(LtiBrowser(people.server.url, platform), sub=f"privacy-dormant-{uuid.uuid4().hex}")
    graduate = Learner(LtiBrowser(people.server.url, platform), sub=f"privacy-graduate-{uuid.uuid4().hex}")
    active = Learner(LtiBrowser(people.server.url, platform), sub=f"privacy-active-{uuid.uuid4().hex}")
    dormant_pk, graduate_pk, active_pk = (pk_of(app, x.sub) for x in (dormant, graduate, active))
    with app.app_context():
        context_pk = db.session.scalar(
            select(Enrolment.context_pk).where(Enrolment.learner_id == graduate_pk)
        )
        scope = issuing.learner_scope(db.session, graduate_pk, int(context_pk or 0))
        issuing.issue(db.session, scope, content, rules_of(content), "B1", None)
        db.session.commit()
        db.session.remove()
    backdate(app, dormant_pk, 800)
    backdate(app, graduate_pk, 800)
    # An old launch of someone still active: past RETENTION_DAYS_LAUNCHES, even if not expired yet.
    with app.app_context():
        db.session.execute(
            update(Launch)
            .where(Launch.learner_id == active_pk)
            .values(created_at=datetime.now(UTC) - timedelta(days=40))
        )
        db.session.commit()
        db.session.remove()
    runner = app.test_cli_runner()
    app.config["RETENTION_DAYS_INACTIVE_LEARNERS"] = 730
    try:
        dry = runner.invoke(args=["privacy", "purge", "--dry-run"])
        assert dry.exit_code == 0, dry.output
        assert "Would erase" in dry.output and "Kept 1 inactive person" in dry.output
        assert rows_about(app, dormant_pk)["learners.id"] == 1
        done = runner.invoke(args=["privacy", "purge"])
        assert done.exit_code == 0, done.output
    finally:
        app.config.pop("RETENTION_DAYS_INACTIVE_LEARNERS")
    counts = rows_about(app, dormant_pk)
    assert counts == {key: 0 for key in counts}
    assert rows_about(app, graduate_pk)["learners.id"] == 1  # their credential stays verifiable
    assert rows_about(app, active_pk)["learners.id"] == 1
    assert rows_about(app, active_pk)["lti_launches.learner_id"] == 0
    kept = runner.invoke(args=["privacy", "purge"])
    assert "People are kept" in kept.output
    app.config["RETENTION_DAYS_INACTIVE_LEARNERS"] = 0
    try:
        wrong = runner.invoke(args=["privacy", "purge"])
        assert wrong.exit_code != 0 and "RETENTION_DAYS_INACTIVE_LEARNERS" in wrong.output
    finally:
        app.config.pop("RETENTION_DAYS_INACTIVE_LEARNERS")


def test_lti_purge_is_privacy_purge_under_its_older_name(people: People) -> None:
    """Crontabs that still run `lti purge` get the retention rules too, not only the expired rows."""
    app = people.app
    platform = people.subject.browser.platform
    someone = Learner(LtiBrowser(people.server.url, platform), sub=f"privacy-old-name-{uuid.uuid4().hex}")
    someone_pk = pk_of(app, someone.sub)
    # A launch past RETENTION_DAYS_LAUNCHES but not expired: the older `lti purge` kept it.
    with app.app_context():
        db.session.execute(
            update(Launch)
            .where(Launch.learner_id == someone_pk)
            .values(created_at=datetime.now(UTC) - timedelta(days=40))
        )
        db.session.commit()
        db.session.remove()
    runner = app.test_cli_runner()
    dry = runner.invoke(args=["lti", "purge", "--dry-run"])
    assert dry.exit_code == 0 and "Would delete" in dry.output, dry.output
    assert rows_about(app, someone_pk)["lti_launches.learner_id"] == 1
    done = runner.invoke(args=["lti", "purge"])
    assert done.exit_code == 0, done.output
    assert rows_about(app, someone_pk)["lti_launches.learner_id"] == 0
    assert rows_about(app, someone_pk)["learners.id"] == 1
