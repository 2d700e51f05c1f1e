"""Benchmark: the staff dashboard's server time for a cohort of 5,000 learners with 1,000,000 statements.

Run: ``.venv/bin/python bench/dashboard.py [--learners 5000] [--statements 1000000] [--requests 50]
[--skip-sqlite] [--skip-postgres] [--database-url URL] [--json PATH]`` (``--help`` for the rest). One run
measures PostgreSQL (the production database; ``--database-url``, default ``LTI_TOOL_TEST_DATABASE_URL`` or
the local test server), then SQLite, and prints both.

What it does, for each database
    Builds Socle in-process (``create_app`` + ``flask setup``, in a temporary instance folder; a throw-away
    ``socle_bench_<random>`` PostgreSQL database, dropped afterwards, or a SQLite file there) and seeds, with
    multi-row INSERTs (and COPY on PostgreSQL for the statements), one course context of the demo platform
    with ``--learners`` learners and what the services would have left for them:
      - learners and enrolments (4 % known from the platform's roster only, never launched), last launches
        spread over four months (so some are inactive);
      - module progress for the eight modules (0 to 8 started, completed in order, the last one in
        progress), quiz attempts (a quarter failed before passing; some stuck after two failures),
        deliverables (M5, M8) mostly accepted, three live sessions with attendance;
      - autodiagnostic runs (65 % submitted, from 24 scored answer sets; 5 % left in progress);
      - the evidence engine's facts and competence states (C1–C9, B1–B4) computed with the real rules
        from that progress, and the credentials the blocs met would earn (2 % revoked);
      - ``--statements`` xAPI statements (``xapi_statements``, with their agent and activity index rows),
        spread over the learners by activity: they are there to show that the dashboard never reads them.
    PostgreSQL is then ANALYZEd (as autovacuum would on a live server); SQLite is left without statistics,
    as Socle runs it. A trainer's launch of that course is inserted as a validated launch leaves it.

    The requests go through the whole Flask stack with its test client (routing, launch lookup, the
    dashboard's queries, templates, security headers), in rounds that interleave the operations, after
    a few rounds of warm-up:
        overview          GET /staff/dashboard/                     (judged)
        heatmap page      GET /staff/dashboard/heatmap?page=<n>      a random page of 50 learners (judged)
        overview, filtered GET /staff/dashboard/?module=M3&since=…   the activity period and a module (extra)
        at risk           GET /staff/dashboard/learners?risk=inactive&page=<n>                        (extra)
        learner detail    GET /staff/dashboard/courses/<c>/learners/<id>   a random learner: the first 50
                          statements of their timeline (through the statement store's indexes), their
                          competence trail and credentials (extra)

How to read the figures
    p50/p95/max   server time of one request in milliseconds (the test client's call to the response in
                  hand), without network or browser.
    SQL/req       SQL statements per request (SQLAlchemy cursor executions).
    statements?   whether any SQL of that operation named xapi_statements* or learning_events.
    target        300 ms, judged on p95, for the overview and a heatmap page.
    One process, one thread: service times without queueing. Python and the database server share the
    machine's CPUs (the load average is printed); rerun before trusting a few percent.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import secrets
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, Table, event, func, insert, select, text

# The repository first on the path (bench/xapi.py would shadow the xapi package), then the shared helpers.
BENCH = Path(__file__).resolve().parent
sys.path[:] = [str(BENCH.parent)] + [p for p in sys.path if Path(p or ".").resolve() != BENCH]
from bench.common import in_process_app  # noqa: E402
from bench.player import diagnostic_results  # noqa: E402
from demo_platform.platform import CLIENT_ID as DEMO_CLIENT_ID  # noqa: E402
from lti_tool.certificates.issuing import CERTIFICATE  # noqa: E402
from lti_tool.certificates.models import Credential, StatusList  # noqa: E402
from lti_tool.competences.models import CompetenceState, LearnerFacts  # noqa: E402
from lti_tool.competences.rules import Rules  # noqa: E402
from lti_tool.content.loader import Content  # noqa: E402
from lti_tool.dashboard.timeline import course_activity  # noqa: E402
from lti_tool.db import db  # noqa: E402
from lti_tool.diagnostic.models import DiagnosticRun  # noqa: E402
from lti_tool.learners.models import Context, Deployment, Enrolment, Learner, Platform  # noqa: E402
from lti_tool.lti.models import Launch  # noqa: E402
from lti_tool.training.models import Attendance, Deliverable, LiveSession, ModuleProgress, QuizAttempt  # noqa: E402
from xapi.vocabulary import (  # noqa: E402
    ANSWERED,
    ATTENDED,
    COMPLETED,
    EXPERIENCED,
    FAILED,
    LAUNCHED,
    PASSED,
    PROGRESSED,
    VERB_DISPLAY,
    Vocabulary,
)

DEFAULT_POSTGRES = os.environ.get("LTI_TOOL_TEST_DATABASE_URL") or "postgresql://root@127.0.0.1:5432/test"
SECRET = "bench-dashboard-secret-" + "x" * 40  # only for the throw-away instances
BASE_URL = "http://127.0.0.1"
TARGET_MS = 300.0
WARMUP_ROUNDS = 5
BATCH = 5000  # rows per multi-row INSERT batch
STATEMENT_CHUNK = 50_000  # statements generated, then written, at a time
HISTORY_DAYS = 120
LIS = "http://purl.imsglobal.org/vocab/lis/v2/"
LEARNER_ROLES = [LIS + "membership#Learner", LIS + "institution/person#Student"]
STAFF_ROLES = [LIS + "membership#Instructor", LIS + "institution/person#Faculty"]
LTI_CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
COURSE = {"id": "bench-dashboard-cohort", "label": "AFF-2026", "title": "Parcours AFF, promotion 2026"}
STARTED_WEIGHTS = {0: 8, 1: 15, 2: 17, 3: 15, 4: 12, 5: 10, 6: 8, 7: 7, 8: 8}
ROSTER_ONLY = 0.04
FIRST_ATTEMPT_FAILED = 0.25
STUCK_FAILURES = (0, 0, 0, 1, 1, 2, 2, 3)  # failed attempts on the module in progress
SUBMITTED_DIAGNOSTIC = 0.65
OPEN_DIAGNOSTIC = 0.05
WEBINAIRE_PRESENT, WEBINAIRE_ABSENT = 0.5, 0.1
REVOKED = 0.02
GIVEN_NAMES = tuple(f"Prénom{letter}" for letter in "ABCDEFGHIJ")


# -- seeding ---------------------------------------------------------------------------------------------


def insert_rows(connection: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), BATCH):
        connection.execute(insert(table), rows[start : start + BATCH])


@dataclass
class World:
    platform_id: int
    issuer: str
    deployment_pk: int
    deployment_id: str
    context_pk: int
    sessions: dict[str | None, int]  # module id (None: the launch webinaire) -> live session id
    staff_id: int = 0
    learners: list[int] = field(default_factory=list)
    subs: dict[int, str] = field(default_factory=dict)
    activity: dict[int, int] = field(default_factory=dict)  # learner -> weight of their statements


class Seeder:
    """Writes the cohort's rows, table by table, as the services would have left them."""

    def __init__(self, app: Flask, content: Content, rng: random.Random) -> None:
        self.app, self.content, self.rng = app, content, rng
        self.rules = Rules(content)
        self.now = datetime.now(UTC)
        self.since = self.now - timedelta(days=HISTORY_DAYS)
        self.rows: dict[Table, list[dict[str, Any]]] = {}
        self.next_id: dict[str, int] = {}
        self.runs = diagnostic_results(content, rng)
        self.status_index = 0

    def add(self, model: Any, row: dict[str, Any]) -> None:
        self.rows.setdefault(model.__table__, []).append(row)

    def take(self, model: Any) -> int:
        name = model.__tablename__
        value = self.next_id.get(name, 1)
        self.next_id[name] = value + 1
        return value

    def flush(self, connection: Connection) -> None:
        order = (
            Learner,
            Enrolment,
            ModuleProgress,
            QuizAttempt,
            Deliverable,
            Attendance,
            DiagnosticRun,
            LearnerFacts,
            CompetenceState,
            Credential,
        )
        for model in order:
            rows = self.rows.pop(model.__table__, [])
            if rows:
                insert_rows(connection, model.__table__, rows)

    def world(self, connection: Connection) -> World:
        platform = connection.execute(
            select(Platform.id, Platform.issuer).where(Platform.client_id == DEMO_CLIENT_ID)
        ).one()
        deployment_pk, deployment_id = connection.execute(
            select(Deployment.id, Deployment.deployment_id)
            .where(Deployment.platform_id == platform.id)
            .order_by(Deployment.id)
        ).one()
        for model in (Learner, Enrolment, Context, LiveSession):
            top = connection.execute(select(func.max(model.id))).scalar()
            self.next_id[model.__tablename__] = (top or 0) + 1
        context_pk = self.take(Context)
        insert_rows(
            connection,
            Context.__table__,
            [
                {
                    "id": context_pk,
                    "platform_id": platform.id,
                    "deployment_pk": deployment_pk,
                    "lti_context_id": COURSE["id"],
                    "label": COURSE["label"],
                    "title": COURSE["title"],
                    "created_at": self.since,
                }
            ],
        )
        sessions: dict[str | None, int] = {}
        rows = []
        for module_id, kind in ((None, "webinaire"), ("M5", "atelier"), ("M8", "co-developpement")):
            sessions[module_id] = self.take(LiveSession)
            rows.append(
                {
                    "id": sessions[module_id],
                    "platform_id": platform.id,
                    "context_pk": context_pk,
                    "kind": kind,
                    "title": f"Séance {module_id or 'de lancement'}",
                    "module_id": module_id,
                    "starts_at": self.since + timedelta(days=self.rng.uniform(10, 100)),
                    "duration_minutes": 90,
                    "created_by": None,
                    "created_at": self.since,
                }
            )
        insert_rows(connection, LiveSession.__table__, rows)
        connection.execute(insert(StatusList.__table__), [{"id": 1, "size": 131072, "next_index": 0}])
        return World(platform.id, platform.issuer, deployment_pk, deployment_id, context_pk, sessions)

    def staff(self, world: World) -> None:
        learner = self.take(Learner)
        world.staff_id = learner
        self.add(
            Learner,
            {
                "id": learner,
                "issuer": world.issuer,
                "sub": "bench-trainer",
                "platform_id": world.platform_id,
                "name": "Formatrice Bench",
                "given_name": "Formatrice",
                "family_name": "Bench",
                "created_at": self.since,
                "last_launch_at": self.now,
            },
        )
        self.add(
            Enrolment,
            {
                "id": self.take(Enrolment),
                "learner_id": learner,
                "context_pk": world.context_pk,
                "platform_id": world.platform_id,
                "roles": STAFF_ROLES,
                "is_staff": True,
                "first_launch_at": self.since,
                "last_launch_at": self.now,
                "is_active": True,
            },
        )

    def learner(self, world: World, index: int) -> None:
        rng = self.rng
        learner = self.take(Learner)
        world.learners.append(learner)
        sub = world.subs[learner] = f"bench-learner-{index:05d}"
        roster_only = rng.random() < ROSTER_ONLY
        joined = self.since + timedelta(days=rng.uniform(0, 40))
        last = min(self.now, joined + timedelta(days=rng.expovariate(1 / 30)))
        given, family = rng.choice(GIVEN_NAMES), f"Apprenant{index:05d}"
        self.add(
            Learner,
            {
                "id": learner,
                "issuer": world.issuer,
                "sub": sub,
                "platform_id": world.platform_id,
                "name": f"{given} {family}",
                "given_name": given,
                "family_name": family,
                "email": None,
                "locale": "fr-FR",
                "created_at": joined,
                "last_launch_at": None if roster_only else last,
            },
        )
        self.add(
            Enrolment,
            {
                "id": self.take(Enrolment),
                "learner_id": learner,
                "context_pk": world.context_pk,
                "platform_id": world.platform_id,
                "roles": LEARNER_ROLES,
                "is_staff": False,
                "first_launch_at": None if roster_only else joined,
                "last_launch_at": None if roster_only else last,
                "is_active": True,
                "roster_seen_at": self.since,
            },
        )
        if roster_only:
            world.activity[learner] = 0
            return
        facts: dict[str, Any] = {"best": {}, "completed": {}, "attended": {}, "accepted": {}, "waived": {}}
        clock = joined + timedelta(minutes=5)
        self.diagnostic(world, learner, clock)
        started = rng.choices(list(STARTED_WEIGHTS), weights=list(STARTED_WEIGHTS.values()))[0]
        span = max((last - clock).total_seconds(), 60.0)
        for number, module in enumerate(self.content.modules[:started], start=1):
            completed = number < started or (started == 8 and rng.random() < 0.6)
            at = clock + timedelta(seconds=span * number / (started + 1))
            self.module(world, learner, module, at, completed, facts)
        if rng.random() < WEBINAIRE_PRESENT + WEBINAIRE_ABSENT:
            self.attendance(world, learner, None, clock, rng.random() < WEBINAIRE_PRESENT / 0.6)
        self.competences(world, learner, facts, last)
        world.activity[learner] = 4 + 10 * started

    def diagnostic(self, world: World, learner: int, clock: datetime) -> None:
        draw = self.rng.random()
        if draw >= SUBMITTED_DIAGNOSTIC + OPEN_DIAGNOSTIC:
            return
        run = self.rng.choice(self.runs)
        submitted = draw < SUBMITTED_DIAGNOSTIC
        done = clock + timedelta(minutes=self.rng.uniform(8, 25))
        self.add(
            DiagnosticRun,
            {
                "id": self.take(DiagnosticRun),
                "platform_id": world.platform_id,
                "context_pk": world.context_pk,
                "learner_id": learner,
                "content_version": self.content.version,
                "variant": run["variant"],
                "profile": run["profile"],
                "answers": run["answers"],
                "status": "submitted" if submitted else "in_progress",
                "result": run["result"] if submitted else None,
                "global_score": run["result"]["global_score"] if submitted else None,
                "level": run["result"]["level"] if submitted else None,
                "started_at": clock,
                "updated_at": done,
                "submitted_at": done if submitted else None,
            },
        )

    def module(
        self, world: World, learner: int, module: Any, at: datetime, completed: bool, facts: dict[str, Any]
    ) -> None:
        rng = self.rng
        progress = self.take(ModuleProgress)
        pages = len(module.pages)
        attempts: list[tuple[float, bool]] = []
        if completed:
            if rng.random() < FIRST_ATTEMPT_FAILED:
                attempts.append((rng.uniform(0.3, module.meta.mastery_score - 0.05), False))
            attempts.append((rng.uniform(module.meta.mastery_score, 1.0), True))
        else:
            for _ in range(rng.choice(STUCK_FAILURES)):
                attempts.append((rng.uniform(0.2, module.meta.mastery_score - 0.05), False))
        for number, (score, passed) in enumerate(attempts, start=1):
            self.add(
                QuizAttempt,
                {
                    "id": self.take(QuizAttempt),
                    "progress_id": progress,
                    "learner_id": learner,
                    "module_id": module.id,
                    "content_version": self.content.version,
                    "number": number,
                    "answers": {},
                    "score": round(score, 2),
                    "is_passed": passed,
                    "started_at": at - timedelta(hours=number),
                    "finished_at": at - timedelta(hours=number) + timedelta(minutes=15),
                },
            )
        best = max((s for s, _ in attempts), default=None)
        passed = any(p for _, p in attempts)
        if best is not None:
            facts["best"][module.id] = round(best, 4)
        if completed:
            facts["completed"][module.id] = at.isoformat()
        if completed and module.meta.deliverable is not None:
            accepted = rng.random() < 0.7
            self.add(
                Deliverable,
                {
                    "id": self.take(Deliverable),
                    "progress_id": progress,
                    "learner_id": learner,
                    "module_id": module.id,
                    "content_version": self.content.version,
                    "text": "analyse " * module.meta.deliverable.min_words,
                    "submitted_at": at,
                    "review_status": "accepted" if accepted else None,
                    "reviewed_at": at + timedelta(days=2) if accepted else None,
                },
            )
            if accepted:
                facts["accepted"][module.id] = True
        if completed and module.id in world.sessions:
            self.attendance(world, learner, module.id, at, True)
            facts["attended"][module.id] = [str(world.sessions[module.id])]
        self.add(
            ModuleProgress,
            {
                "id": progress,
                "platform_id": world.platform_id,
                "context_pk": world.context_pk,
                "learner_id": learner,
                "module_id": module.id,
                "content_version": self.content.version,
                "pages_read": list(range(1, pages + 1)) if completed else [1],
                "last_page": pages if completed else 1,
                "best_score": round(best, 4) if best is not None else None,
                "is_quiz_passed": passed,
                "started_at": at - timedelta(days=2),
                "updated_at": at,
                "completed_at": at if completed else None,
            },
        )

    def attendance(
        self, world: World, learner: int, module_id: str | None, at: datetime, present: bool
    ) -> None:
        self.add(
            Attendance,
            {
                "id": self.take(Attendance),
                "session_id": world.sessions[module_id],
                "learner_id": learner,
                "is_present": present,
                "recorded_by": world.staff_id,
                "recorded_at": at,
            },
        )

    def competences(self, world: World, learner: int, facts: dict[str, Any], at: datetime) -> None:
        """The facts and the states the evidence engine would hold, evaluated with the real rules."""
        self.add(
            LearnerFacts,
            {
                "id": self.take(LearnerFacts),
                "platform_id": world.platform_id,
                "context_pk": world.context_pk,
                "learner_id": learner,
                "facts": facts,
                "updated_at": at,
            },
        )
        touched = set(facts["best"]) | set(facts["completed"])
        met: dict[str, bool] = {}
        for code, rule in self.rules.rules.items():
            if not touched & {*rule.quiz_modules, *rule.completed}:
                continue
            evaluation = self.rules.evaluate(code, facts)
            met[code] = evaluation.is_met
            self.state(world, learner, code, evaluation.score, evaluation.is_met, at)
        blocs_met = []
        for bloc, codes in self.rules.blocs.items():
            if any(c in met for c in codes):
                is_met = all(met.get(c, False) for c in codes)
                self.state(world, learner, bloc, None, is_met, at)
                if is_met:
                    blocs_met.append(bloc)
                    self.credential(world, learner, bloc, at)
        if set(self.rules.tracks["fundraiser"]) <= set(blocs_met):
            self.credential(world, learner, CERTIFICATE + "fundraiser", at)

    def state(
        self, world: World, learner: int, code: str, score: float | None, is_met: bool, at: datetime
    ) -> None:
        self.add(
            CompetenceState,
            {
                "id": self.take(CompetenceState),
                "platform_id": world.platform_id,
                "context_pk": world.context_pk,
                "learner_id": learner,
                "code": code,
                "score": score,
                "is_met": is_met,
                "met_at": at if is_met else None,
                "rules_version": self.rules.version,
                "updated_at": at,
            },
        )

    def credential(self, world: World, learner: int, achievement: str, at: datetime) -> None:
        revoked = self.rng.random() < REVOKED
        self.status_index += 1
        self.add(
            Credential,
            {
                "id": str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
                "platform_id": world.platform_id,
                "context_pk": world.context_pk,
                "learner_id": learner,
                "achievement": achievement,
                "track": "fundraiser",
                "rules_version": self.rules.version,
                "content_version": self.content.version,
                "issued_at": at,
                "document": "{}",  # the signed document is not read by the dashboard
                "jwt": "-",
                "earned_statement_id": None,
                "status_list": 1,
                "status_index": self.status_index,
                "revoked_at": at + timedelta(days=3) if revoked else None,
                "revoked_reason": "erreur de saisie" if revoked else None,
                "revoked_by": "bench" if revoked else None,
            },
        )


# -- statements ------------------------------------------------------------------------------------------

VERBS = [
    (EXPERIENCED, 30),
    (PROGRESSED, 25),
    (ANSWERED, 30),
    (PASSED, 4),
    (FAILED, 2),
    (COMPLETED, 4),
    (LAUNCHED, 4),
    (ATTENDED, 1),
]


def statement_rows(
    world: World, content: Content, course_iri: str, vocabulary: Vocabulary, total: int, rng: random.Random
) -> Iterator[tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]]:
    """Chunks of (statements, agent index rows, activity index rows), spread over the learners by their
    activity, stored over the history (stored_us ascending within each learner is not needed)."""
    active = [learner for learner in world.learners if world.activity[learner] > 0]
    weights = [world.activity[learner] for learner in active]
    cumulative = []
    running = 0
    for weight in weights:
        running += weight
        cumulative.append(running)
    verbs, verb_weights = zip(*VERBS, strict=True)
    modules = [(vocabulary.activity("modules", m.id), m.meta.title) for m in content.modules]
    start_us = int((datetime.now(UTC) - timedelta(days=HISTORY_DAYS)).timestamp() * 1_000_000)
    span_us = HISTORY_DAYS * 86_400 * 1_000_000
    made = 0
    while made < total:
        count = min(STATEMENT_CHUNK, total - made)
        statements, agents, activities = [], [], []
        for learner_index in rng.choices(range(len(active)), cum_weights=cumulative, k=count):
            learner = active[learner_index]
            statement_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            verb = rng.choices(verbs, weights=verb_weights)[0]
            object_iri, title = rng.choice(modules)
            stored_us = start_us + rng.randrange(span_us)
            stamp = datetime.fromtimestamp(stored_us / 1_000_000, UTC).isoformat(timespec="milliseconds")
            sub = world.subs[learner]
            body = {
                "id": statement_id,
                "actor": {"objectType": "Agent", "account": {"homePage": world.issuer, "name": sub}},
                "verb": {"id": verb, "display": VERB_DISPLAY[verb]},
                "object": {"objectType": "Activity", "id": object_iri, "definition": {"name": {"fr": title}}},
                "context": {"contextActivities": {"grouping": [{"id": course_iri}]}},
                "timestamp": stamp.replace("+00:00", "Z"),
                "stored": stamp.replace("+00:00", "Z"),
                "version": "1.0.3",
            }
            statements.append(
                (statement_id, stored_us, verb, None, False, None, world.platform_id, None, json.dumps(body))
            )
            agents.append((statement_id, f"account:{world.issuer}|{sub}", True))
            activities.append((statement_id, object_iri, True))
            activities.append((statement_id, course_iri, False))
        made += count
        yield statements, agents, activities


STATEMENT_COLUMNS = (
    "id",
    "stored_us",
    "verb_id",
    "registration",
    "is_voided",
    "voids",
    "platform_id",
    "source_client_id",
    "body",
)


def write_statements(app: Flask, world: World, content: Content, total: int, rng: random.Random) -> None:
    vocabulary = Vocabulary(BASE_URL)
    with app.app_context():
        context = db.session.get(Context, world.context_pk)
        assert context is not None
        course_iri = course_activity(vocabulary, db.session, context, world.issuer)
        db.session.remove()
        engine = db.engine
        postgres = engine.dialect.name == "postgresql"
        for statements, agents, activities in statement_rows(
            world, content, course_iri, vocabulary, total, rng
        ):
            with engine.begin() as connection:
                if postgres:
                    raw = connection.connection.driver_connection
                    with raw.cursor() as cursor:  # type: ignore[union-attr]
                        for table, columns, rows in (
                            ("xapi_statements", STATEMENT_COLUMNS, statements),
                            ("xapi_statement_agents", ("statement_id", "ifi", "is_direct"), agents),
                            (
                                "xapi_statement_activities",
                                ("statement_id", "activity_id", "is_direct"),
                                activities,
                            ),
                        ):
                            with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                                for row in rows:
                                    copy.write_row(row)
                else:
                    marks = ", ".join("?" * len(STATEMENT_COLUMNS))
                    connection.exec_driver_sql(
                        f"INSERT INTO xapi_statements ({', '.join(STATEMENT_COLUMNS)}) VALUES ({marks})",
                        statements,
                    )
                    connection.exec_driver_sql(
                        "INSERT INTO xapi_statement_agents (statement_id, ifi, is_direct) VALUES (?, ?, ?)",
                        agents,
                    )
                    connection.exec_driver_sql(
                        "INSERT INTO xapi_statement_activities (statement_id, activity_id, is_direct)"
                        " VALUES (?, ?, ?)",
                        activities,
                    )


def seed(app: Flask, learners: int, statements: int, rng: random.Random) -> World:
    content: Content = app.extensions["socle_content"]
    seeder = Seeder(app, content, rng)
    with app.app_context():
        engine = db.engine
        with engine.begin() as connection:
            world = seeder.world(connection)
            seeder.staff(world)
            seeder.flush(connection)
        for start in range(0, learners, 500):
            for index in range(start, min(start + 500, learners)):
                seeder.learner(world, index)
            with engine.begin() as connection:
                seeder.flush(connection)
    write_statements(app, world, content, statements, rng)
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "postgresql":
            with engine.begin() as connection:
                for name in seeder.next_id:  # ids were given explicitly: move the sequences past them
                    connection.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                            f"(SELECT coalesce(max(id), 1) FROM {name}))"
                        )
                    )
                connection.execute(text("SELECT setval(pg_get_serial_sequence('status_lists', 'id'), 1)"))
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(text("ANALYZE"))
    return world


COUNTED: tuple[Any, ...] = (
    Enrolment,
    ModuleProgress,
    QuizAttempt,
    DiagnosticRun,
    CompetenceState,
    Credential,
    Attendance,
)


def row_counts(app: Flask) -> dict[str, int]:
    with app.app_context(), db.engine.connect() as connection:
        counts = {
            model.__tablename__: int(connection.execute(select(func.count()).select_from(model)).scalar_one())
            for model in COUNTED
        }
        for table in ("xapi_statements", "xapi_statement_agents", "xapi_statement_activities"):
            counts[table] = int(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
        return counts


def make_launch(app: Flask, world: World) -> str:
    """A trainer's launch of the course, as a validated LTI launch leaves it (no OIDC round trip)."""
    now = datetime.now(UTC)
    launch_id = secrets.token_urlsafe(32)
    claims = {
        "iss": world.issuer,
        "aud": DEMO_CLIENT_ID,
        "sub": "bench-trainer",
        "iat": int(now.timestamp()),
        "exp": int(now.timestamp()) + 300,
        "nonce": secrets.token_urlsafe(16),
        LTI_CLAIM + "message_type": "LtiResourceLinkRequest",
        LTI_CLAIM + "version": "1.3.0",
        LTI_CLAIM + "deployment_id": world.deployment_id,
        LTI_CLAIM + "target_link_uri": BASE_URL + "/lti/launch",
        LTI_CLAIM + "resource_link": {"id": "bench-dashboard", "title": "Tableau de bord"},
        LTI_CLAIM + "roles": STAFF_ROLES,
        LTI_CLAIM + "context": COURSE,
    }
    with app.app_context(), db.engine.begin() as connection:
        connection.execute(
            insert(Launch.__table__),
            [
                {
                    "id": launch_id,
                    "platform_id": world.platform_id,
                    "deployment_pk": world.deployment_pk,
                    "learner_id": world.staff_id,
                    "context_pk": world.context_pk,
                    "message_type": "LtiResourceLinkRequest",
                    "roles": STAFF_ROLES,
                    "is_staff": True,
                    "is_admin": False,
                    "resource_link_id": "bench-dashboard",
                    "target_link_uri": BASE_URL + "/lti/launch",
                    "locale": "fr-FR",
                    "claims": claims,
                    "browser_id": None,
                    "created_at": now,
                    "expires_at": now + timedelta(hours=8),
                }
            ],
        )
    return launch_id


# -- measuring -------------------------------------------------------------------------------------------


@dataclass
class Operation:
    name: str
    label: str
    judged: bool
    timings_ms: list[float] = field(default_factory=list)
    statements: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    reads_statements: bool = False

    def percentile(self, q: int) -> float:
        if len(self.timings_ms) < 2:
            return self.timings_ms[0] if self.timings_ms else math.nan
        return statistics.quantiles(self.timings_ms, n=100, method="inclusive")[q - 1]

    @property
    def met(self) -> bool:
        return self.percentile(95) <= TARGET_MS and not self.errors

    def summary(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "requests": len(self.timings_ms),
            "p50_ms": round(self.percentile(50), 1),
            "p95_ms": round(self.percentile(95), 1),
            "max_ms": round(max(self.timings_ms), 1) if self.timings_ms else None,
            "sql_per_request": round(statistics.fmean(self.statements), 1) if self.statements else None,
            "reads_statements_or_events": self.reads_statements,
            "target_ms": TARGET_MS if self.judged else None,
            "target_met": self.met if self.judged else None,
            "errors": self.errors[:3],
        }


class Dashboard:
    """Requests the dashboard's pages as a trainer's browser would, timing the server's share."""

    def __init__(self, app: Flask, world: World, launch: str, rng: random.Random) -> None:
        self.app, self.world, self.launch, self.rng = app, world, launch, rng
        self.client: FlaskClient = app.test_client(use_cookies=False)
        self.sql: list[str] = []
        with app.app_context():
            event.listen(db.engine, "before_cursor_execute", self.record)
        self.pages = max(1, math.ceil(len(world.learners) / 50))
        month_ago = (datetime.now(UTC) - timedelta(days=30)).date().isoformat()
        self.ops = {
            "overview": Operation("overview", "overview (GET /staff/dashboard/)", True),
            "heatmap": Operation("heatmap", "heatmap, a page of 50 learners", True),
            "filtered": Operation("filtered", f"overview, module M3, active since {month_ago}", False),
            "risk": Operation("risk", "learners at risk (inactive), a page", False),
            "learner": Operation("learner", "learner detail (timeline, trail)", False),
        }
        self.paths: dict[str, Callable[[], str]] = {
            "overview": lambda: "/staff/dashboard/",
            "heatmap": lambda: f"/staff/dashboard/heatmap?page={self.rng.randint(1, self.pages)}",
            "filtered": lambda: f"/staff/dashboard/?module=M3&since={month_ago}",
            "risk": lambda: f"/staff/dashboard/learners?risk=inactive&page={self.rng.randint(1, 10)}",
            "learner": lambda: (
                f"/staff/dashboard/courses/{world.context_pk}/learners/{self.rng.choice(world.learners)}"
            ),
        }

    def record(self, _connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.sql.append(statement)

    def request(self, name: str, record: bool) -> None:
        op = self.ops[name]
        path = self.paths[name]()
        url = path + ("&" if "?" in path else "?") + f"launch={self.launch}"
        before = len(self.sql)
        began = time.perf_counter()
        response = self.client.get(url)
        elapsed = (time.perf_counter() - began) * 1000
        if response.status_code != 200:
            op.errors.append(f"{path} -> {response.status_code}")
            return
        executed = self.sql[before:]
        if any("xapi_statement" in s or "learning_events" in s for s in executed):
            op.reads_statements = True
        del self.sql[before:]
        if record:
            op.timings_ms.append(elapsed)
            op.statements.append(len(executed))

    def run(self, rounds: int) -> None:
        for k in range(WARMUP_ROUNDS + rounds):
            for name in self.ops:
                self.request(name, k >= WARMUP_ROUNDS)


# -- one database, then the report ----------------------------------------------------------------------


@dataclass
class Result:
    backend: str
    counts: dict[str, int]
    seed_seconds: float
    measure_seconds: float
    ops: dict[str, Operation]


def run_database(admin_url: str | None, args: argparse.Namespace) -> Result:
    rng = random.Random(args.seed)
    with ExitStack() as cleanup:
        began = time.perf_counter()
        app, backend = in_process_app(cleanup, admin_url, "socle-bench-dashboard-", SECRET, BASE_URL)
        print(
            f"[{backend}] seeding {args.learners:,} learners and {args.statements:,} statements…", flush=True
        )
        world = seed(app, args.learners, args.statements, rng)
        launch = make_launch(app, world)
        seed_seconds = time.perf_counter() - began
        counts = row_counts(app)
        print(f"[{backend}] seeded in {seed_seconds:.0f} s; measuring…", flush=True)
        dashboard = Dashboard(app, world, launch, rng)
        began = time.perf_counter()
        dashboard.run(args.requests)
        return Result(backend, counts, seed_seconds, time.perf_counter() - began, dashboard.ops)


def report(results: list[Result]) -> bool:
    ok = True
    for result in results:
        print()
        print(
            f"{result.backend}: seeded in {result.seed_seconds:.0f} s, "
            f"measured in {result.measure_seconds:.0f} s"
        )
        print("  " + ", ".join(f"{name} {count:,}" for name, count in result.counts.items()))
        header = (
            f"{'operation':<46}{'requests':>9}{'p50':>8}{'p95':>8}{'max':>8}{'SQL/req':>9}"
            f"{'statements?':>13}{'target':>8}  verdict"
        )
        print(header)
        print("-" * len(header))
        for op in result.ops.values():
            verdict = ("MET" if op.met else "MISSED") if op.judged else "(extra)"
            target = f"{TARGET_MS:.0f}" if op.judged else "—"
            print(
                f"{op.label:<46}{len(op.timings_ms):>9}{op.percentile(50):>8.1f}{op.percentile(95):>8.1f}"
                f"{max(op.timings_ms or [math.nan]):>8.1f}{statistics.fmean(op.statements or [0]):>9.1f}"
                f"{'read' if op.reads_statements else 'never':>13}{target:>8}  {verdict}"
            )
            for error in list(dict.fromkeys(op.errors))[:3]:
                ok = False
                print(f"    failure ({len(op.errors)} in all): {error}")
        judged = [op for op in result.ops.values() if op.judged]
        ok = ok and not any(op.reads_statements for op in judged)
    print()
    print(f"Target: overview and heatmap page, p95 <= {TARGET_MS:.0f} ms of server time each.")
    print("| database | overview p50 / p95 | heatmap page p50 / p95 | target (p95 ≤ 300 ms) |")
    print("|---|---|---|---|")
    for result in results:
        overview, heatmap = result.ops["overview"], result.ops["heatmap"]
        verdict = "met" if overview.met and heatmap.met else "**missed**"
        print(
            f"| {result.backend} | {overview.percentile(50):.0f} / {overview.percentile(95):.0f} ms "
            f"| {heatmap.percentile(50):.0f} / {heatmap.percentile(95):.0f} ms | {verdict} |"
        )
    return ok


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--learners", type=int, default=5000, help="learners in the cohort (5000)")
    parser.add_argument("--statements", type=int, default=1_000_000, help="xAPI statements (1000000)")
    parser.add_argument("--requests", type=int, default=50, help="measured requests per operation (50)")
    parser.add_argument(
        "--database-url", default=DEFAULT_POSTGRES, help=f"PostgreSQL server ({DEFAULT_POSTGRES})"
    )
    parser.add_argument("--skip-postgres", action="store_true", help="measure SQLite only")
    parser.add_argument("--skip-sqlite", action="store_true", help="measure PostgreSQL only")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the data and the requests (1)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    if min(args.learners, args.requests) < 1 or args.statements < 0:
        parser.error("--learners and --requests must be at least 1, --statements at least 0")
    if args.skip_postgres and args.skip_sqlite:
        parser.error("--skip-postgres and --skip-sqlite leave nothing to measure")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    began = time.perf_counter()
    load_before = os.getloadavg()[0]
    print(f"{os.cpu_count()} CPUs; load average {load_before:.2f} before the run")
    databases = ([] if args.skip_postgres else [args.database_url]) + ([] if args.skip_sqlite else [None])
    results = [run_database(url, args) for url in databases]
    ok = report(results)
    print(
        f"Whole run: {time.perf_counter() - began:.0f} s; load average {os.getloadavg()[0]:.2f} at the end."
    )
    if args.json:
        figures = {
            "learners": args.learners,
            "statements": args.statements,
            "requests": args.requests,
            "target_ms": TARGET_MS,
            "databases": [
                {
                    "database": r.backend,
                    "rows": r.counts,
                    "seed_seconds": round(r.seed_seconds, 1),
                    "operations": {name: op.summary() for name, op in r.ops.items()},
                }
                for r in results
            ],
        }
        strict = json.loads(json.dumps(figures), parse_constant=lambda _: None)  # NaN -> null
        args.json.write_text(json.dumps(strict, indent=2) + "\n", encoding="utf-8")
        print(f"Figures written to {args.json}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
