"""Benchmark: the staff exports of a 5,000-learner cohort, and the DU jury ZIP for 50 of its learners.

Run: ``.venv/bin/python bench/exports.py [--learners 5000] [--jury 50] [--runs 3] [--database-url URL]
[--json PATH]`` (``--help`` for the rest).

What it does
    Builds Socle in-process (``create_app`` + ``flask setup``, in a temporary instance folder; SQLite, or
    with ``--database-url`` a throw-away ``socle_bench_<random>`` PostgreSQL database, dropped afterwards) and
    seeds it with multi-row INSERTs (``INSERT … VALUES (…), (…), …``, a few hundred rows per statement): the
    demo platform and its deployment (from ``setup``), the measured cohort (``--learners`` in one course) and
    ``--other-courses`` other courses of the same registration (``--other-learners`` each, which the exports
    must leave out), each course with three live sessions (a launch webinaire, the M5 atelier, the M8
    co-development session). Per learner, what the services and the evidence engine would have left: module
    progress along the learner's track (modules completed in order, the next one in progress; 15 % on the
    grantmaker track through a submitted autodiagnostic), deliverables of the live modules (most accepted),
    attendance, the competence facts, the state of every competence and bloc the learner's modules touch
    (evaluated with Socle's own rules), the evidence trail (one link per quiz and completion that counts),
    and a credential per bloc met and per certificate earned. Not seeded: learning events and xAPI
    statements (no export reads them). PostgreSQL is then ANALYZEd (as autovacuum would on a live server).

    A staff launch of the cohort's course (an instructor: the exports cover that course) is inserted as a
    validated launch leaves it. Each export is then requested through the whole Flask stack with its test
    client (routing, launch lookup, scope, queries, CSV or ZIP writing, streaming) and its body read to the
    end, ``--runs`` times after one warm-up run:
        learners-modules.csv       learner × module (8 rows per learner)
        learners-competences.csv   learner × bloc and competence (13 rows per learner)
        attendance.csv             every live session × the learners of its course
        jury-summary.csv           one row per learner: blocs, certificate, credential ids, hours
        framework.csv              the Moodle competency framework (for scale)
        jury.zip (N learners)      ``--jury`` learners chosen with ``?learner=`` (the summary, then each
                                   evidence file as PDF and JSON), once after one warm-up run of 5

How to read the figures
    p50 / max     seconds from the request to the last byte read, over ``--runs`` runs.
    first chunk   seconds to the first chunk of the body (streamed responses start before they end).
    SQL           SQL statements the request ran (SQLAlchemy cursor executions).
    target        a full cohort export (5,000 learners) within 10 s: each CSV of the cohort, judged on its
                  max; the "CSV set" line adds the four cohort CSVs' p50 (all of them for one cohort, in
                  that time). The jury ZIP renders one PDF per learner: it is not held to the 10 s target;
                  its seconds per learner give the time of a whole cohort's ZIP.
    One process, one thread: service times without queueing. Python and the database server share the
    machine's CPUs (the load average is printed); rerun before trusting a few percent.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import secrets
import statistics
import sys
import time
import uuid
import zipfile
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import Connection, Table, event, func, insert, select, text

# Run as a script, this file's folder (bench/) comes first on sys.path, where a benchmark named like one of
# Socle's packages (bench/xapi.py) would shadow it: the repository comes first instead.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import in_process_app  # noqa: E402
from demo_platform.platform import CLIENT_ID as DEMO_CLIENT_ID
from lti_tool.certificates.issuing import CERTIFICATE
from lti_tool.certificates.models import Credential, StatusList
from lti_tool.competences.models import CompetenceState, EvidenceLink, LearnerFacts
from lti_tool.competences.rules import Rules, empty_facts
from lti_tool.content.loader import Content
from lti_tool.db import db
from lti_tool.diagnostic.models import DiagnosticRun
from lti_tool.learners.models import Context, Deployment, Enrolment, Learner, Platform
from lti_tool.lti.models import Launch
from lti_tool.training.models import Attendance, Deliverable, LiveSession, ModuleProgress

TARGET_SECONDS = 10.0
SECRET = "bench-exports-secret-" + "x" * 40  # only for this throw-away instance
BASE_URL = "http://127.0.0.1"
MAX_PARAMETERS = 30000  # bound parameters per multi-row INSERT (SQLite allows 32,766; PostgreSQL 65,535)
LEARNERS_PER_CHUNK = 1000
LIS = "http://purl.imsglobal.org/vocab/lis/v2/"
LEARNER_ROLES = [LIS + "membership#Learner"]
STAFF_ROLES = [LIS + "membership#Instructor"]
# How many modules of their track a learner has started (the last one in progress unless all are done).
STARTED_WEIGHTS = {0: 6, 1: 10, 2: 12, 3: 12, 4: 12, 5: 10, 6: 10, 7: 10, 8: 18}
GRANTMAKERS = 0.15
ACCEPTED = 0.9
WEBINAIRE_ATTENDANCE = 0.4


# -- seeding -------------------------------------------------------------------------------------------------


def insert_rows(connection: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Multi-row INSERTs: as many rows per statement as the drivers' parameter limits allow."""
    if not rows:
        return
    per_statement = max(1, MAX_PARAMETERS // len(rows[0]))
    for start in range(0, len(rows), per_statement):
        connection.execute(insert(table).values(rows[start : start + per_statement]))


@dataclass
class Ids:
    next: dict[str, int] = field(default_factory=dict)

    def take(self, table: str) -> int:
        value = self.next[table]
        self.next[table] = value + 1
        return value


SEEDED: tuple[Any, ...] = (
    Learner,
    Enrolment,
    ModuleProgress,
    Deliverable,
    Attendance,
    DiagnosticRun,
    LearnerFacts,
    CompetenceState,
    EvidenceLink,
    Credential,
)


@dataclass
class World:
    platform_id: int
    deployment_pk: int
    issuer: str
    cohort: int  # the measured course
    sessions: dict[tuple[int, str | None], int]  # (course, module or None) -> live session id
    cohort_learners: list[int] = field(default_factory=list)
    status_index: int = 0


class Seeder:
    """Writes one learner's history, as the services and the evidence engine would have left it."""

    def __init__(self, world: World, content: Content, ids: Ids, rng: random.Random) -> None:
        self.world, self.content, self.ids, self.rng = world, content, ids, rng
        self.rules = Rules(content)
        self.rows: dict[Table, list[dict[str, Any]]] = {model.__table__: [] for model in SEEDED}
        self.tracks = {t.code: t for t in content.programme.tracks}
        self.names = {b.code: b.name.fr for b in content.programme.blocs}

    def add(self, model: Any, row: dict[str, Any]) -> None:
        self.rows[model.__table__].append(row)

    def learner(self, index: int, context: int, since: datetime) -> int:
        rng, world = self.rng, self.world
        learner = self.ids.take("learners")
        joined = since + timedelta(days=rng.uniform(0, 30))
        family = f"Apprenant{index:05d}"
        given = rng.choice(["Prénom A", "Prénom B", "Prénom C", "Prénom D", "Prénom E"])
        base = {"platform_id": world.platform_id, "context_pk": context, "learner_id": learner}
        self.add(
            Learner,
            {
                "id": learner,
                "issuer": world.issuer,
                "sub": f"bench-exports-{index}",
                "platform_id": world.platform_id,
                "name": f"{given} {family}",
                "given_name": given,
                "family_name": family,
                "email": f"apprenant{index}@example.org",
                "locale": "fr-FR",
                "created_at": joined,
                "last_launch_at": joined,
            },
        )
        self.add(
            Enrolment,
            {
                "id": self.ids.take("enrolments"),
                "learner_id": learner,
                "context_pk": context,
                "platform_id": world.platform_id,
                "roles": LEARNER_ROLES,
                "is_staff": False,
                "first_launch_at": joined,
                "last_launch_at": joined,
                "is_active": rng.random() > 0.03,
            },
        )
        track = "grantmaker" if rng.random() < GRANTMAKERS else "fundraiser"
        if track == "grantmaker" or rng.random() < 0.3:
            self.add(
                DiagnosticRun,
                {
                    "id": self.ids.take("diagnostic_runs"),
                    **base,
                    "content_version": self.content.version,
                    "variant": "grantmaker" if track == "grantmaker" else "fundraiser",
                    "profile": {},
                    "answers": {},
                    "status": "submitted",
                    "result": {},
                    "global_score": 2.5,
                    "level": "L2",
                    "started_at": joined,
                    "updated_at": joined,
                    "submitted_at": joined + timedelta(minutes=15),
                },
            )
        if rng.random() < WEBINAIRE_ATTENDANCE:
            self.attendance(learner, context, None, joined + timedelta(days=2), rng.random() < 0.8)
        self.history(learner, context, base, track, joined + timedelta(days=1))
        return learner

    def attendance(self, learner: int, context: int, module: str | None, at: datetime, present: bool) -> None:
        self.add(
            Attendance,
            {
                "id": self.ids.take("attendances"),
                "session_id": self.world.sessions[(context, module)],
                "learner_id": learner,
                "is_present": present,
                "recorded_by": None,
                "recorded_at": at,
            },
        )

    def history(self, learner: int, context: int, base: dict[str, Any], track: str, clock: datetime) -> None:
        rng, content = self.rng, self.content
        modules = [content.module(m) for m in self.tracks[track].modules]
        started = rng.choices(list(STARTED_WEIGHTS), weights=list(STARTED_WEIGHTS.values()))[0]
        started = min(started, len(modules))
        facts = empty_facts()
        moments: dict[str, datetime] = {}
        for number, module in enumerate(modules[:started], start=1):
            assert module is not None
            done = number < started or started == len(modules)
            progress_id = self.ids.take("module_progress")
            began = clock
            clock += timedelta(days=rng.uniform(1, 12))
            best = rng.uniform(module.meta.mastery_score, 1.0) if done else rng.uniform(0.3, 0.9)
            tried = done or rng.random() < 0.5
            if tried:
                facts["best"][module.id] = round(best, 4)
            if done:
                facts["completed"][module.id] = clock.isoformat()
                moments[module.id] = clock
            pages = len(module.pages)
            self.add(
                ModuleProgress,
                {
                    "id": progress_id,
                    **base,
                    "module_id": module.id,
                    "content_version": content.version,
                    "pages_read": list(range(1, (pages if done else rng.randint(1, pages)) + 1)),
                    "last_page": pages,
                    "best_score": round(best, 4) if tried else None,
                    "is_quiz_passed": done,
                    "started_at": began,
                    "updated_at": clock,
                    "completed_at": clock if done else None,
                },
            )
            if done and module.meta.deliverable is not None:
                accepted = rng.random() < ACCEPTED
                self.add(
                    Deliverable,
                    {
                        "id": self.ids.take("deliverables"),
                        "progress_id": progress_id,
                        "learner_id": learner,
                        "module_id": module.id,
                        "content_version": content.version,
                        "text": "analyse " * module.meta.deliverable.min_words,
                        "submitted_at": clock,
                        "review_status": "accepted" if accepted else None,
                        "reviewed_by": None,
                        "reviewed_at": clock if accepted else None,
                    },
                )
                if accepted:
                    facts["accepted"][module.id] = True
            if done and module.meta.completion.attendance:
                self.attendance(learner, context, module.id, clock, True)
                facts["attended"][module.id] = [str(self.world.sessions[(context, module.id)])]
        self.mastery(learner, context, base, track, facts, moments, clock)

    def mastery(
        self,
        learner: int,
        context: int,
        base: dict[str, Any],
        track: str,
        facts: dict[str, Any],
        moments: dict[str, datetime],
        now: datetime,
    ) -> None:
        rules = self.rules
        self.add(
            LearnerFacts, {"id": self.ids.take("competence_facts"), **base, "facts": facts, "updated_at": now}
        )
        touched = {code for module in facts["best"] for code in rules.by_module.get(module, ())}
        met: set[str] = set()
        version = rules.version
        for code in sorted(touched):
            rule = rules.rules[code]
            evaluation = rules.evaluate(code, facts)
            when = max((moments[m] for m in rule.completed if m in moments), default=now)
            if evaluation.is_met:
                met.add(code)
            self.add(
                CompetenceState,
                {
                    "id": self.ids.take("competence_states"),
                    **base,
                    "code": code,
                    "score": evaluation.score,
                    "is_met": evaluation.is_met,
                    "met_at": when if evaluation.is_met else None,
                    "rules_version": version,
                    "updated_at": when,
                },
            )
            for module in rule.quiz_modules:
                if module in facts["best"]:
                    self.link(
                        base,
                        code,
                        "quiz",
                        module,
                        rules.quiz_share(module, code),
                        facts["best"][module],
                        when,
                    )
            for module in rule.completed:
                if module in facts["completed"]:
                    self.link(base, code, "completed", module, 0.0, None, moments[module])
            for kind in ("attended", "accepted"):
                for module in getattr(rule, kind):
                    if facts[kind].get(module):
                        self.link(base, code, kind, module, 0.0, None, when)
        blocs_met = []
        for bloc, codes in rules.blocs.items():
            if not touched & set(codes):
                continue
            is_met = rules.bloc_met(bloc, met)
            self.add(
                CompetenceState,
                {
                    "id": self.ids.take("competence_states"),
                    **base,
                    "code": bloc,
                    "score": None,
                    "is_met": is_met,
                    "met_at": now if is_met else None,
                    "rules_version": version,
                    "updated_at": now,
                },
            )
            if is_met:
                blocs_met.append(bloc)
                self.credential(base, bloc, None, f"Bloc {bloc} — {self.names[bloc]}", now)
        if rules.certificate_met(track, set(blocs_met)):
            self.credential(base, CERTIFICATE + track, track, "Certificat d'aptitude", now)

    def link(
        self, base: dict[str, Any], code: str, kind: str, module: str, weight: float, value: Any, at: datetime
    ) -> None:
        self.add(
            EvidenceLink,
            {
                "id": self.ids.take("competence_evidence"),
                "context_pk": base["context_pk"],
                "learner_id": base["learner_id"],
                "code": code,
                "kind": kind,
                "module_id": module,
                "statement_id": str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
                "ref": None,
                "weight": weight,
                "value": value,
                "occurred_at": at,
            },
        )

    def credential(
        self, base: dict[str, Any], achievement: str, track: str | None, name: str, at: datetime
    ) -> None:
        self.world.status_index += 1
        self.add(
            Credential,
            {
                "id": str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
                **base,
                "achievement": achievement,
                "track": track,
                "rules_version": self.rules.version,
                "content_version": self.content.version,
                "issued_at": at,
                # What the exports read of a credential (its name); signing is another benchmark's subject.
                "document": json.dumps({"name": name}),
                "jwt": "",
                "earned_statement_id": None,
                "status_list": 1,
                "status_index": self.world.status_index,
            },
        )


def seed(app: Flask, args: argparse.Namespace, rng: random.Random) -> World:
    content: Content = app.extensions["socle_content"]
    since = datetime.now(UTC) - timedelta(days=200)
    with app.app_context():
        engine = db.engine
        with engine.begin() as connection:
            platform = connection.execute(
                select(Platform.id, Platform.issuer).where(Platform.client_id == DEMO_CLIENT_ID)
            ).one()
            deployment_pk = connection.execute(
                select(Deployment.id).where(Deployment.platform_id == platform.id).order_by(Deployment.id)
            ).scalar_one()
            ids = Ids()
            for model in (Context, LiveSession, *SEEDED):
                if model is Credential:
                    continue
                top = connection.execute(select(func.max(model.id))).scalar()
                ids.next[model.__tablename__] = (top or 0) + 1
            courses = []
            for number in range(args.other_courses + 1):
                courses.append(
                    {
                        "id": ids.take("contexts"),
                        "platform_id": platform.id,
                        "deployment_pk": deployment_pk,
                        "lti_context_id": f"bench-exports-{number}",
                        "label": f"DU-{number:02d}",
                        "title": "Promotion DU 2026" if number == 0 else f"Autre cours {number}",
                        "created_at": since,
                    }
                )
            insert_rows(connection, Context.__table__, courses)
            sessions: dict[tuple[int, str | None], int] = {}
            live = []
            for course in courses:
                for module, kind in ((None, "webinaire"), ("M5", "atelier"), ("M8", "co-developpement")):
                    session_id = ids.take("live_sessions")
                    sessions[(course["id"], module)] = session_id
                    live.append(
                        {
                            "id": session_id,
                            "platform_id": platform.id,
                            "context_pk": course["id"],
                            "kind": kind,
                            "title": f"Séance {module or 'de lancement'}",
                            "module_id": module,
                            "starts_at": since + timedelta(days=rng.uniform(20, 150)),
                            "duration_minutes": 120,
                            "created_by": None,
                            "created_at": since,
                        }
                    )
            insert_rows(connection, LiveSession.__table__, live)
            connection.execute(insert(StatusList.__table__).values(id=1, size=131072, next_index=0))
        world = World(platform.id, deployment_pk, platform.issuer, courses[0]["id"], sessions)
        plan = [(courses[0]["id"], i) for i in range(args.learners)]
        for number, course in enumerate(courses[1:], start=1):
            plan += [(course["id"], number * 100000 + i) for i in range(args.other_learners)]
        for start in range(0, len(plan), LEARNERS_PER_CHUNK):
            seeder = Seeder(world, content, ids, rng)
            for context, index in plan[start : start + LEARNERS_PER_CHUNK]:
                learner = seeder.learner(index, context, since)
                if context == world.cohort:
                    world.cohort_learners.append(learner)
            with engine.begin() as connection:
                for table, rows in seeder.rows.items():
                    insert_rows(connection, table, rows)
        if engine.dialect.name == "postgresql":
            with engine.begin() as connection:
                for name in ids.next:  # ids were given explicitly: move the sequences past them
                    connection.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                            f"(SELECT coalesce(max(id), 1) FROM {name}))"
                        )
                    )
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(text("ANALYZE"))
    return world


def staff_launch(app: Flask, world: World) -> str:
    """An instructor of the cohort's course, and a launch of theirs as a validated launch leaves it."""
    now = datetime.now(UTC)
    launch_id = secrets.token_urlsafe(32)
    with app.app_context(), db.engine.begin() as connection:
        staff = connection.execute(
            insert(Learner.__table__)
            .values(issuer=world.issuer, sub="bench-exports-instructor", platform_id=world.platform_id)
            .returning(Learner.__table__.c.id)
        ).scalar_one()
        connection.execute(
            insert(Enrolment.__table__).values(
                learner_id=staff,
                context_pk=world.cohort,
                platform_id=world.platform_id,
                roles=STAFF_ROLES,
                is_staff=True,
                is_active=True,
            )
        )
        claims = {"iss": world.issuer, "aud": DEMO_CLIENT_ID, "sub": "bench-exports-instructor"}
        connection.execute(
            insert(Launch.__table__).values(
                id=launch_id,
                platform_id=world.platform_id,
                deployment_pk=world.deployment_pk,
                learner_id=staff,
                context_pk=world.cohort,
                message_type="LtiResourceLinkRequest",
                roles=STAFF_ROLES,
                is_staff=True,
                is_admin=False,
                resource_link_id="bench-exports",
                target_link_uri=BASE_URL + "/lti/launch",
                locale="fr-FR",
                claims=claims,
                browser_id=None,
                created_at=now,
                expires_at=now + timedelta(hours=8),
            )
        )
    return launch_id


# -- measuring -----------------------------------------------------------------------------------------------


class StatementCounter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, *_args: Any) -> None:
        self.count += 1


@dataclass
class Figure:
    name: str
    label: str
    judged: bool  # held to the 10 s target
    seconds: list[float] = field(default_factory=list)
    first_chunk: list[float] = field(default_factory=list)
    statements: int = 0
    size: int = 0
    rows: int = 0
    learners: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def p50(self) -> float:
        return statistics.median(self.seconds) if self.seconds else float("nan")

    @property
    def worst(self) -> float:
        return max(self.seconds) if self.seconds else float("nan")

    @property
    def met(self) -> bool:
        return bool(self.seconds) and not self.errors and self.worst <= TARGET_SECONDS

    def summary(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "runs": len(self.seconds),
            "p50_s": round(self.p50, 3),
            "max_s": round(self.worst, 3),
            "first_chunk_s": round(statistics.median(self.first_chunk), 3) if self.first_chunk else None,
            "sql_statements": self.statements,
            "bytes": self.size,
            "rows": self.rows,
            "learners": self.learners,
            "target_s": TARGET_SECONDS if self.judged else None,
            "target_met": self.met if self.judged else None,
            "errors": self.errors[:3],
        }


def fetch(app: Flask, counter: StatementCounter, url: str) -> tuple[float, float, bytes, int, int]:
    """One request, its body read chunk by chunk: (seconds, seconds to the first chunk, body, status, SQL)."""
    client = app.test_client(use_cookies=False)
    before = counter.count
    began = time.perf_counter()
    response = client.get(url, buffered=False)
    parts, first = [], None
    for chunk in response.response:
        if first is None:
            first = time.perf_counter() - began
        parts.append(chunk if isinstance(chunk, bytes) else chunk.encode())
    response.close()
    elapsed = time.perf_counter() - began
    return elapsed, first or elapsed, b"".join(parts), response.status_code, counter.count - before


def measure(
    app: Flask, counter: StatementCounter, figure: Figure, url: str, runs: int, warmup: int = 1
) -> bytes:
    body = b""
    for run in range(warmup + runs):
        elapsed, first, body, status, statements = fetch(app, counter, url)
        if status != 200:
            figure.errors.append(f"GET {url.split('?')[0]} -> {status}: {body[:200]!r}")
            return body
        if run >= warmup:
            figure.seconds.append(elapsed)
            figure.first_chunk.append(first)
            figure.statements = statements
    figure.size = len(body)
    return body


def csv_rows(body: bytes) -> int:
    # Data rows (quoted cells never hold a line break in these exports' cohort data).
    return body.count(b"\r\n") - 1


def run(app: Flask, world: World, launch: str, args: argparse.Namespace, rng: random.Random) -> list[Figure]:
    counter = StatementCounter()
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", counter)
    figures = []
    for name, label in (
        ("learners-modules.csv", "learners-modules.csv (learner × module)"),
        ("learners-competences.csv", "learners-competences.csv (× bloc, comp.)"),
        ("attendance.csv", "attendance.csv (session × learner)"),
        ("jury-summary.csv", "jury-summary.csv (one row per learner)"),
        ("framework.csv", "framework.csv (Moodle)"),
    ):
        figure = Figure(name, label, judged=name != "framework.csv")
        body = measure(app, counter, figure, f"/staff/exports/{name}?launch={launch}", args.runs)
        figure.rows = csv_rows(body)
        figure.learners = len(world.cohort_learners) if figure.judged else 0
        figures.append(figure)
        print(f"  {label}: p50 {figure.p50:.2f} s", flush=True)
    chosen = rng.sample(world.cohort_learners, min(args.jury, len(world.cohort_learners)))
    query = "&".join(f"learner={learner}" for learner in chosen)
    warm = "&".join(f"learner={learner}" for learner in chosen[:5])
    figure = Figure("jury.zip", f"jury.zip ({len(chosen)} learners, PDF + JSON)", judged=False)
    fetch(app, counter, f"/staff/exports/jury.zip?launch={launch}&{warm}")  # fonts, templates, plans
    body = measure(app, counter, figure, f"/staff/exports/jury.zip?launch={launch}&{query}", 1, warmup=0)
    if not figure.errors:
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            names = archive.namelist()
            figure.rows = sum(1 for n in names if n.endswith(".pdf"))
            if archive.testzip() is not None or figure.rows != len(chosen):
                figure.errors.append(f"the ZIP holds {figure.rows} PDFs for {len(chosen)} learners")
    figure.learners = len(chosen)
    figures.append(figure)
    return figures


# -- report --------------------------------------------------------------------------------------------------


def report(
    backend: str, counts: dict[str, int], seed_seconds: float, figures: list[Figure], cohort: int
) -> bool:
    print()
    print(f"Database: {backend}; seeded in {seed_seconds:.1f} s:")
    print("  " + ", ".join(f"{name} {count:,}" for name, count in counts.items()))
    print(f"Cohort exported: {cohort:,} learners in one course (other courses of the registration left out)")
    header = (
        f"{'export':<44}{'rows':>8}{'size':>10}{'SQL':>5}{'p50 s':>8}{'max s':>8}{'1st chunk':>10}"
        f"{'target':>8}  verdict"
    )
    print(header)
    print("-" * len(header))
    ok = True
    for figure in figures:
        verdict = ("MET" if figure.met else "MISSED") if figure.judged else "(not judged)"
        target = f"{TARGET_SECONDS:.0f} s" if figure.judged else ""
        first = statistics.median(figure.first_chunk) if figure.first_chunk else float("nan")
        print(
            f"{figure.label:<44}{figure.rows:>8,}{figure.size / 1e6:>8.1f}MB{figure.statements:>5}"
            f"{figure.p50:>8.2f}{figure.worst:>8.2f}{first:>10.2f}{target:>8}  {verdict}"
        )
        for error in figure.errors[:3]:
            ok = False
            print(f"  {figure.name} failure: {error}")
    judged = [f for f in figures if f.judged]
    total = sum(f.p50 for f in judged)
    verdict = "MET" if total <= TARGET_SECONDS else "MISSED"
    print(
        f"{'CSV set of the cohort (4 above, p50 sum)':<67}{total:>8.2f}{'':>18}"
        f"{TARGET_SECONDS:>6.0f} s  {verdict}"
    )
    jury = next((f for f in figures if f.name == "jury.zip"), None)
    if jury is not None and jury.seconds and jury.learners:
        per = jury.p50 / jury.learners
        print(
            f"Jury ZIP: {per:.3f} s per learner (evidence file read, PDF rendered, JSON, zipped), "
            f"{jury.size / jury.learners / 1e3:.0f} kB each; a whole cohort of {cohort:,} would stream for "
            f"about {per * cohort:.0f} s ({jury.size / jury.learners * cohort / 1e6:.0f} MB)."
        )
    return ok and all(f.met for f in judged) and total <= TARGET_SECONDS


COUNTED: tuple[Any, ...] = (
    Learner,
    Enrolment,
    ModuleProgress,
    Deliverable,
    LiveSession,
    Attendance,
    CompetenceState,
    EvidenceLink,
    Credential,
)


def row_counts(app: Flask) -> dict[str, int]:
    with app.app_context(), db.engine.connect() as connection:
        return {
            model.__tablename__: int(connection.execute(select(func.count()).select_from(model)).scalar_one())
            for model in COUNTED
        }


# -- main ----------------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--learners", type=int, default=5000, help="learners in the exported cohort (5000)")
    parser.add_argument("--jury", type=int, default=50, help="learners in the measured jury ZIP (50)")
    parser.add_argument("--runs", type=int, default=3, help="measured runs of each CSV export (3)")
    parser.add_argument("--other-courses", type=int, default=2, help="other courses of the registration (2)")
    parser.add_argument("--other-learners", type=int, default=500, help="learners in each other course (500)")
    parser.add_argument(
        "--database-url",
        help="PostgreSQL server to use instead of SQLite, e.g. postgresql://127.0.0.1:5432/test "
        "(a socle_bench_<random> database is created there and dropped afterwards)",
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed of the data (1)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    if min(args.learners, args.jury, args.runs) < 1 or min(args.other_courses, args.other_learners) < 0:
        parser.error("--learners, --jury and --runs must be at least 1, the others at least 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    rng = random.Random(args.seed)
    with ExitStack() as cleanup:  # unwinds in reverse: connections close, the database goes, then the files
        began = time.perf_counter()
        app, backend = in_process_app(cleanup, args.database_url, "socle-bench-exports-", SECRET, BASE_URL)
        total = args.learners + args.other_courses * args.other_learners
        print(f"Seeding {total:,} learners ({args.learners:,} in the cohort) into {backend}…", flush=True)
        world = seed(app, args, rng)
        launch = staff_launch(app, world)
        seed_seconds = time.perf_counter() - began
        counts = row_counts(app)
        print(f"Seeded in {seed_seconds:.1f} s; measuring…", flush=True)
        load_before = os.getloadavg()[0]
        figures = run(app, world, launch, args, rng)
        load_after = os.getloadavg()[0]
        ok = report(backend, counts, seed_seconds, figures, len(world.cohort_learners))
        print(
            f"Load average {load_before:.2f} before, {load_after:.2f} after, on {os.cpu_count()} CPUs (this "
            "run and its database server make about 1; more is other work competing for the CPUs)."
        )
        if args.json:
            figures_json = {
                "database": backend,
                "learners": args.learners,
                "seed": args.seed,
                "seeded_rows": counts,
                "seed_seconds": round(seed_seconds, 2),
                "target_s": TARGET_SECONDS,
                "csv_set_p50_s": round(sum(f.p50 for f in figures if f.judged), 3),
                "load_average": {"before": load_before, "after": load_after, "cpus": os.cpu_count()},
                "exports": {f.name: f.summary() for f in figures},
            }
            strict = json.loads(json.dumps(figures_json), parse_constant=lambda _: None)  # NaN -> null
            args.json.write_text(json.dumps(strict, indent=2) + "\n", encoding="utf-8")
            print(f"Figures written to {args.json}")
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
