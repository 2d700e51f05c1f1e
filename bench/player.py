"""Benchmark: the module player's server time, with thousands of learners' progress in the database.

Run: ``.venv/bin/python bench/player.py [--learners 10000] [--requests 500] [--database-url URL]
[--json PATH]`` (``--help`` for the rest).

What it does
    Builds Socle in-process (``create_app`` + ``flask setup``, in a temporary instance folder; SQLite, or
    with ``--database-url`` a throw-away ``socle_bench_<random>`` PostgreSQL database, dropped afterwards)
    and seeds it with bulk inserts: the demo platform and its deployment (from ``setup``), ``--contexts``
    course contexts (20), ``--learners`` learners spread over them (one enrolment each, a tenth in a
    second course) and, in each learner's first course, a history written as the services write it:
    module progress (modules completed in order, then one in progress with some pages read), finished quiz
    attempts with every answer (a quarter failed first, then passed), open attempts part-answered,
    deliverables and attendance for the live-format modules, live sessions per course (a launch webinaire
    attended by 40 % of the course), submitted and in-progress autodiagnostic runs, and one learning event
    per step (about 35 per learner: ~360,000 for 10,000 learners). Not seeded: the xAPI statements Socle
    records with each event (those tables start empty; the measured requests do write theirs). PostgreSQL
    is then ANALYZEd (as autovacuum would on a live server); SQLite is left without statistics, as Socle
    runs it.

    Launches are made for a random sample of the learners by inserting ``lti_launches`` rows directly,
    with the claims a validated launch keeps (what the demo platform sends; no OIDC round trip). Then the
    requests go through the whole Flask stack with its test client (routing, launch lookup, services,
    commit, templates, security headers), in rounds that interleave the operations, each request by
    another learner:
        page            GET  /modules/<slug>/pages/<n>       a random page of a random module: records the
                                                              page read (once) and renders it
        answer          POST /modules/<slug>/quiz/attempts/<id>/answers
                                                              the next question of the learner's open
                                                              attempt (about 70 % right)
        quiz page       GET  the 303 target of that answer    feedback and the next question (extra)
        module overview GET  /modules/<slug>/                 (extra)
        learner home    GET  /learner/                        (extra)
    Attempts are opened (POST /modules/<slug>/quiz/attempts) before they are answered, and brought to a
    random question (the earlier ones answered), untimed: the measured answer is any of the quiz's, so
    about one in twelve is the last one, which scores the attempt (and may complete the module).
    A few rounds of warm-up run first (template compilation, connection pool, caches).

How to read the figures
    p50/p95/p99   server time of one request in milliseconds: from the test client's call to the response
                  in hand (WSGI, Flask, services, SQL, commit, Jinja), without network or browser. The
                  client's own share (building the WSGI environ) is a few tens of microseconds.
    SQL/req       mean number of SQL statements the request ran (SQLAlchemy cursor executions).
    target        30 ms, judged on p95: MET when p95 < 30 ms. The issue's target covers the first two
                  rows (page and answer); the other rows are shown against it for information.
    The process is single-threaded: these are service times with no queueing. Everything (Python, SQLite,
    or the PostgreSQL server) shares the machine's CPUs; rerun before trusting a few percent.
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
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, Table, event, func, insert, select, text

# Run as a script, this file's folder (bench/) comes first on sys.path, where a benchmark named like one of
# Socle's packages (bench/xapi.py) would shadow it: the repository comes first instead.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import in_process_app  # noqa: E402
from demo_platform.platform import CLIENT_ID as DEMO_CLIENT_ID
from lti_tool.content.loader import Content, Module
from lti_tool.content.schemas import ChoiceQuestion, MatchingQuestion, OrderingQuestion, TrueFalseQuestion
from lti_tool.db import db
from lti_tool.diagnostic import scoring
from lti_tool.diagnostic.models import DiagnosticRun
from lti_tool.events import (
    ATTENDANCE_RECORDED,
    DELIVERABLE_SUBMITTED,
    DIAGNOSTIC_SUBMITTED,
    MODULE_COMPLETED,
    PAGE_READ,
    QUESTION_ANSWERED,
    QUIZ_FAILED,
    QUIZ_PASSED,
    LearningEvent,
)
from lti_tool.learners.models import Context, Deployment, Enrolment, Learner, Platform
from lti_tool.lti.models import Launch
from lti_tool.training.models import Attendance, Deliverable, LiveSession, ModuleProgress, QuizAttempt

TARGET_MS = 30.0
SECRET = "bench-player-secret-" + "x" * 40  # 60 characters, only for this throw-away instance
BASE_URL = "http://127.0.0.1"
LEARNERS_PER_CHUNK = 500  # rows of that many learners are generated, then inserted, at a time
BATCH = 5000  # rows per executemany
WARMUP_ROUNDS = 20
CORRECT_RATE = 0.7
LIS = "http://purl.imsglobal.org/vocab/lis/v2/"
LEARNER_ROLES = [LIS + "membership#Learner", LIS + "institution/person#Student"]
LTI_CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
COURSE_OFFERING = "http://purl.imsglobal.org/vocab/lis/v2/course#CourseOffering"
# How many modules a learner has started (completed in order, the last one still in progress).
STARTED_WEIGHTS = {0: 10, 1: 30, 2: 27, 3: 14, 4: 8, 5: 5, 6: 3, 7: 1.5, 8: 1.5}
FIRST_ATTEMPT_FAILED = 0.25
OPEN_ATTEMPT = 0.3  # of learners who read every page of their module in progress
SUBMITTED_DIAGNOSTIC = 0.3
OPEN_DIAGNOSTIC = 0.05
WEBINAIRE_ATTENDANCE = 0.4


# -- database ------------------------------------------------------------------------------------------


# -- quiz responses --------------------------------------------------------------------------------------


def response_for(question: Any, correct: bool, rng: random.Random) -> Any:
    """A stored response (as ``services.parse_response`` returns it), right or wrong as asked."""
    if isinstance(question, ChoiceQuestion):
        right = sorted(c.id for c in question.choices if c.correct)
        wrong = sorted(c.id for c in question.choices if not c.correct)
        if question.type == "single":
            return right[0] if correct or not wrong else rng.choice(wrong)
        if correct:
            return right
        if wrong:
            return sorted({*right[:-1], rng.choice(wrong)})
        return right[:-1] or right
    if isinstance(question, TrueFalseQuestion):
        return question.answer if correct else not question.answer
    if isinstance(question, MatchingQuestion | OrderingQuestion):
        size = len(question.pairs) if isinstance(question, MatchingQuestion) else len(question.items)
        order = list(range(size))
        if not correct:
            order[0], order[1] = order[1], order[0]
        return order
    raise TypeError(f"unknown question type {type(question).__name__}")


def form_for(question: Any, response: Any) -> dict[str, Any]:
    """The form a browser posts for this response (what ``services.parse_response`` reads)."""
    form: dict[str, Any] = {"question": question.id}
    if isinstance(question, ChoiceQuestion):
        form["choice"] = response if question.type == "single" else list(response)
    elif isinstance(question, TrueFalseQuestion):
        form["answer"] = "true" if response else "false"
    else:
        prefix = "match" if isinstance(question, MatchingQuestion) else "position"
        form.update({f"{prefix}-{i}": str(value) for i, value in enumerate(response)})
    return form


# -- seeding ---------------------------------------------------------------------------------------------


@dataclass
class Ids:
    """Next primary key per table (rows are inserted with explicit ids, in dependency order)."""

    next: dict[str, int] = field(default_factory=dict)

    def take(self, table: str) -> int:
        value = self.next[table]
        self.next[table] = value + 1
        return value


@dataclass
class Rows:
    """The rows of one chunk of learners, per table, in the order they must be inserted."""

    tables: dict[Table, list[dict[str, Any]]]

    def add(self, model: Any, row: dict[str, Any]) -> None:
        self.tables[model.__table__].append(row)


SEEDED_MODELS: tuple[Any, ...] = (
    Learner,
    Enrolment,
    ModuleProgress,
    QuizAttempt,
    Deliverable,
    Attendance,
    DiagnosticRun,
    LearningEvent,
)


@dataclass
class World:
    platform_id: int
    deployment_pk: int
    deployment_id: str
    issuer: str
    contexts: list[int]  # context primary keys
    sessions: dict[tuple[int, str | None], int]  # (context, module id or None) -> live session id
    primary_context: dict[int, int] = field(default_factory=dict)  # learner id -> context
    subs: dict[int, str] = field(default_factory=dict)  # learner id -> LTI sub
    courses: dict[int, dict[str, str]] = field(default_factory=dict)  # context -> LTI context claim
    learner_ids: list[int] = field(default_factory=list)


def insert_rows(connection: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), BATCH):
        connection.execute(insert(table), rows[start : start + BATCH])


def diagnostic_results(content: Content, rng: random.Random, count: int = 24) -> list[dict[str, Any]]:
    """A few complete autodiagnostic runs (profile, answers, scored result) to hand out to learners."""
    diagnostic = content.diagnostic
    made = []
    for _ in range(count):
        profile = {q.id: rng.choice(q.options).id for q in diagnostic.profiling}
        # Every question the scoring asks for: the practice questions about the person, then the axes.
        answers = {
            question: rng.choice([0, 1, 2, 2, 3, 3, 4]) for question in scoring.all_question_ids(diagnostic)
        }
        result = scoring.score(diagnostic, profile, answers)
        data = {
            "axis_scores": {k: round(v, 2) for k, v in result.axis_scores.items()},
            "global_score": round(result.global_score, 2),
            "level": result.level,
            "priority_axis": result.priority_axis,
            "strength_axis": result.strength_axis,
            "spread": round(result.spread, 2),
            "dont_know": list(result.dont_know),
            "rule": result.rule,
            "primary_format": result.primary_format,
            "secondary_format": result.secondary_format,
            "modules": list(result.modules),
        }
        made.append(
            {
                "profile": profile,
                "variant": scoring.active_variant(diagnostic, profile),
                "answers": answers,
                "result": data,
            }
        )
    return made


class LearnerHistory:
    """Writes one learner's history: progress, attempts, deliverables, attendance, runs and events."""

    def __init__(
        self, world: World, content: Content, ids: Ids, rows: Rows, rng: random.Random, runs: list[Any]
    ) -> None:
        self.world = world
        self.content = content
        self.ids = ids
        self.rows = rows
        self.rng = rng
        self.runs = runs

    def event(
        self,
        at: datetime,
        learner: int,
        context: int,
        type_: str,
        module: str | None,
        payload: dict[str, Any],
    ) -> None:
        self.rows.add(
            LearningEvent,
            {
                "id": str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
                "type": type_,
                "platform_id": self.world.platform_id,
                "context_pk": context,
                "learner_id": learner,
                "actor_id": None,
                "launch_id": None,
                "module_id": module,
                "content_version": self.content.version,
                "payload": payload,
                "occurred_at": at,
            },
        )

    def write(self, index: int, since: datetime) -> None:
        world, rng = self.world, self.rng
        learner = self.ids.take("learners")
        context = world.contexts[index % len(world.contexts)]
        world.primary_context[learner] = context
        world.subs[learner] = f"bench-learner-{index}"
        world.learner_ids.append(learner)
        joined = since + timedelta(days=rng.uniform(0, 60), minutes=rng.uniform(0, 600))
        family, given = f"Apprenant{index:05d}", "Prénom" + rng.choice("ABCDE")
        self.rows.add(
            Learner,
            {
                "id": learner,
                "issuer": world.issuer,
                "sub": world.subs[learner],
                "platform_id": world.platform_id,
                "name": f"{given} {family}",
                "given_name": given,
                "family_name": family,
                "email": f"apprenant{index}@example.org",
                "locale": "fr-FR",
                "created_at": joined,
                "last_launch_at": joined + timedelta(days=rng.uniform(0, 30)),
            },
        )
        courses = [context]
        if len(world.contexts) > 1 and rng.random() < 0.1:
            courses.append(world.contexts[(index + 7) % len(world.contexts)])
        for course in courses:
            self.rows.add(
                Enrolment,
                {
                    "id": self.ids.take("enrolments"),
                    "learner_id": learner,
                    "context_pk": course,
                    "platform_id": world.platform_id,
                    "roles": LEARNER_ROLES,
                    "is_staff": False,
                    "first_launch_at": joined,
                    "last_launch_at": joined + timedelta(days=rng.uniform(0, 30)),
                },
            )
        clock = joined + timedelta(minutes=5)
        clock = self.diagnostic(learner, context, clock)
        started = rng.choices(list(STARTED_WEIGHTS), weights=list(STARTED_WEIGHTS.values()))[0]
        for number, module in enumerate(self.content.modules[:started], start=1):
            clock = self.module(learner, context, module, clock, completed=number < started)
        if rng.random() < WEBINAIRE_ATTENDANCE:
            self.attendance(learner, context, None, clock, present=rng.random() < 0.8)

    def diagnostic(self, learner: int, context: int, clock: datetime) -> datetime:
        draw = self.rng.random()
        if draw >= SUBMITTED_DIAGNOSTIC + OPEN_DIAGNOSTIC:
            return clock
        run = self.rng.choice(self.runs)
        submitted = draw < SUBMITTED_DIAGNOSTIC
        done = clock + timedelta(minutes=self.rng.uniform(8, 25))
        run_id = self.ids.take("diagnostic_runs")
        self.rows.add(
            DiagnosticRun,
            {
                "id": run_id,
                "platform_id": self.world.platform_id,
                "context_pk": context,
                "learner_id": learner,
                "content_version": self.content.version,
                "variant": run["variant"],
                "profile": run["profile"],
                "answers": run["answers"] if submitted else dict(list(run["answers"].items())[:7]),
                "status": "submitted" if submitted else "in_progress",
                "result": run["result"] if submitted else None,
                "global_score": run["result"]["global_score"] if submitted else None,
                "level": run["result"]["level"] if submitted else None,
                "started_at": clock,
                "updated_at": done,
                "submitted_at": done if submitted else None,
            },
        )
        if submitted:
            payload = {
                "run": run_id,
                "variant": run["variant"],
                "profile": run["profile"],
                **run["result"],
                "duration_seconds": (done - clock).total_seconds(),
            }
            self.event(done, learner, context, DIAGNOSTIC_SUBMITTED, None, payload)
        return done + timedelta(hours=self.rng.uniform(1, 72))

    def attendance(self, learner: int, context: int, module: str | None, at: datetime, present: bool) -> None:
        session_id = self.world.sessions[(context, module)]
        self.rows.add(
            Attendance,
            {
                "id": self.ids.take("attendances"),
                "session_id": session_id,
                "learner_id": learner,
                "is_present": present,
                "recorded_by": None,
                "recorded_at": at,
            },
        )
        kind = "webinaire" if module is None else "atelier"
        payload = {"session": session_id, "kind": kind, "present": present, "duration_minutes": 90}
        self.event(at, learner, context, ATTENDANCE_RECORDED, module, payload)

    def module(
        self, learner: int, context: int, module: Module, clock: datetime, completed: bool
    ) -> datetime:
        rng, version = self.rng, self.content.version
        pages = len(module.pages)
        progress_id = self.ids.take("module_progress")
        started_at = clock
        if completed:
            read = list(range(1, pages + 1))
        else:
            read = list(range(1, rng.randint(1, pages) + 1))
            if len(read) > 2 and rng.random() < 0.2:
                read.remove(rng.choice(read[1:-1]))  # a page skipped
        for number in read:
            payload = {"page": number, "title": module.pages[number - 1].title, "pages": pages}
            self.event(clock, learner, context, PAGE_READ, module.id, payload)
            clock += timedelta(minutes=rng.uniform(2, 12))
        best: float | None = None
        passed = False
        open_attempt = not completed and len(read) == pages and rng.random() < OPEN_ATTEMPT
        attempts: list[tuple[bool, bool]] = []  # (finished, passed)
        if completed:
            if rng.random() < FIRST_ATTEMPT_FAILED:
                attempts.append((True, False))
            attempts.append((True, True))
        elif open_attempt:
            if rng.random() < FIRST_ATTEMPT_FAILED:
                attempts.append((True, False))
            attempts.append((False, False))
        for number, (finished, should_pass) in enumerate(attempts, start=1):
            attempt_started = clock
            questions = rng.sample(list(module.quiz.questions), module.draw)  # the attempt's draw
            answered = questions if finished else questions[: rng.randint(0, len(questions) - 1)]
            size = len(questions)
            needed = math.ceil(module.meta.mastery_score * size)  # right answers to pass
            misses = rng.randint(0, size - needed) if should_pass else rng.randint(size - needed + 1, size)
            wrong = set(rng.sample(range(size), misses))
            answers = {}
            for position, question in enumerate(answered):
                correct = position not in wrong
                response = response_for(question, correct, rng)
                answers[question.id] = {"response": response, "correct": correct}
                payload = {
                    "attempt": number,
                    "question": question.id,
                    "type": question.type,
                    "response": response,
                    "correct": correct,
                }
                self.event(clock, learner, context, QUESTION_ANSWERED, module.id, payload)
                clock += timedelta(seconds=rng.uniform(20, 120))
            score = is_passed = finished_at = None
            if finished:
                right = sum(1 for a in answers.values() if a["correct"])
                score = right / len(questions)
                is_passed = score >= module.meta.mastery_score
                finished_at = clock
                best, passed = max(best or 0.0, score), passed or is_passed
                payload = {
                    "attempt": number,
                    "score": score,
                    "mastery_score": module.meta.mastery_score,
                    "correct": right,
                    "questions": len(questions),
                    "duration_seconds": (clock - attempt_started).total_seconds(),
                }
                self.event(
                    clock, learner, context, QUIZ_PASSED if is_passed else QUIZ_FAILED, module.id, payload
                )
            self.rows.add(
                QuizAttempt,
                {
                    "id": self.ids.take("quiz_attempts"),
                    "progress_id": progress_id,
                    "learner_id": learner,
                    "module_id": module.id,
                    "content_version": version,
                    "number": number,
                    "questions": [q.id for q in questions],
                    "answers": answers,
                    "score": score,
                    "is_passed": is_passed,
                    "started_at": attempt_started,
                    "finished_at": finished_at,
                },
            )
            clock += timedelta(minutes=rng.uniform(5, 240))
        if completed and module.meta.deliverable is not None:
            words = rng.randint(module.meta.deliverable.min_words, module.meta.deliverable.min_words * 3)
            self.rows.add(
                Deliverable,
                {
                    "id": self.ids.take("deliverables"),
                    "progress_id": progress_id,
                    "learner_id": learner,
                    "module_id": module.id,
                    "content_version": version,
                    "text": " ".join(["mot"] * words),
                    "submitted_at": clock,
                },
            )
            self.event(clock, learner, context, DELIVERABLE_SUBMITTED, module.id, {"words": words})
        if completed and module.meta.completion.attendance:
            self.attendance(learner, context, module.id, clock, present=True)
        completed_at = clock if completed else None
        if completed_at is not None:
            payload = {"score": best, "duration_seconds": (completed_at - started_at).total_seconds()}
            self.event(completed_at, learner, context, MODULE_COMPLETED, module.id, payload)
        self.rows.add(
            ModuleProgress,
            {
                "id": progress_id,
                "platform_id": self.world.platform_id,
                "context_pk": context,
                "learner_id": learner,
                "module_id": module.id,
                "content_version": version,
                "pages_read": read,
                "last_page": read[-1],
                "best_score": best,
                "is_quiz_passed": passed,
                "started_at": started_at,
                "updated_at": clock,
                "completed_at": completed_at,
            },
        )
        return clock + timedelta(days=rng.uniform(0.5, 10))


def seed(app: Flask, learners: int, contexts_count: int, rng: random.Random) -> World:
    """Bulk-insert the courses, learners and their histories; return what the requests need of them."""
    content: Content = app.extensions["socle_content"]
    now = datetime.now(UTC)
    since = now - timedelta(days=120)
    with app.app_context():
        engine = db.engine
        with engine.begin() as connection:
            platform = connection.execute(
                select(Platform.id, Platform.issuer).where(Platform.client_id == DEMO_CLIENT_ID)
            ).one()
            deployment_pk, deployment_id = connection.execute(
                select(Deployment.id, Deployment.deployment_id)
                .where(Deployment.platform_id == platform.id)
                .order_by(Deployment.id)
            ).one()
            ids = Ids()
            for model in (Context, LiveSession, *[m for m in SEEDED_MODELS if m is not LearningEvent]):
                top = connection.execute(select(func.max(model.id))).scalar()
                ids.next[model.__tablename__] = (top or 0) + 1
            contexts = []
            for number in range(1, contexts_count + 1):
                context = ids.take("contexts")
                contexts.append(
                    {
                        "id": context,
                        "platform_id": platform.id,
                        "deployment_pk": deployment_pk,
                        "lti_context_id": f"bench-course-{number}",
                        "label": f"AFF-{number:02d}",
                        "title": f"Parcours AFF, cohorte {number}",
                        "created_at": since,
                    }
                )
            insert_rows(connection, Context.__table__, contexts)
            live_sessions, sessions = [], {}
            timed_modules = [m.id for m in content.modules if m.meta.completion.attendance]
            for context in (c["id"] for c in contexts):
                for module_id in [None, *timed_modules]:
                    session_id = ids.take("live_sessions")
                    sessions[(context, module_id)] = session_id
                    live_sessions.append(
                        {
                            "id": session_id,
                            "platform_id": platform.id,
                            "context_pk": context,
                            "kind": "webinaire" if module_id is None else "atelier",
                            "title": f"Séance {module_id or 'de lancement'}",
                            "module_id": module_id,
                            "starts_at": since + timedelta(days=rng.uniform(10, 150)),
                            "duration_minutes": 90,
                            "created_by": None,
                            "created_at": since,
                        }
                    )
            insert_rows(connection, LiveSession.__table__, live_sessions)
        world = World(
            platform.id, deployment_pk, deployment_id, platform.issuer, [c["id"] for c in contexts], sessions
        )
        world.courses = {
            c["id"]: {"id": c["lti_context_id"], "label": c["label"], "title": c["title"]} for c in contexts
        }
        runs = diagnostic_results(content, rng)
        for start in range(0, learners, LEARNERS_PER_CHUNK):
            rows = Rows({model.__table__: [] for model in SEEDED_MODELS})
            history = LearnerHistory(world, content, ids, rows, rng, runs)
            for index in range(start, min(start + LEARNERS_PER_CHUNK, learners)):
                history.write(index, since)
            with engine.begin() as connection:
                for table, table_rows in rows.tables.items():
                    insert_rows(connection, table, table_rows)
        if engine.dialect.name == "postgresql":
            with engine.begin() as connection:
                # Ids were given explicitly: move the sequences past them for the rows the app adds.
                for name in ids.next:
                    connection.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                            f"(SELECT coalesce(max(id), 1) FROM {name}))"
                        )
                    )
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(text("ANALYZE"))
    return world


COUNTED: tuple[Any, ...] = (
    Context,
    Learner,
    Enrolment,
    ModuleProgress,
    QuizAttempt,
    LearningEvent,
    DiagnosticRun,
    LiveSession,
    Attendance,
    Deliverable,
    Launch,
)


def row_counts(app: Flask) -> dict[str, int]:
    with app.app_context(), db.engine.connect() as connection:
        return {
            model.__tablename__: int(connection.execute(select(func.count()).select_from(model)).scalar_one())
            for model in COUNTED
        }


def launch_claims(world: World, learner: int, now: datetime) -> dict[str, Any]:
    """The validated id_token claims a launch row keeps (what the demo platform sends a learner)."""
    return {
        "iss": world.issuer,
        "aud": DEMO_CLIENT_ID,
        "sub": world.subs[learner],
        "iat": int(now.timestamp()),
        "exp": int(now.timestamp()) + 300,
        "nonce": secrets.token_urlsafe(16),
        LTI_CLAIM + "message_type": "LtiResourceLinkRequest",
        LTI_CLAIM + "version": "1.3.0",
        LTI_CLAIM + "deployment_id": world.deployment_id,
        LTI_CLAIM + "target_link_uri": BASE_URL + "/lti/launch",
        LTI_CLAIM + "resource_link": {"id": "bench-resource", "title": "Socle"},
        LTI_CLAIM + "roles": LEARNER_ROLES,
        LTI_CLAIM + "context": {**world.courses[world.primary_context[learner]], "type": [COURSE_OFFERING]},
        LTI_CLAIM + "launch_presentation": {"locale": "fr-FR", "document_target": "iframe"},
    }


def make_launches(app: Flask, world: World, learner_ids: list[int]) -> dict[int, str]:
    """One valid launch per learner, as a validated LTI launch leaves it (no OIDC round trip)."""
    now = datetime.now(UTC)
    launches = {learner: secrets.token_urlsafe(32) for learner in learner_ids}
    rows: list[dict[str, Any]] = [
        {
            "id": launch_id,
            "platform_id": world.platform_id,
            "deployment_pk": world.deployment_pk,
            "learner_id": learner,
            "context_pk": world.primary_context[learner],
            "message_type": "LtiResourceLinkRequest",
            "roles": LEARNER_ROLES,
            "is_staff": False,
            "is_admin": False,
            "resource_link_id": "bench-resource",
            "target_link_uri": BASE_URL + "/lti/launch",
            "locale": "fr-FR",
            "claims": launch_claims(world, learner, now),
            "browser_id": None,
            "created_at": now,
            "expires_at": now + timedelta(hours=8),
        }
        for learner, launch_id in launches.items()
    ]
    with app.app_context(), db.engine.begin() as connection:
        insert_rows(connection, Launch.__table__, rows)
    return launches


# -- measuring -------------------------------------------------------------------------------------------


class BenchFailure(Exception):
    pass


@dataclass
class Operation:
    name: str
    label: str
    judged: bool  # part of the target (page and answer)
    timings_ms: list[float] = field(default_factory=list)
    statements: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def percentile(self, q: int) -> float:
        if len(self.timings_ms) < 2:
            return self.timings_ms[0] if self.timings_ms else math.nan
        return statistics.quantiles(self.timings_ms, n=100, method="inclusive")[q - 1]

    @property
    def met(self) -> bool:
        return self.percentile(95) < TARGET_MS

    def summary(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "requests": len(self.timings_ms),
            "failures": len(self.errors),
            "p50_ms": round(self.percentile(50), 2),
            "p95_ms": round(self.percentile(95), 2),
            "p99_ms": round(self.percentile(99), 2),
            "mean_ms": round(statistics.fmean(self.timings_ms), 2) if self.timings_ms else None,
            "max_ms": round(max(self.timings_ms), 2) if self.timings_ms else None,
            "sql_statements_per_request": round(statistics.fmean(self.statements), 2)
            if self.statements
            else None,
            "target_ms": TARGET_MS,
            "judged_on": "p95",
            "part_of_target": self.judged,
            "target_met": self.met,
            "errors": list(dict.fromkeys(self.errors))[:5],
        }


class StatementCounter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, *_args: Any) -> None:
        self.count += 1


@dataclass
class QuizLearner:
    learner_id: int
    launch_id: str
    modules: list[Module]  # the ones still to try, the current first
    attempt_id: int | None = None
    drawn: list[str] = field(default_factory=list)  # the attempt's questions, in the order asked
    answered: set[str] = field(default_factory=set)


class Player:
    """Drives the module player as learners' browsers would, timing the server's share."""

    def __init__(self, app: Flask, content: Content, launches: dict[int, str], rng: random.Random) -> None:
        self.app, self.content, self.launches, self.rng = app, content, launches, rng
        self.client: FlaskClient = app.test_client(use_cookies=False)
        self.counter = StatementCounter()
        with app.app_context():
            event.listen(db.engine, "before_cursor_execute", self.counter)
        learners = list(launches)
        self.page_learners = rng.sample(learners, len(learners))
        self.home_learners = rng.sample(learners, len(learners))
        self.overview_learners = rng.sample(learners, len(learners))
        self.quiz_learners = [
            QuizLearner(learner, launches[learner], rng.sample(list(content.modules), len(content.modules)))
            for learner in rng.sample(learners, len(learners))
        ]
        self.ops = {
            "page": Operation("page", "module page (GET, records the read)", True),
            "answer": Operation("answer", "quiz answer (POST)", True),
            "quiz": Operation("quiz", "quiz page after an answer (GET)", False),
            "overview": Operation("overview", "module overview (GET)", False),
            "home": Operation("home", "learner home (GET)", False),
        }
        self.scored = 0  # measured answers that were an attempt's last (scored it)

    def request(self, method: str, url: str, data: dict[str, Any] | None = None) -> tuple[Any, float, int]:
        before = self.counter.count
        began = time.perf_counter()
        response = self.client.open(url, method=method, data=data)
        elapsed = (time.perf_counter() - began) * 1000
        return response, elapsed, self.counter.count - before

    def timed(
        self,
        op: Operation,
        record: bool,
        method: str,
        url: str,
        expect: int,
        data: dict[str, Any] | None = None,
    ) -> Any:
        response, elapsed, statements = self.request(method, url, data)
        if response.status_code != expect:
            body = response.get_data(as_text=True)[:300].replace("\n", " ")
            op.errors.append(f"{method} {url.split('?')[0]} -> {response.status_code}: {body}")
            return None
        if record:
            op.timings_ms.append(elapsed)
            op.statements.append(statements)
        return response

    def page(self, k: int, record: bool) -> None:
        learner = self.page_learners[k % len(self.page_learners)]
        module = self.rng.choice(self.content.modules)
        number = self.rng.randint(1, len(module.pages))
        url = f"/modules/{module.slug}/pages/{number}?launch={self.launches[learner]}"
        self.timed(self.ops["page"], record, "GET", url, 200)

    def overview(self, k: int, record: bool) -> None:
        learner = self.overview_learners[k % len(self.overview_learners)]
        module = self.rng.choice(self.content.modules)
        self.timed(
            self.ops["overview"],
            record,
            "GET",
            f"/modules/{module.slug}/?launch={self.launches[learner]}",
            200,
        )

    def home(self, k: int, record: bool) -> None:
        learner = self.home_learners[k % len(self.home_learners)]
        self.timed(self.ops["home"], record, "GET", f"/learner/?launch={self.launches[learner]}", 200)

    def open_attempt(self, quizzer: QuizLearner) -> None:
        """Start (or resume) an attempt, untimed; move on to another module when attempts are used up."""
        while quizzer.modules:
            module = quizzer.modules[0]
            url = f"/modules/{module.slug}/quiz/attempts?launch={quizzer.launch_id}"
            response, _, _ = self.request("POST", url)
            if response.status_code == 303:
                with self.app.app_context():
                    attempt = db.session.execute(
                        select(QuizAttempt.id, QuizAttempt.questions, QuizAttempt.answers).where(
                            QuizAttempt.learner_id == quizzer.learner_id,
                            QuizAttempt.module_id == module.id,
                            QuizAttempt.finished_at.is_(None),
                        )
                    ).one()
                    db.session.remove()
                quizzer.attempt_id, quizzer.answered = attempt.id, set(attempt.answers)
                quizzer.drawn = list(attempt.questions or [q.id for q in module.quiz.questions])
                return
            if response.status_code != 409:
                raise BenchFailure(f"starting an attempt answered {response.status_code}")
            quizzer.modules.pop(0)
        raise BenchFailure(f"learner {quizzer.learner_id} has no attempt left in any module")

    def post_answer(self, quizzer: QuizLearner, record: bool | None) -> Any:
        """Answer the next question of the learner's attempt: timed (``record`` True or False, as a
        warm-up) or not at all (None, to bring the attempt to the question wanted)."""
        module = quizzer.modules[0]
        question = module.question(next(i for i in quizzer.drawn if i not in quizzer.answered))
        assert question is not None
        response = response_for(question, self.rng.random() < CORRECT_RATE, self.rng)
        url = f"/modules/{module.slug}/quiz/attempts/{quizzer.attempt_id}/answers?launch={quizzer.launch_id}"
        form = form_for(question, response)
        if record is None:
            answered, _, _ = self.request("POST", url, form)
            if answered.status_code != 303:
                raise BenchFailure(f"an untimed answer got {answered.status_code}")
        else:
            answered = self.timed(self.ops["answer"], record, "POST", url, 303, form)
        quizzer.answered.add(question.id)
        if len(quizzer.answered) == len(quizzer.drawn):
            quizzer.attempt_id = None  # scored: the next answer by this learner opens a new attempt
            if record:
                self.scored += 1
        return answered

    def answer(self, k: int, record: bool) -> None:
        """One timed answer, at a random position in the quiz (untimed answers before it, if needed), so
        that about one answer in ten (the draw) is the last one, which scores the attempt."""
        quizzer = self.quiz_learners[k % len(self.quiz_learners)]
        if quizzer.attempt_id is None:
            self.open_attempt(quizzer)
        position = self.rng.randrange(len(quizzer.drawn))
        while len(quizzer.answered) < position:
            self.post_answer(quizzer, None)
        answered = self.post_answer(quizzer, record)
        if answered is not None:
            location = answered.headers["Location"].split("#", 1)[0]
            self.timed(self.ops["quiz"], record, "GET", location, 200)

    def run(self, rounds: int, warmup: int) -> None:
        steps: list[Callable[[int, bool], None]] = [self.page, self.answer, self.overview, self.home]
        for k in range(warmup + rounds):
            for step in steps:
                step(k, k >= warmup)


# -- report ----------------------------------------------------------------------------------------------


def report(backend: str, counts: dict[str, int], seed_seconds: float, player: Player) -> bool:
    print()
    print(f"Database: {backend}; seeded in {seed_seconds:.1f} s:")
    print("  " + ", ".join(f"{name} {count:,}" for name, count in counts.items()))
    answers = len(player.ops["answer"].timings_ms)
    print(
        f"Each request by another learner (launches: {len(player.launches)}); "
        f"{player.scored} of the {answers} answers measured scored their attempt"
    )
    header = (
        f"{'operation':<40}{'requests':>9}{'p50':>8}{'p95':>8}{'p99':>8}{'SQL/req':>9}{'target':>8}  verdict"
    )
    print(header)
    print("-" * len(header))
    for op in player.ops.values():
        verdict = ("MET" if op.met else "MISSED") + ("" if op.judged else " (extra)")
        print(
            f"{op.label:<40}{len(op.timings_ms):>9}{op.percentile(50):>8.1f}{op.percentile(95):>8.1f}"
            f"{op.percentile(99):>8.1f}{statistics.fmean(op.statements or [0]):>9.1f}"
            f"{TARGET_MS:>8.0f}  {verdict}"
        )
    failed = False
    for op in player.ops.values():
        for error in list(dict.fromkeys(op.errors))[:3]:
            failed = True
            print(f"  {op.name} failure ({len(op.errors)} in all): {error}")
    judged = [op for op in player.ops.values() if op.judged]
    met = all(op.met for op in judged)
    print(
        f"Target (module page and quiz answer, p95 < {TARGET_MS:.0f} ms): {'MET' if met else 'MISSED'} "
        + "("
        + ", ".join(f"{op.name} p95 {op.percentile(95):.1f} ms" for op in judged)
        + ")"
    )
    return not failed


# -- main ------------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--learners", type=int, default=10000, help="learners seeded with a history (10000)")
    parser.add_argument("--requests", type=int, default=500, help="measured requests per operation (500)")
    parser.add_argument(
        "--contexts", type=int, default=20, help="course contexts the learners are spread over (20)"
    )
    parser.add_argument(
        "--database-url",
        help="PostgreSQL server to use instead of SQLite, e.g. postgresql://127.0.0.1:5432/test "
        "(a socle_bench_<random> database is created there and dropped afterwards)",
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed of the data and the requests (1)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    if min(args.learners, args.requests, args.contexts) < 1:
        parser.error("--learners, --requests and --contexts must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    rng = random.Random(args.seed)
    with ExitStack() as cleanup:  # unwinds in reverse: connections close, the database goes, then the files
        began = time.perf_counter()
        app, backend = in_process_app(cleanup, args.database_url, "socle-bench-player-", SECRET, BASE_URL)
        content: Content = app.extensions["socle_content"]
        print(f"Seeding {args.learners:,} learners' histories into {backend}…", flush=True)
        world = seed(app, args.learners, args.contexts, rng)
        sample = rng.sample(world.learner_ids, min(len(world.learner_ids), args.requests + WARMUP_ROUNDS))
        launches = make_launches(app, world, sample)
        seed_seconds = time.perf_counter() - began
        counts = row_counts(app)
        print(f"Seeded in {seed_seconds:.1f} s; measuring…", flush=True)

        player = Player(app, content, launches, rng)
        load_before = os.getloadavg()[0]
        measure_began = time.perf_counter()
        player.run(args.requests, min(WARMUP_ROUNDS, args.requests))
        measure_seconds = time.perf_counter() - measure_began
        load_after = os.getloadavg()[0]
        ok = report(backend, counts, seed_seconds, player)
        print(
            f"Measured in {measure_seconds:.1f} s (with warm-up and untimed requests); load average "
            f"{load_before:.2f} before, {load_after:.2f} after, on {os.cpu_count()} CPUs (this run and its "
            "database server make about 1; more is other work competing for the CPUs, and the figures grow)."
        )
        if args.json:
            figures = {
                "database": backend,
                "learners": args.learners,
                "requests": args.requests,
                "seed": args.seed,
                "seeded_rows": counts,
                "seed_seconds": round(seed_seconds, 2),
                "target_ms": TARGET_MS,
                "target_met": all(op.met for op in player.ops.values() if op.judged),
                "answers_scoring_their_attempt": player.scored,
                "load_average": {"before": load_before, "after": load_after, "cpus": os.cpu_count()},
                "operations": {name: op.summary() for name, op in player.ops.items()},
            }
            strict = json.loads(json.dumps(figures), parse_constant=lambda _: None)  # NaN -> null
            args.json.write_text(json.dumps(strict, indent=2) + "\n", encoding="utf-8")
            print(f"Figures written to {args.json}")
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
