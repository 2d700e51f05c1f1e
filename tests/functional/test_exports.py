"""Exports over real HTTP: the CSV tables, the jury ZIP and the Moodle framework, their contents, and who may
download what. Two courses of the demo platform's registration (A and B), and a course of another
registration of the same issuer (C, with the same LTI context id as A); instructors of A and B, a site
administrator, learners in each."""

from __future__ import annotations

import csv
import io
import json
import time
import zipfile
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from flask import Flask
from pypdf import PdfReader
from sqlalchemy import select

from lti_tool.certificates import evidence
from lti_tool.certificates.models import Credential
from lti_tool.competences.services import track_of
from lti_tool.content.loader import Content
from lti_tool.dashboard.scope import StaffScope
from lti_tool.db import db
from lti_tool.exports import selection, writing
from lti_tool.learners.models import Context, Enrolment
from lti_tool.learners.models import Learner as LearnerRow
from lti_tool.training.models import LiveSession
from tests.conftest import SECOND_CLIENT_ID, LiveServer
from tests.functional.test_competences import (
    assess,
    deliverable_ids,
    follow_module,
    learner_id,
    plan_and_attend,
)
from tests.functional.test_player import Learner
from tests.helpers import LtiBrowser, Platform, error_code

CSV_ROUTES = (
    "/staff/exports/learners-modules.csv",
    "/staff/exports/learners-competences.csv",
    "/staff/exports/attendance.csv",
    "/staff/exports/jury-summary.csv",
)
ALL_ROUTES = (
    "/staff/exports/",
    *CSV_ROUTES,
    "/staff/exports/jury",
    "/staff/exports/jury.zip",
    "/staff/exports/framework.csv",
)
# framework_importer::list_required_headers() of Moodle's tool_lpimportcsv, in English.
MOODLE_REQUIRED_HEADERS = [
    "Parent ID number",
    "ID number",
    "Short name",
    "Description",
    "Description format",
    "Scale values",
    "Scale configuration",
    "Rule type (optional)",
    "Rule outcome (optional)",
    "Rule config (optional)",
    "Cross-referenced competency ID numbers",
    "Exported ID (optional)",
    "Is framework",
    "Taxonomy",
]
FORMULAS = {"given_name": "=1+2", "family_name": "@SUM(A1:A9)", "name": "-2+3", "email": "+33@example.org"}


@dataclass
class Cohort:
    app: Flask
    content: Content
    instructor_a: Learner
    instructor_b: Learner
    admin: Learner
    alice: Learner
    bob: Learner
    mallory: Learner
    bea: Learner
    cyril: Learner
    pks: dict[str, int]  # sub -> learner id
    contexts: dict[str, int]  # "A", "B", "C" -> context pk
    sessions: dict[str, int]  # "A", "B" -> live session id

    @property
    def course_a_subs(self) -> set[str]:
        """The learners who launched from course A (its roster, read from the platform, adds others)."""
        return {self.alice.sub, self.bob.sub, self.mallory.sub}


def context_pk(app: Flask, learner_pk: int, lti_context_id: str) -> int:
    with app.app_context():
        value = db.session.scalar(
            select(Enrolment.context_pk)
            .join(Context, Context.id == Enrolment.context_pk)
            .where(Enrolment.learner_id == learner_pk, Context.lti_context_id == lti_context_id)
        )
        db.session.remove()
    assert value is not None
    return int(value)


def session_of(app: Flask, context: int) -> int:
    with app.app_context():
        value = db.session.scalar(select(LiveSession.id).where(LiveSession.context_pk == context))
        db.session.remove()
    assert value is not None
    return int(value)


@pytest.fixture(scope="module")
def cohort(live_server: LiveServer) -> Cohort:
    app = live_server.app
    content: Content = app.extensions["socle_content"]
    platform = Platform(app.extensions["socle_demo_platform"], live_server.url)

    def person(user: str = "learner", **claims: Any) -> Learner:
        return Learner(LtiBrowser(live_server.url, platform), user=user, **claims)

    stamp = time.time_ns()
    course_a = {"id": f"exports-a-{stamp}", "title": "Promotion DU A"}
    course_b = {"id": f"exports-b-{stamp}", "title": "Promotion DU B"}
    # Another registration of the same issuer, with the same LTI context id as course A.
    course_c = {"id": course_a["id"], "title": "Promotion DU A (autre inscription)"}
    instructor_a = person("instructor", context=course_a)
    instructor_b = person("instructor", context=course_b)
    admin = person("admin", context=course_a)
    alice = person(
        context=course_a,
        given_name="Alice",
        family_name="Martin",
        name="Alice Martin",
        email="alice@example.org",
    )
    bob = person(context=course_a, given_name="Bob", family_name="Durand", name="Bob Durand")
    mallory = person(context=course_a, **FORMULAS)
    bea = person(context=course_b, given_name="Béa", family_name="Bernard", name="Béa Bernard")
    cyril = person(context=course_c, via=SECOND_CLIENT_ID, given_name="Cyril", family_name="Petit")
    pks = {who.sub: learner_id(app, who.sub) for who in (alice, bob, mallory, bea, cyril)}
    # Alice earns bloc B1 (C1 and C2: modules M1, M2, M7 and her M2 diagnosis assessed); Bob starts M1 and
    # hands in M5's deliverable.
    for module_id in ("M1", "M2", "M7"):
        follow_module(alice, content, module_id)
    assessed = assess(instructor_a, content, "M2", deliverable_ids(app, pks[alice.sub])["M2"])
    assert assessed.status_code == 303
    assert bob.get("/modules/fondamentaux/pages/1").status_code == 200
    follow_module(bob, content, "M5")
    plan_and_attend(instructor_a, "M5", pks[alice.sub])
    plan_and_attend(instructor_b, "M8", pks[bea.sub])
    contexts = {
        "A": context_pk(app, pks[alice.sub], course_a["id"]),
        "B": context_pk(app, pks[bea.sub], course_b["id"]),
        "C": context_pk(app, pks[cyril.sub], course_c["id"]),
    }
    assert contexts["A"] != contexts["C"]
    sessions = {"A": session_of(app, contexts["A"]), "B": session_of(app, contexts["B"])}
    return Cohort(
        app,
        content,
        instructor_a,
        instructor_b,
        admin,
        alice,
        bob,
        mallory,
        bea,
        cyril,
        pks,
        contexts,
        sessions,
    )


def table(response: requests.Response) -> list[dict[str, str]]:
    """A CSV export read back as Excel in France would: UTF-8 with BOM, ";" between cells."""
    assert response.status_code == 200, error_code(response)
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.content.startswith("\ufeff".encode())
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))


def subs_in(rows: list[dict[str, str]]) -> set[str]:
    return {row["Apprenant·e (identifiant LMS)"] for row in rows}


def rows_of(rows: list[dict[str, str]], who: Learner) -> list[dict[str, str]]:
    return [row for row in rows if row["Apprenant·e (identifiant LMS)"] == who.sub]


def unzip(response: requests.Response) -> zipfile.ZipFile:
    assert response.status_code == 200, error_code(response)
    assert response.headers["Content-Type"] == "application/zip"
    return zipfile.ZipFile(io.BytesIO(response.content))


# -- who sees what --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", CSV_ROUTES)
def test_an_instructor_exports_their_course_and_nothing_of_another(cohort: Cohort, path: str) -> None:
    response = cohort.instructor_a.get(path)
    rows = table(response)
    assert response.headers["Content-Disposition"].startswith('attachment; filename="socle-')
    assert response.headers["Cache-Control"] == "no-store"
    assert cohort.course_a_subs <= subs_in(rows)
    assert not subs_in(rows) & {cohort.bea.sub, cohort.cyril.sub}
    assert {row["Cours"] for row in rows} == {"Promotion DU A"}


@pytest.mark.parametrize("path", CSV_ROUTES)
def test_an_admin_exports_every_course_of_the_registration_and_nothing_of_another(
    cohort: Cohort, path: str
) -> None:
    everyone = subs_in(table(cohort.admin.get(path)))
    assert {cohort.alice.sub, cohort.bob.sub, cohort.bea.sub} <= everyone
    assert cohort.cyril.sub not in everyone
    assert not any(sub.startswith(("instructor-", "admin-")) for sub in everyone)
    only_b = subs_in(table(cohort.admin.get(path, context=cohort.contexts["B"])))
    assert cohort.bea.sub in only_b and not only_b & (cohort.course_a_subs | {cohort.cyril.sub})


def test_the_jury_zip_of_an_instructor_holds_only_their_course(cohort: Cohort) -> None:
    archive = unzip(cohort.instructor_a.get("/staff/exports/jury.zip"))
    summary = list(
        csv.DictReader(io.StringIO(archive.read("synthese.csv").decode("utf-8-sig")), delimiter=";")
    )
    assert cohort.course_a_subs <= subs_in(summary)
    assert not subs_in(summary) & {cohort.bea.sub, cohort.cyril.sub}
    pdfs = [name for name in archive.namelist() if name.endswith(".pdf")]
    assert sorted(pdfs) == sorted(row["Dossier de preuves"] for row in summary)
    assert all(name.startswith(f"dossiers/{cohort.contexts['A']}-promotion-du-a/") for name in pdfs)


@pytest.mark.parametrize(
    ("who", "path", "params"),
    [
        ("instructor_a", "/staff/exports/learners-modules.csv", {"context": "B"}),
        ("instructor_a", "/staff/exports/jury.zip", {"context": "B"}),
        ("instructor_a", "/staff/exports/jury", {"context": "B"}),
        ("instructor_a", "/staff/exports/jury.zip", {"learner": "bea"}),
        ("instructor_a", "/staff/exports/learners-competences.csv", {"learner": "bea"}),
        ("instructor_a", "/staff/exports/attendance.csv", {"session": "B"}),
        ("instructor_a", "/staff/exports/jury.zip", {"learner": "cyril"}),
        ("instructor_b", "/staff/exports/jury.zip", {"context": "B", "learner": "alice"}),
        ("admin", "/staff/exports/learners-modules.csv", {"context": "C"}),
        ("admin", "/staff/exports/jury.zip", {"learner": "cyril"}),
        ("admin", "/staff/exports/jury.zip", {"context": "B", "learner": "alice"}),
        ("admin", "/staff/exports/learners-modules.csv", {"context": "x1"}),
        ("admin", "/staff/exports/attendance.csv", {"session": "-1"}),
        ("admin", "/staff/exports/attendance.csv", {"context": "A", "session": "B"}),
    ],
)
def test_ids_outside_the_launch_scope_answer_404(
    cohort: Cohort, who: str, path: str, params: dict[str, str]
) -> None:
    names = {"alice": cohort.alice, "bea": cohort.bea, "cyril": cohort.cyril}
    query: dict[str, Any] = {}
    for name, value in params.items():
        if name == "context":
            query[name] = cohort.contexts.get(value, value)
        elif name == "session":
            query[name] = cohort.sessions.get(value, value)
        else:
            query[name] = cohort.pks[names[value].sub]
    response = getattr(cohort, who).get(path, **query)
    assert response.status_code == 404
    assert error_code(response) == "not_found"
    assert "Content-Disposition" not in response.headers


@pytest.mark.parametrize("path", ALL_ROUTES)
def test_a_learner_cannot_open_any_export(cohort: Cohort, path: str) -> None:
    response = cohort.alice.get(path)
    assert response.status_code == 403
    assert error_code(response) == "staff_only"


@pytest.mark.parametrize("path", ALL_ROUTES)
def test_exports_need_a_launch(cohort: Cohort, path: str) -> None:
    response = requests.get(cohort.alice.browser.base_url + path, timeout=10)
    assert response.status_code in (401, 403)
    assert "Content-Disposition" not in response.headers


def test_the_exports_page_lists_the_visible_courses_only(cohort: Cohort) -> None:
    page = cohort.instructor_a.get("/staff/exports/")
    assert page.status_code == 200
    assert f'data-testid="course-{cohort.contexts["A"]}"' in page.text
    assert f'data-testid="course-{cohort.contexts["B"]}"' not in page.text
    assert f"session={cohort.sessions['A']}" in page.text
    admin = cohort.admin.get("/staff/exports/")
    assert f'data-testid="course-{cohort.contexts["A"]}"' in admin.text
    assert f'data-testid="course-{cohort.contexts["B"]}"' in admin.text
    assert f'data-testid="course-{cohort.contexts["C"]}"' not in admin.text
    jury = cohort.instructor_a.get("/staff/exports/jury")
    assert jury.status_code == 200
    assert f'value="{cohort.pks[cohort.alice.sub]}"' in jury.text
    assert f'value="{cohort.pks[cohort.bea.sub]}"' not in jury.text


# -- contents ---------------------------------------------------------------------------------------------------
def test_learner_by_module_rows_say_where_each_learner_is(cohort: Cohort) -> None:
    rows = table(cohort.instructor_a.get("/staff/exports/learners-modules.csv"))
    alice = {row["Module"]: row for row in rows_of(rows, cohort.alice)}
    assert list(alice) == [module.id for module in cohort.content.modules]
    m1 = cohort.content.module("M1")
    assert m1 is not None
    assert alice["M1"]["Statut"] == "terminé"
    assert alice["M1"]["Meilleur score (%)"] == "100,0"
    assert alice["M1"]["Quiz réussi"] == "oui"
    assert alice["M1"]["Pages lues"] == alice["M1"]["Pages"] == str(len(m1.pages))
    assert alice["M1"]["Nom"] == "Martin" and alice["M1"]["Prénom"] == "Alice"
    assert alice["M1"]["E-mail"] == "alice@example.org"
    assert alice["M1"]["Référence Socle"] == evidence.identity.subject_id(
        cohort.alice.browser.platform.issuer, cohort.alice.sub
    ).removeprefix("urn:uuid:")
    assert alice["M3"]["Statut"] == "non commencé" and alice["M3"]["Commencé le"] == ""
    assert alice["M5"]["Livrable"] == "non déposé"
    bob = {row["Module"]: row for row in rows_of(rows, cohort.bob)}
    assert bob["M1"]["Statut"] == "en cours" and bob["M1"]["Pages lues"] == "1"
    assert bob["M5"]["Livrable"] == "à examiner"
    assert bob["M5"]["Statut"] == "en cours"  # the live session and the review are still missing


def test_learner_by_competence_rows_come_from_the_mastery_states(cohort: Cohort) -> None:
    rows = table(cohort.instructor_a.get("/staff/exports/learners-competences.csv"))
    alice = {row["Code"]: row for row in rows_of(rows, cohort.alice)}
    assert list(alice) == ["B1", "C1", "C2", "B2", "C3", "C4", "C5", "B3", "C6", "C7", "B4", "C8", "C9"]
    assert alice["B1"]["Niveau"] == "bloc" and alice["B1"]["Statut"] == "acquis"
    assert alice["B1"]["Acquis le"][:4].isdigit()
    assert alice["C1"]["Statut"] == "acquis" and alice["C1"]["Score pondéré (%)"] == "100,0"
    assert alice["C1"]["Seuil (%)"] == "70" and alice["C1"]["Bloc"] == "B1"
    assert alice["C3"]["Statut"] == "non commencé" and alice["C3"]["Score pondéré (%)"] == ""
    assert {row["Parcours"] for row in alice.values()} == {"Parcours fundraiser"}
    assert all(row["Dans le parcours"] == "oui" for row in alice.values())


def test_attendance_is_per_session_with_everyone_of_the_course(cohort: Cohort) -> None:
    session = cohort.sessions["A"]
    rows = table(cohort.instructor_a.get("/staff/exports/attendance.csv", session=session))
    assert {row["Séance"] for row in rows} == {str(session)}
    marks = {row["Apprenant·e (identifiant LMS)"]: row["Présence"] for row in rows}
    assert cohort.course_a_subs <= set(marks) and cohort.bea.sub not in marks
    assert marks[cohort.alice.sub] == "présent·e"
    assert marks[cohort.bob.sub] == marks[cohort.mallory.sub] == "non renseignée"
    alice = rows_of(rows, cohort.alice)[0]
    assert alice["Module"] == "M5" and alice["Durée (min)"] == "120" and alice["Enregistrée le"]
    assert alice["Début"] == "2026-12-03 14:00"  # entered in Paris time, exported in Paris time


def test_the_jury_summary_gives_blocs_credentials_and_hours_as_the_evidence_file(cohort: Cohort) -> None:
    app = cohort.app
    rows = table(cohort.instructor_a.get("/staff/exports/jury-summary.csv"))
    alice = rows_of(rows, cohort.alice)[0]
    with app.app_context():
        credential = db.session.scalar(
            select(Credential).where(
                Credential.learner_id == cohort.pks[cohort.alice.sub], Credential.achievement == "B1"
            )
        )
        assert credential is not None
        followed = {
            row["Apprenant·e (identifiant LMS)"]: evidence.activity(
                db.session,
                learner_id(app, row["Apprenant·e (identifiant LMS)"]),
                cohort.contexts["A"],
                cohort.content,
            )
            for row in rows
        }
        db.session.remove()
    assert alice["B1"] == "acquis" and alice["B1 certificat (identifiant)"] == credential.id
    assert alice["B2"] == "en cours" and alice["B2 certificat (identifiant)"] == ""
    assert alice["Certificat d'aptitude"] == "en cours"
    assert alice["Séances en direct suivies"] == "1" and alice["Heures de séances en direct"] == "2,00"
    minutes = sum(m.meta.duration_minutes for m in cohort.content.modules if m.id in ("M1", "M2", "M7"))
    assert alice["Heures suivies (modules terminés)"] == f"{minutes / 60:.2f}".replace(".", ",")
    for row in rows:
        hours = followed[row["Apprenant·e (identifiant LMS)"]].hours
        assert row["Heures suivies (modules terminés)"] == f"{hours:.2f}".replace(".", ",")


def test_the_jury_zip_for_chosen_learners_holds_their_evidence_files(cohort: Cohort) -> None:
    response = cohort.instructor_a.get(
        "/staff/exports/jury.zip", context=cohort.contexts["A"], learner=cohort.pks[cohort.alice.sub]
    )
    assert "Content-Length" not in response.headers  # streamed as it is produced
    archive = unzip(response)
    assert archive.testzip() is None
    summary = list(
        csv.DictReader(io.StringIO(archive.read("synthese.csv").decode("utf-8-sig")), delimiter=";")
    )
    assert subs_in(summary) == {cohort.alice.sub}
    name = summary[0]["Dossier de preuves"]
    assert name.endswith(".pdf") and "/alice-martin-" in name
    assert sorted(archive.namelist()) == sorted(["synthese.csv", name, name.removesuffix(".pdf") + ".json"])
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(archive.read(name))).pages)
    assert "Alice Martin" in text and "C1" in text
    document = json.loads(archive.read(name.removesuffix(".pdf") + ".json"))
    assert document["format"] == "socle-evidence"
    assert document["learner"]["ref"] == summary[0]["Référence Socle"]
    assert summary[0]["B1 certificat (identifiant)"] in {c["id"] for c in document["credentials"]}


def test_formulas_in_names_are_neutralised_in_every_csv(cohort: Cohort) -> None:
    for path in CSV_ROUTES:
        rows = rows_of(table(cohort.instructor_a.get(path)), cohort.mallory)
        assert rows, path
        for row in rows:
            assert row["Prénom"] == "'=1+2"
            assert row["Nom"] == "'@SUM(A1:A9)"
            assert row["E-mail"] == "'+33@example.org"
            assert not any(value.startswith(writing.FORMULA_STARTS) for value in row.values())
    assert writing.neutralise("-2+3") == "'-2+3"
    assert writing.neutralise("\t=1") == "'\t=1"
    assert writing.neutralise("Alice") == "Alice"


def test_csv_chunks_join_to_the_whole_file() -> None:
    rows = [[str(n), 'é;"x"\nsuite'] for n in range(10)]
    chunks = list(writing.csv_chunks(["n", "texte"], rows, rows_per_chunk=3))
    assert len(chunks) == 4
    assert b"".join(chunks) == writing.csv_bytes(["n", "texte"], rows)
    back = list(csv.reader(io.StringIO(b"".join(chunks).decode("utf-8-sig")), delimiter=";"))
    assert back == [["n", "texte"], *rows]


def test_tracks_and_hours_of_the_whole_registration_equal_the_per_learner_rules(cohort: Cohort) -> None:
    """The cohort-wide reads reproduce ``track_of`` and ``evidence.activity`` for every learner."""
    app = cohort.app
    with app.app_context():
        platform_id = db.session.scalar(
            select(LearnerRow.platform_id).where(LearnerRow.id == cohort.pks[cohort.alice.sub])
        )
        assert platform_id is not None
        scope = StaffScope(platform_id, None, cohort.contexts["A"])
        people = selection.members(db.session, scope)
        tracks = selection.tracks(db.session, scope, cohort.content)
        hours = selection.followed(db.session, scope, cohort.content)
        assert len(people) >= 4
        for member in people:
            learner, context = member.key
            assert tracks.get(member.key, "fundraiser") == track_of(
                db.session, learner, context, cohort.content
            )
            activity = evidence.activity(db.session, learner, context, cohort.content)
            found = hours.get(member.key)
            assert (found.first_at if found else None) == activity.first_at
            assert (found.hours if found else 0.0) == activity.hours
        db.session.remove()


# -- the framework for Moodle ---------------------------------------------------------------------------------
def moodle_import(data: bytes) -> dict[str, Any]:
    """What Moodle's tool_lpimportcsv does with the file (csv_import_reader, then framework_importer): drop
    the BOM, read with the chosen delimiter, every row as many cells as the header, map the columns by
    position, take the row with "Is framework" set as the framework and hang each competency under its parent
    ID number ('' for the framework's top level); competencies without an ID number or short name are
    skipped."""
    text = data.decode("utf-8")
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").strip()
    lines = list(csv.reader(io.StringIO(text), delimiter=";"))
    header, records = lines[0], lines[1:]
    assert all(len(row) == len(header) for row in lines), "csvweirdcolumns"
    framework: dict[str, Any] | None = None
    flat: dict[str, dict[str, Any]] = {}
    for cells in records:
        record = dict(zip(["parent", "idnumber", "shortname", "description", "format", "scalevalues",
                           "scaleconfiguration", "ruletype", "ruleoutcome", "ruleconfig", "related",
                           "exportid", "isframework", "taxonomies"], cells, strict=True))  # fmt: skip
        if record["isframework"] not in ("", "0"):
            framework = {**record, "children": []}
        else:
            flat[record["idnumber"]] = {**record, "children": []}
    assert framework is not None, "invalidimportfile"

    def add_children(node: dict[str, Any], parent: str) -> None:
        for competency in flat.values():
            if competency["parent"] == parent:
                node["children"].append(competency)
                add_children(competency, competency["idnumber"])

    add_children(framework, "")
    return {"header": header, "framework": framework, "flat": flat}


def test_the_framework_is_a_moodle_competency_framework(cohort: Cohort) -> None:
    response = cohort.instructor_a.get("/staff/exports/framework.csv")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].endswith('-competences-moodle.csv"')
    imported = moodle_import(response.content)
    assert imported["header"] == MOODLE_REQUIRED_HEADERS
    framework = imported["framework"]
    assert framework["idnumber"] == f"socle-mse-v{cohort.content.version}"
    assert framework["shortname"] == cohort.content.programme.title.fr
    assert framework["scalevalues"] == "Non acquis,Acquis"
    config = json.loads(framework["scaleconfiguration"])
    assert "scaleid" in config[0]
    assert any(item.get("scaledefault") for item in config[1:])
    proficient = [item["id"] for item in config[1:] if item.get("proficient")]
    assert proficient == [2]  # the second scale value, "Acquis"
    assert set(framework["taxonomies"].split(",")) <= {"domain", "competency", "skill", "level", "outcome"}
    blocs = framework["children"]
    programme = cohort.content.programme
    assert [b["idnumber"] for b in blocs] == [b.code for b in programme.blocs]
    for bloc, expected in zip(blocs, programme.blocs, strict=True):
        assert bloc["shortname"] == expected.name.fr
        assert [c["idnumber"] for c in bloc["children"]] == expected.competences
        assert bloc["ruletype"] == "core_competency\\competency_rule_all" and bloc["ruleconfig"] == "null"
        assert bloc["ruleoutcome"] == "2"  # competency::OUTCOME_COMPLETE
    assert sorted(imported["flat"]) == sorted(
        [*(b.code for b in programme.blocs), *(c.code for c in programme.competences)]
    )
    for competency in imported["flat"].values():
        assert competency["idnumber"] and 0 < len(competency["shortname"]) <= 100
        assert competency["format"] == "1" and competency["description"].startswith("<p>")
        assert competency["scalevalues"] == ""  # the framework's scale
        if competency["idnumber"].startswith("C"):
            assert competency["ruletype"] == "" and competency["ruleconfig"] == "null"
    # The first data row is the framework (Moodle's own exporter writes it first).
    first = response.content.decode("utf-8-sig").split("\r\n")[1]
    assert first.startswith(";socle-mse-v")
