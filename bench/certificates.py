"""Benchmark: a learner's mastery re-evaluated after one event with 10,000 of their statements stored, and a
credential issued with both its proofs and its PDF.

Run: ``.venv/bin/python bench/certificates.py [--statements 10000] [--repetitions 200] [--issues 20]
[--skip-postgres] [--database-url URL] [--json PATH] [--profile DIR]`` (``--help`` for the rest). One run
measures SQLite, then PostgreSQL, and prints both side by side.

What it does, for each database
    Builds Socle in-process (``create_app`` + ``flask setup`` in a temporary instance folder: SQLite there,
    or a throw-away ``socle_bench_<random>`` PostgreSQL database on ``--database-url``, dropped afterwards).
    One learner of the demo platform, in a new course context, is given a history recorded through
    ``events.record_event`` as the services record it (the event row; its xAPI statements built, validated
    and stored with their index rows; the gradebook check; the evidence engine), until exactly
    ``--statements`` statements of theirs are stored: page reads (2 statements each), quiz answers, quiz
    results (between half and all but one of the questions right: some failed, none perfect), each module's
    completion once its quiz is passed, launches, and what the engine records by itself (competences
    satisfied, the credentials of the blocs met and their "earned" statements). The events are spread over
    four months and committed 200 at a time. PostgreSQL is then ANALYZEd (as autovacuum would on a live
    server); SQLite is left without statistics, as Socle runs it.

    1. Mastery after one event. Each repetition runs in its own transaction, which is ROLLED BACK (every
       repetition sees the same 10,000 statements and the same trail; commit is not in the figures). The
       transaction is opened before the clock starts, as it always is when after_event runs in a request
       (the event's own INSERT came first): PostgreSQL's BEGIN is not in the figures either.
         engine.apply     one new quiz-result fact: M1 at 100 %, better than the learner's best, so C1 and
                          C2 get new scores, the trail two links and the facts row an update (no threshold
                          is crossed: nothing becomes met); then ``session.flush()``, so that the SQL writes
                          are in the figure
         after_event      ``competences.services.after_event`` for one ``quiz_passed`` event of M1 (the same
                          fact, read from the event), then flush. It never emits xAPI itself: the statement
                          is ``records.emit``'s job, before it, in ``record_event``
         record_event     the whole ``events.record_event`` of that event (its statement built, validated and
                          stored with its index rows; gradebook check; after_event), then flush (for scale)
         rebuild          the non-incremental reference: ``services.rebuild`` of the same learner and course
                          (every statement of theirs read back through the statement store, filtered to the
                          course, folded from scratch, the trail written again), then flush
    2. Issuing. ``--issues`` learners of the same course (after ``--warmup-issues`` untimed ones), each with
       the facts, module progress and competence states of a complete fundraiser track, get that track's
       certificate (4 blocs and 9 competences: the largest credential Socle issues), one after the other:
         issue            ``issuing.issue`` (status-list entry, Open Badges document, Data Integrity
                          eddsa-rdfc-2022 proof, VC-JWT EdDSA, insert, "earned" event and its statement),
                          then COMMIT
         PDF inputs       ``evidence.certificate_document`` of the stored credential (its document, the
                          dates the competences were met, the hours followed: what the verification page
                          reads). Where that module is missing (it is newer than this benchmark), the inputs
                          are assembled by hand from the issued document, untimed, and the row is empty
         PDF              ``documents.certificate_pdf`` of those inputs
         total            issue + PDF inputs + PDF, per learner
       Then, on the same unsigned documents with the same keys, each part alone: the DI proof
       (``proofs.add_data_integrity_proof``), and inside it ``jsonld.check_well_defined`` (expansion,
       compaction and one canonicalisation) and one ``jsonld.canonize`` of the document (it makes two more:
       the document's and the proof options'); the VC-JWT (``proofs.sign_vc_jwt``).

Reference (right-hand column)
    Part 1: ``services.rebuild``, as a factor: how many times slower than the incremental figure of the row,
    SQLite | PostgreSQL. Part 2: openbadgeslib 4.6.3 (the independent Open Badges 3.0 library of the dev
    dependencies), which has a signing API, signing the same documents with the same keys:
    ``ob3.ldp.add_data_integrity_proof`` (eddsa-rdfc-2022; unlike Socle's, it does not check the document for
    undefined terms, so it canonicalises twice where Socle does three times and also expands and compacts)
    and ``OB3Signer.sign_payload`` (EdDSA, the same claims). Its samples from every database run are pooled.
    Both libraries must produce the same proofValue (Ed25519 is deterministic): the run checks it.

How to read the figures
    p50 / p95     milliseconds, of ``--repetitions`` repetitions (part 1; ``--rebuilds`` for rebuild) or of
                  ``--issues`` issues (part 2), after untimed warm-up repetitions (query plans, pyld's
                  context cache, reportlab's fonts, the signing keys loaded once per process).
    SQL           SQL statements per repetition (SQLAlchemy cursor executions), part 1.
    Targets       re-evaluation after one event <= 2 ms (engine.apply and after_event), issue + PDF <= 1 s;
                  MET when p50 and p95 are both within it, "p50 only" when only the median is.
    One process, one thread: these are service times without queueing. Python, SQLite or the PostgreSQL
    server, and anything else running share the machine's CPUs (the load average is printed); rerun before
    trusting a few percent. ``--profile DIR`` writes pyinstrument reports (if pyinstrument is installed;
    it is not a dependency) of 100 extra repetitions of each part-1 figure, one extra rebuild and three
    extra issues with their PDF, per database: extra, because the profiler slows down what it watches.
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
from contextlib import ExitStack, contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from flask import Flask
from sqlalchemy import event as sa_event
from sqlalchemy import func, insert, select, text

# The repository first on the path (bench/xapi.py would shadow the xapi package), then the shared helpers.
BENCH = Path(__file__).resolve().parent
sys.path[:] = [str(BENCH.parent)] + [p for p in sys.path if Path(p or ".").resolve() != BENCH]
from bench.common import in_process_app  # noqa: E402
from bench.player import response_for  # noqa: E402
from demo_platform.platform import CLIENT_ID as DEMO_CLIENT_ID  # noqa: E402
from lti_tool import events  # noqa: E402
from lti_tool.certificates import documents, issuing, jsonld, proofs  # noqa: E402
from lti_tool.certificates.models import Credential  # noqa: E402
from lti_tool.competences import engine, services  # noqa: E402
from lti_tool.competences.models import CompetenceState, EvidenceLink, LearnerFacts  # noqa: E402
from lti_tool.content.loader import Content  # noqa: E402
from lti_tool.db import db  # noqa: E402
from lti_tool.learners.models import Context, Deployment, Enrolment, Learner, Platform  # noqa: E402
from lti_tool.scope import Scope  # noqa: E402
from lti_tool.training.models import ModuleProgress  # noqa: E402
from xapi.models import Statement, StatementAgent  # noqa: E402

try:  # what builds the PDF's inputs from the database (newer than this benchmark: may be missing)
    from lti_tool.certificates import evidence
except ImportError:
    evidence = None  # type: ignore[assignment]

DEFAULT_POSTGRES = os.environ.get("LTI_TOOL_TEST_DATABASE_URL") or "postgresql://root@127.0.0.1:5432/test"
SECRET = "bench-certificates-secret-" + "x" * 40  # only for the throw-away instances
BASE_URL = "http://127.0.0.1"
TARGET_MASTERY_MS = 2.0
TARGET_ISSUE_MS = 1000.0
COMMIT_EVERY = 200  # events recorded per transaction while seeding
HISTORY_DAYS = 120
MEASURED_MODULE = "M1"  # the module of the measured quiz result (C1 and C2 count its quiz)
LEARNER_ROLES = ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"]
TRACK = "fundraiser"
# One event of the seeded history, with how often it happens (a quiz result passed for the first time is
# followed by the module's completion).
EVENT_WEIGHTS = {"page_read": 45, "question_answered": 35, "quiz_result": 8, "launched": 8}
CORRECT_RATE = 0.7


# -- measuring -------------------------------------------------------------------------------------------


def percentile(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0] if values else math.nan
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


@dataclass
class Timing:
    label: str
    samples_ms: list[float] = field(default_factory=list)
    sql: list[int] = field(default_factory=list)
    sql_ms: list[float] = field(default_factory=list)  # time inside the SQL statements

    @property
    def p50(self) -> float:
        return percentile(self.samples_ms, 50)

    @property
    def p95(self) -> float:
        return percentile(self.samples_ms, 95)

    def summary(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "samples": len(self.samples_ms),
            "p50_ms": round(self.p50, 3),
            "p95_ms": round(self.p95, 3),
            "mean_ms": round(statistics.fmean(self.samples_ms), 3) if self.samples_ms else None,
            "max_ms": round(max(self.samples_ms), 3) if self.samples_ms else None,
            "sql_per_repetition": round(statistics.fmean(self.sql), 1) if self.sql else None,
            "sql_p50_ms": round(percentile(self.sql_ms, 50), 3) if self.sql_ms else None,
        }


class SqlCounter:
    """SQL statements run, and the time spent inside them (driver and server: SQLAlchemy's cursor events)."""

    def __init__(self) -> None:
        self.count = 0
        self.seconds = 0.0
        self._began = 0.0

    def before(self, *_args: Any) -> None:
        self.count += 1
        self._began = time.perf_counter()

    def after(self, *_args: Any) -> None:
        self.seconds += time.perf_counter() - self._began

    def listen(self, engine_: Any) -> None:
        sa_event.listen(engine_, "before_cursor_execute", self.before)
        sa_event.listen(engine_, "after_cursor_execute", self.after)

    def remove(self, engine_: Any) -> None:
        sa_event.remove(engine_, "before_cursor_execute", self.before)
        sa_event.remove(engine_, "after_cursor_execute", self.after)


def timed(call: Callable[[], Any]) -> tuple[Any, float]:
    began = time.perf_counter()
    value = call()
    return value, (time.perf_counter() - began) * 1000


@contextmanager
def profiling(directory: Path | None, name: str) -> Any:
    """A pyinstrument profile of the block, written to ``directory/name.txt`` (nothing without --profile)."""
    if directory is None:
        yield
        return
    try:
        from pyinstrument import Profiler
    except ImportError:
        print("  (pyinstrument is not installed: no profile)", flush=True)
        yield
        return
    profiler = Profiler(interval=0.0002)
    profiler.start()
    try:
        yield
    finally:
        profiler.stop()
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{name}.txt"
        path.write_text(profiler.output_text(unicode=True, color=False, show_all=False), encoding="utf-8")
        print(f"  profile written to {path}", flush=True)


# -- database --------------------------------------------------------------------------------------------


@dataclass
class Course:
    platform_id: int
    issuer: str
    deployment_pk: int
    deployment_id: str
    context_pk: int
    lti_context_id: str
    title: str


def make_course() -> Course:
    platform = db.session.execute(
        select(Platform.id, Platform.issuer).where(Platform.client_id == DEMO_CLIENT_ID)
    ).one()
    deployment = db.session.execute(
        select(Deployment.id, Deployment.deployment_id)
        .where(Deployment.platform_id == platform.id)
        .order_by(Deployment.id)
        .limit(1)
    ).one()
    title = "Parcours AFF, cohorte de mesure"
    lti_context_id = "bench-certificates-" + secrets.token_hex(4)
    context_pk = db.session.execute(
        insert(Context)
        .returning(Context.id)
        .values(
            platform_id=platform.id,
            deployment_pk=deployment.id,
            lti_context_id=lti_context_id,
            label="BENCH",
            title=title,
            created_at=datetime.now(UTC),
        )
    ).scalar_one()
    db.session.commit()
    return Course(
        platform.id,
        platform.issuer,
        deployment.id,
        deployment.deployment_id,
        context_pk,
        lti_context_id,
        title,
    )


def make_learner(course: Course, index: int, joined: datetime) -> Scope:
    given, family = f"Prénom{'ABCDE'[index % 5]}", f"Apprenant{index:05d}"
    sub = secrets.token_hex(12)
    learner_id = db.session.execute(
        insert(Learner)
        .returning(Learner.id)
        .values(
            issuer=course.issuer,
            sub=sub,
            platform_id=course.platform_id,
            name=f"{given} {family}",
            given_name=given,
            family_name=family,
            email=f"apprenant{index}@example.org",
            locale="fr-FR",
            created_at=joined,
            last_launch_at=joined,
        )
    ).scalar_one()
    db.session.execute(
        insert(Enrolment.__table__).values(
            learner_id=learner_id,
            context_pk=course.context_pk,
            platform_id=course.platform_id,
            roles=LEARNER_ROLES,
            is_staff=False,
            first_launch_at=joined,
            last_launch_at=joined,
        )
    )
    return Scope(
        platform_id=course.platform_id,
        context_pk=course.context_pk,
        learner_id=learner_id,
        launch_id=None,
        issuer=course.issuer,
        sub=sub,
        deployment_id=course.deployment_id,
        lti_context_id=course.lti_context_id,
        context_title=course.title,
        resource_link_id="bench-resource",
    )


def statements_of(scope: Scope) -> int:
    """The statements whose actor is this learner (what an xAPI query by agent returns)."""
    return int(
        db.session.execute(
            select(func.count())
            .select_from(StatementAgent)
            .where(StatementAgent.ifi == f"account:{scope.issuer}|{scope.sub}", StatementAgent.is_direct)
        ).scalar_one()
    )


# -- the learner's history ----------------------------------------------------------------------------------


class History:
    """Records one learner's events through ``events.record_event``, as the services do."""

    def __init__(self, content: Content, scope: Scope, rng: random.Random, start: datetime, step: timedelta):
        self.content, self.scope, self.rng = content, scope, rng
        self.clock, self.step = start, step
        self.attempts: dict[str, int] = {}
        self.best: dict[str, float] = {}
        self.completed: set[str] = set()
        self.kinds = list(EVENT_WEIGHTS)
        self.weights = list(EVENT_WEIGHTS.values())

    def tick(self) -> datetime:
        self.clock += self.step * self.rng.uniform(0.5, 1.5)
        return self.clock

    def record(self, type_: str, module: Any, payload: dict[str, Any], question: Any = None) -> None:
        events.record_event(
            db.session,
            self.scope,
            type_,
            content_version=self.content.version,
            module=module,
            question=question,
            payload=payload,
            at=self.tick(),
        )

    def answer(self, module: Any) -> None:
        question = self.rng.choice(module.quiz.questions)
        correct = self.rng.random() < CORRECT_RATE
        payload = {
            "attempt": self.attempts.get(module.id, 0) + 1,
            "question": question.id,
            "type": question.type,
            "response": response_for(question, correct, self.rng),
            "correct": correct,
        }
        self.record(events.QUESTION_ANSWERED, module, payload, question)

    def one(self, only_answers: bool = False) -> None:
        module = self.rng.choice(self.content.modules)
        kind = "question_answered" if only_answers else self.rng.choices(self.kinds, self.weights)[0]
        if kind == "page_read":
            number = self.rng.randint(1, len(module.pages))
            payload = {
                "page": number,
                "title": module.pages[number - 1].title,
                "pages": len(module.pages),
                "progress": round(100 * number / len(module.pages)),
            }
            self.record(events.PAGE_READ, module, payload)
        elif kind == "question_answered":
            self.answer(module)
        elif kind == "launched":
            self.record(events.LAUNCHED, None, {"activity": "modules"})
        else:
            questions = module.draw  # questions an attempt asks
            right = self.rng.randint(questions // 2, questions - 1)  # never perfect: M1's best stays < 100 %
            score = right / questions
            passed = score >= module.meta.mastery_score
            self.attempts[module.id] = self.attempts.get(module.id, 0) + 1
            self.best[module.id] = max(self.best.get(module.id, 0.0), score)
            payload = {
                "attempt": self.attempts[module.id],
                "score": score,
                "mastery_score": module.meta.mastery_score,
                "correct": right,
                "questions": questions,
                "duration_seconds": self.rng.uniform(120, 1500),
            }
            self.record(events.QUIZ_PASSED if passed else events.QUIZ_FAILED, module, payload)
            if passed and module.id not in self.completed:
                self.completed.add(module.id)
                completion = {
                    "score": self.best[module.id],
                    "duration_seconds": self.rng.uniform(1800, 20000),
                }
                self.record(events.MODULE_COMPLETED, module, completion)


def seed_history(content: Content, scope: Scope, target: int, rng: random.Random) -> int:
    """Record events until exactly ``target`` statements of this learner are stored; return the events."""
    start = datetime.now(UTC) - timedelta(days=HISTORY_DAYS)
    history = History(content, scope, rng, start, timedelta(days=HISTORY_DAYS) / (target * 0.7))
    recorded = 0
    stored = statements_of(scope)
    while stored < target:
        remaining = target - stored
        # An event makes 1 or 2 statements, and at most a few more over the whole history when the engine
        # records competences satisfied and credentials earned: batches small enough never to overshoot,
        # then answers (1 statement, never evidence) to land exactly on the target.
        only_answers = remaining < 60
        batch = remaining if only_answers else min(COMMIT_EVERY, remaining // 3)
        for _ in range(batch):
            history.one(only_answers)
        recorded += batch
        db.session.commit()
        stored = statements_of(scope)
    if stored != target:
        raise RuntimeError(f"{stored} statements of the learner stored instead of {target}")
    return recorded


def complete_facts(content: Content, rng: random.Random, when: datetime) -> dict[str, Any]:
    """The facts of a learner who followed the whole fundraiser track (every rule met)."""
    modules = [m.id for m in content.modules]
    return {
        "best": {m: rng.choice([0.75, 0.8125, 0.875, 0.9375, 1.0]) for m in modules},
        "completed": {m: (when - timedelta(days=30 - i)).isoformat() for i, m in enumerate(modules)},
        "attended": {"M5": ["1"], "M8": ["2"]},
        "accepted": {"M5": True, "M8": True},
        "waived": {},
    }


# -- part 1: mastery after one event ------------------------------------------------------------------------


@dataclass
class MasteryFigures:
    apply: Timing
    after_event: Timing
    record_event: Timing
    rebuild: Timing
    rebuild_read: int
    newly_met: int  # competences or blocs met by a measured repetition (0 expected)
    trail: int
    events_recorded: int


def measure_mastery(
    app: Flask, scope: Scope, args: argparse.Namespace, counter: SqlCounter, profile: Path | None
) -> MasteryFigures:
    content: Content = app.extensions["socle_content"]
    rules = services.rules_of(content)
    owner = services.owner_of(scope)
    module = content.module(MEASURED_MODULE)
    assert module is not None
    session = db.session
    newly_met = 0

    def quiz_payload() -> dict[str, Any]:
        questions = module.draw  # questions an attempt asks
        return {
            "attempt": 99,
            "score": 1.0,
            "mastery_score": module.meta.mastery_score,
            "correct": questions,
            "questions": questions,
            "duration_seconds": 600.0,
        }

    def apply_once() -> Any:
        fact = engine.Fact("quiz", MEASURED_MODULE, engine.to_ms(datetime.now(UTC)), str(uuid.uuid4()), 1.0)
        met = engine.apply(session, rules, owner, [fact])
        session.flush()
        return met

    def after_event_once() -> Any:
        event = events.LearningEvent(
            id=str(uuid.uuid4()),
            type=events.QUIZ_PASSED,
            platform_id=scope.platform_id,
            context_pk=scope.context_pk,
            learner_id=scope.learner_id,
            module_id=MEASURED_MODULE,
            content_version=content.version,
            payload=quiz_payload(),
            occurred_at=datetime.now(UTC),
        )
        met = services.after_event(session, scope, event, [str(uuid.uuid4())], content)
        session.flush()
        return met

    def record_event_once() -> Any:
        events.record_event(
            session,
            scope,
            events.QUIZ_PASSED,
            content_version=content.version,
            module=module,
            payload=quiz_payload(),
        )
        session.flush()
        return []

    def run(label: str, call: Callable[[], Any], repetitions: int, warmup: int) -> Timing:
        nonlocal newly_met
        timing = Timing(label)
        for k in range(warmup + repetitions):
            session.rollback()
            # The transaction is open before the clock starts, as it always is when after_event runs (the
            # event's own INSERT came first): PostgreSQL's BEGIN round trip is not in the figures.
            session.execute(text("SELECT 1"))
            before, before_seconds = counter.count, counter.seconds
            met, elapsed = timed(call)
            statements, sql_ms = counter.count - before, (counter.seconds - before_seconds) * 1000
            session.rollback()
            if k >= warmup:
                timing.samples_ms.append(elapsed)
                timing.sql.append(statements)
                timing.sql_ms.append(sql_ms)
                newly_met += len(met)
        return timing

    warmup = max(10, args.repetitions // 10)
    # Interleaved in rounds so that a burst of other work on the machine does not land on one figure only.
    apply_t, after_t, record_t = Timing("engine.apply"), Timing("after_event"), Timing("record_event")
    rounds = 4
    per_round = math.ceil(args.repetitions / rounds)
    calls = ((apply_t, apply_once), (after_t, after_event_once), (record_t, record_event_once))
    for r in range(rounds):
        for timing, call in calls:
            part = run(timing.label, call, per_round, warmup if r == 0 else 2)
            timing.samples_ms += part.samples_ms
            timing.sql += part.sql
            timing.sql_ms += part.sql_ms
    learner = session.get(Learner, scope.learner_id)
    context = session.get(Context, scope.context_pk)
    base_iri = app.config.get("XAPI_IRI_BASE") or app.config["BASE_URL"]
    read: list[int] = []

    def rebuild_once() -> Any:
        read.append(services.rebuild(session, learner, context, content, base_iri))
        return []

    rebuild_t = run("rebuild", rebuild_once, args.rebuilds, 1)
    if profile is not None:  # extra repetitions, not in the figures (the profiler slows them down)
        dialect = session.get_bind().dialect.name
        for timing, call in (*calls, (rebuild_t, rebuild_once)):
            with profiling(profile, f"{timing.label}-{dialect}"):
                run(timing.label, call, 1 if call is rebuild_once else 100, 0)
    trail = int(
        session.execute(
            select(func.count()).select_from(EvidenceLink).where(EvidenceLink.learner_id == scope.learner_id)
        ).scalar_one()
    )
    session.rollback()
    return MasteryFigures(apply_t, after_t, record_t, rebuild_t, read[-1], newly_met, trail, 0)


# -- part 2: issuing ---------------------------------------------------------------------------------------


@dataclass
class IssuingFigures:
    issue: Timing
    pdf_inputs: Timing  # evidence.certificate_document (no samples when that module is missing)
    pdf: Timing
    total: Timing
    di: Timing
    well_defined: Timing
    canonize: Timing
    jwt: Timing
    ref_di: Timing
    ref_jwt: Timing
    same_proof_value: bool
    document_bytes: int
    pdf_bytes: int


def certificate_inputs(credential: Any, signed: dict[str, Any], learner: Learner, app: Flask) -> Any:
    """What the PDF shows, assembled by hand from the issued credential (when ``evidence`` is missing)."""
    subject = signed["credentialSubject"]
    achievement = subject["achievement"]
    values = {r["resultDescription"].rsplit("-", 1)[1]: r["value"] for r in subject.get("result", [])}
    issued_on = credential.issued_at.date()
    blocs, competences = [], []
    for alignment in achievement["alignment"]:
        code = alignment["targetCode"]
        name = alignment["targetName"].split(" · ", 1)[1]
        if alignment["targetType"] == "ext:BlocDeCompetences":
            blocs.append(documents.CompetenceLine(code, name, "Acquis", issued_on))
        else:
            result = f"{values[code]}\u00a0%" if code in values else "Reconnue (acquis antérieurs)"
            competences.append(documents.CompetenceLine(code, name, result, issued_on))
    return documents.CertificateDocument(
        credential_id=signed["id"],
        learner_name=learner.formal_name or "",
        learner_ref=subject["id"].rsplit("-", 1)[1][:8],
        programme=app.extensions["socle_content"].programme.title.fr,
        achievement=achievement["name"],
        track=TRACK,
        blocs=blocs,
        competences=competences,
        first_activity=issued_on - timedelta(days=HISTORY_DAYS),
        issued_on=issued_on,
        hours=42.5,
        issuer_name=app.config["CERTIFICATE_ISSUER_NAME"],
        issuer_url=app.config["BASE_URL"],
        verify_url=issuing.urls().verify(credential.id),
        rules_version=credential.rules_version,
    )


def measure_issuing(
    app: Flask,
    course: Course,
    args: argparse.Namespace,
    rng: random.Random,
    profile: Path | None,
    references: dict[str, Timing],
) -> IssuingFigures:
    from openbadgeslib.ob3 import OB3Signer
    from openbadgeslib.ob3.ldp import add_data_integrity_proof as obl_add_data_integrity_proof

    content: Content = app.extensions["socle_content"]
    rules = services.rules_of(content)
    session = db.session
    profiled = 3 if profile is not None else 0  # issued last, profiled, not in the figures
    count = args.warmup_issues + args.issues + profiled
    now = datetime.now(UTC)
    scopes = []
    for index in range(count):
        scope = make_learner(course, 1000 + index, now - timedelta(days=HISTORY_DAYS))
        session.add(
            LearnerFacts(
                platform_id=course.platform_id,
                context_pk=course.context_pk,
                learner_id=scope.learner_id,
                facts=complete_facts(content, rng, now),
                updated_at=now,
            )
        )
        # What the PDF's inputs are read from: each module's progress, each competence and bloc met.
        for number, module in enumerate(content.modules):
            started = now - timedelta(days=HISTORY_DAYS - 10 * number)
            session.add(
                ModuleProgress(
                    platform_id=course.platform_id,
                    context_pk=course.context_pk,
                    learner_id=scope.learner_id,
                    module_id=module.id,
                    content_version=content.version,
                    pages_read=list(range(1, len(module.pages) + 1)),
                    last_page=len(module.pages),
                    best_score=0.875,
                    is_quiz_passed=True,
                    started_at=started,
                    updated_at=started + timedelta(days=5),
                    completed_at=started + timedelta(days=5),
                )
            )
        for number, code in enumerate([*rules.rules, *rules.blocs]):
            session.add(
                CompetenceState(
                    platform_id=course.platform_id,
                    context_pk=course.context_pk,
                    learner_id=scope.learner_id,
                    code=code,
                    score=0.875 if code in rules.rules else None,
                    is_met=True,
                    met_at=now - timedelta(days=30 - number),
                    rules_version=rules.version,
                    updated_at=now,
                )
            )
        scopes.append(scope)
    session.commit()
    issue_t, pdf_t, total_t = Timing("issue"), Timing("pdf"), Timing("total")
    inputs_t = Timing("pdf inputs")
    unsigned: list[tuple[dict[str, Any], datetime]] = []
    sizes, pdf_sizes = [], []
    for index, scope in enumerate(scopes):
        scope = issuing.learner_scope(session, scope.learner_id, scope.context_pk)
        session.commit()
        measured = args.warmup_issues <= index < count - profiled
        name = f"issue-and-pdf-{session.get_bind().dialect.name}-{index}"
        with profiling(profile, name) if index >= count - profiled else nullcontext():

            def issue_and_commit(scope: Scope = scope) -> Any:
                credential = issuing.issue(session, scope, content, rules, issuing.CERTIFICATE + TRACK, TRACK)
                credential_id = credential.id
                session.commit()
                return credential_id

            credential_id, issue_ms = timed(issue_and_commit)
            session.expire_all()  # the PDF is made from what is stored, as the verification page makes it
            credential = session.get(Credential, credential_id)
            signed = json.loads(credential.document)
            if evidence is not None:
                inputs, inputs_ms = timed(
                    lambda c=credential: evidence.certificate_document(session, c, content)
                )
            else:
                learner = session.get(Learner, scope.learner_id)
                inputs, inputs_ms = certificate_inputs(credential, signed, learner, app), 0.0
            pdf, pdf_ms = timed(lambda inputs=inputs: documents.certificate_pdf(inputs))
            session.rollback()
        if measured:
            issue_t.samples_ms.append(issue_ms)
            if evidence is not None:
                inputs_t.samples_ms.append(inputs_ms)
            pdf_t.samples_ms.append(pdf_ms)
            total_t.samples_ms.append(issue_ms + inputs_ms + pdf_ms)
            sizes.append(len(credential.document.encode()))
            pdf_sizes.append(len(pdf))
            unsigned.append(({k: v for k, v in signed.items() if k != "proof"}, credential.issued_at))
    session.rollback()

    # Each part alone, on the same unsigned documents, with the same keys; then openbadgeslib.
    own = issuing.signer()
    ed25519_pem = own.ed25519.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    obl_jwt = OB3Signer(ed25519_pem, algorithm="EdDSA")
    di_t, wd_t, canon_t, jwt_t = Timing("di"), Timing("well_defined"), Timing("canonize"), Timing("jwt")
    same = True
    document, moment = unsigned[0]  # warm-up of the reference (its key parsed once, its context cache)
    obl_add_data_integrity_proof(document, ed25519_pem, own.verification_method, created=moment)
    obl_jwt.sign_payload({**document, **proofs._registered_claims(document)})
    for document, moment in unsigned:
        signed, ms = timed(
            lambda d=document, m=moment: proofs.add_data_integrity_proof(
                d, own.ed25519, own.verification_method, m
            )
        )
        di_t.samples_ms.append(ms)
        wd_t.samples_ms.append(timed(lambda d=document: jsonld.check_well_defined(d))[1])
        canon_t.samples_ms.append(timed(lambda d=document: jsonld.canonize(d))[1])
        jwt_t.samples_ms.append(
            timed(lambda d=signed: proofs.sign_vc_jwt(d, own.ed25519, own.verification_method))[1]
        )
        reference, ms = timed(
            lambda d=document, m=moment: obl_add_data_integrity_proof(
                d, ed25519_pem, own.verification_method, created=m
            )
        )
        references["di"].samples_ms.append(ms)
        same = same and reference["proof"]["proofValue"] == signed["proof"][0]["proofValue"]
        payload = {**signed, **proofs._registered_claims(signed)}
        references["jwt"].samples_ms.append(timed(lambda p=payload: obl_jwt.sign_payload(p))[1])
    return IssuingFigures(
        issue_t,
        inputs_t,
        pdf_t,
        total_t,
        di_t,
        wd_t,
        canon_t,
        jwt_t,
        references["di"],
        references["jwt"],
        same,
        int(statistics.median(sizes)),
        int(statistics.median(pdf_sizes)),
    )


# -- one database ------------------------------------------------------------------------------------------


def run_database(
    admin_url: str | None, args: argparse.Namespace, references: dict[str, Timing]
) -> dict[str, Any]:
    rng = random.Random(args.seed)
    with ExitStack() as cleanup:  # unwinds in reverse: connections close, the database goes, then the files
        app, backend = in_process_app(cleanup, admin_url, "socle-bench-certificates-", SECRET, BASE_URL)
        print(f"\n== {backend}", flush=True)
        content: Content = app.extensions["socle_content"]
        with app.app_context():
            counter = SqlCounter()
            counter.listen(db.engine)
            course = make_course()
            scope = make_learner(course, 1, datetime.now(UTC) - timedelta(days=HISTORY_DAYS + 1))
            db.session.commit()
            began = time.perf_counter()
            recorded = seed_history(content, scope, args.statements, rng)
            seconds = time.perf_counter() - began
            stored = statements_of(scope)
            total = int(db.session.execute(select(func.count()).select_from(Statement)).scalar_one())
            db.session.rollback()
            print(
                f"  {recorded:,} events recorded in {seconds:.1f} s "
                f"({seconds / recorded * 1000:.2f} ms each, commits included): {stored:,} statements of the "
                f"learner ({total:,} in the table)",
                flush=True,
            )
            if backend == "postgresql":
                with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                    connection.execute(text("ANALYZE"))
            profile = args.profile
            mastery = measure_mastery(app, scope, args, counter, profile)
            mastery.events_recorded = recorded
            print(
                f"  mastery: apply p50 {mastery.apply.p50:.2f} ms, "
                f"after_event p50 {mastery.after_event.p50:.2f} ms, "
                f"rebuild p50 {mastery.rebuild.p50:,.0f} ms ({mastery.rebuild_read:,} statements read)",
                flush=True,
            )
            issued = measure_issuing(app, course, args, rng, profile, references)
            print(
                f"  issuing: issue + PDF p50 {issued.total.p50:.0f} ms "
                f"(issue {issued.issue.p50:.0f}, PDF {issued.pdf.p50:.0f})",
                flush=True,
            )
            counter.remove(db.engine)
            db.session.remove()
        return {
            "database": backend,
            "seeding": {
                "events": recorded,
                "seconds": round(seconds, 1),
                "learner_statements": stored,
                "statements_in_table": total,
            },
            "mastery": mastery,
            "issuing": issued,
        }


# -- report ------------------------------------------------------------------------------------------------


def verdict(timing: Timing, target: float) -> str:
    if timing.p95 <= target:
        return "MET"
    if timing.p50 <= target:
        return "p50 only"
    return "MISSED"


def cell(timing: Timing, target: float | None = None, digits: int = 2) -> str:
    if not timing.samples_ms:
        return "—"
    text_ = f"{timing.p50:,.{digits}f} / {timing.p95:,.{digits}f}"
    return text_ + (f" {verdict(timing, target)}" if target is not None else "")


def report(results: list[dict[str, Any]], args: argparse.Namespace) -> dict[str, Any]:
    names = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
    by = {r["database"]: r for r in results}
    columns = [db_ for db_ in ("sqlite", "postgresql") if db_ in by]
    widths = (58, 9, 24, 24)
    print()
    print(
        f"Summary (p50 / p95 ms; part 1 rolled back per repetition, part 2 committed per issue; "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f})"
    )
    header = (
        f"{'figure':<{widths[0]}}{'target':<{widths[1]}}"
        + "".join(f"{names[c]:<{widths[2]}}" for c in ("sqlite", "postgresql"))
        + "reference"
    )
    print(header)
    print("-" * (len(header) + 24))

    def row(label: str, target: str, cells: dict[str, str], reference: str) -> None:
        print(
            f"{label:<{widths[0]}}{target:<{widths[1]}}"
            + "".join(f"{cells.get(c, 'not run'):<{widths[2]}}" for c in ("sqlite", "postgresql"))
            + reference
        )

    def factor(key: str) -> str:
        parts = []
        for c in columns:
            m = by[c]["mastery"]
            parts.append(f"×{m.rebuild.p50 / getattr(m, key).p50:,.0f}")
        return "rebuild is " + " | ".join(parts) + " slower"

    statements = f"{args.statements:,}"
    print(f"1. Mastery after one event, {statements} statements of the learner stored")
    row(
        "  engine.apply, 1 quiz fact (+ flush)",
        f"<= {TARGET_MASTERY_MS:g} ms",
        {c: cell(by[c]["mastery"].apply, TARGET_MASTERY_MS) for c in columns},
        factor("apply"),
    )
    row(
        "  services.after_event, quiz_passed (+ flush, no emit)",
        f"<= {TARGET_MASTERY_MS:g} ms",
        {c: cell(by[c]["mastery"].after_event, TARGET_MASTERY_MS) for c in columns},
        factor("after_event"),
    )
    row(
        "  events.record_event, quiz_passed (with xAPI emit)",
        "",
        {c: cell(by[c]["mastery"].record_event) for c in columns},
        factor("record_event"),
    )
    for key in ("apply", "after_event", "record_event"):
        row(
            f"    {key}: SQL statements, p50 ms inside them",
            "",
            {
                c: f"{statistics.fmean(getattr(by[c]['mastery'], key).sql):.0f}, "
                f"{percentile(getattr(by[c]['mastery'], key).sql_ms, 50):.2f}"
                for c in columns
            },
            "",
        )
    row(
        f"  services.rebuild ({by[columns[0]]['mastery'].rebuild_read:,} statements read)",
        "",
        {c: cell(by[c]["mastery"].rebuild, digits=0) for c in columns},
        "the non-incremental reference",
    )
    print("2. Issuing a certificate (4 blocs, 9 competences) with both proofs and its PDF")
    first = by[columns[0]]["issuing"]
    row(
        "  issue + PDF (inputs from the DB, render), total",
        f"<= {TARGET_ISSUE_MS / 1000:g} s",
        {c: cell(by[c]["issuing"].total, TARGET_ISSUE_MS, 0) for c in columns},
        "",
    )
    both = Timing("openbadgeslib DI + JWT")
    both.samples_ms = [a + b for a, b in zip(first.ref_di.samples_ms, first.ref_jwt.samples_ms, strict=True)]
    row(
        "  issuing.issue (DI + JWT + store + event, commit)",
        "",
        {c: cell(by[c]["issuing"].issue, digits=0) for c in columns},
        f"openbadgeslib DI + JWT {cell(both, digits=0)}",
    )
    row(
        "  DI proof alone (eddsa-rdfc-2022)",
        "",
        {c: cell(by[c]["issuing"].di, digits=0) for c in columns},
        f"openbadgeslib {cell(first.ref_di, digits=0)}",
    )
    row(
        "    of which check_well_defined (expand, compact, canon.)",
        "",
        {c: cell(by[c]["issuing"].well_defined, digits=0) for c in columns},
        "(openbadgeslib: no such check)",
    )
    row(
        "    of which one canonize of the document (it makes 3)",
        "",
        {c: cell(by[c]["issuing"].canonize, digits=0) for c in columns},
        "",
    )
    row(
        "  VC-JWT alone (EdDSA)",
        "",
        {c: cell(by[c]["issuing"].jwt, digits=2) for c in columns},
        f"openbadgeslib {cell(first.ref_jwt, digits=2)}",
    )
    row(
        "  PDF inputs from the DB (evidence.certificate_document)",
        "",
        {c: cell(by[c]["issuing"].pdf_inputs, digits=1) for c in columns},
        "",
    )
    row(
        "  PDF alone (certificate_pdf)",
        "",
        {c: cell(by[c]["issuing"].pdf, digits=0) for c in columns},
        "none (openbadgeslib renders no PDF)",
    )
    print(
        f"Credential {first.document_bytes:,} bytes signed, PDF {first.pdf_bytes:,} bytes; Socle's and "
        f"openbadgeslib's proofValue on the same document and key: "
        f"{'identical' if all(by[c]['issuing'].same_proof_value for c in columns) else 'DIFFERENT'}; "
        f"openbadgeslib samples pooled over {len(columns)} run(s)."
    )
    for c in columns:
        m = by[c]["mastery"]
        s = by[c]["seeding"]
        print(
            f"{names[c]}: history of {s['events']:,} events ({s['learner_statements']:,} statements, "
            f"{s['statements_in_table']:,} in the table), trail of {m.trail:,} evidence links; "
            f"{m.newly_met} competence(s) newly met during the measured repetitions (0 expected)."
        )
    verdicts = {}
    for c in columns:
        m, i = by[c]["mastery"], by[c]["issuing"]
        verdicts[c] = {
            "apply": verdict(m.apply, TARGET_MASTERY_MS),
            "after_event": verdict(m.after_event, TARGET_MASTERY_MS),
            "issue_and_pdf": verdict(i.total, TARGET_ISSUE_MS),
        }
    return verdicts


# -- main --------------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--statements", type=int, default=10_000, help="statements of the learner (10000)")
    parser.add_argument(
        "--repetitions",
        type=int,
        default=200,
        help="measured repetitions of apply, after_event, record (200)",
    )
    parser.add_argument("--rebuilds", type=int, default=5, help="measured rebuilds (5)")
    parser.add_argument("--issues", type=int, default=20, help="measured issues (20)")
    parser.add_argument("--warmup-issues", type=int, default=3, help="issues before them, untimed (3)")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the history (1)")
    parser.add_argument(
        "--database-url",
        default=DEFAULT_POSTGRES,
        help="PostgreSQL server (a socle_bench_<random> database is created there and dropped afterwards); "
        "default $LTI_TOOL_TEST_DATABASE_URL or postgresql://root@127.0.0.1:5432/test",
    )
    parser.add_argument("--skip-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--skip-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument("--profile", type=Path, help="write pyinstrument reports to this folder")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    if min(args.statements, args.repetitions, args.rebuilds, args.issues) < 1 or args.warmup_issues < 0:
        parser.error("sizes and counts must be at least 1")
    if args.skip_postgres and args.skip_sqlite:
        parser.error("nothing to measure")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    began = time.perf_counter()
    load_before = os.getloadavg()[0]
    print(
        f"{os.cpu_count()} CPUs; load average {load_before:.2f} before the run (other work skews the figures)"
    )
    references = {"di": Timing("openbadgeslib DI"), "jwt": Timing("openbadgeslib JWT")}
    results = []
    for admin_url in ([None] if not args.skip_sqlite else []) + (
        [args.database_url] if not args.skip_postgres else []
    ):
        results.append(run_database(admin_url, args, references))
    verdicts = report(results, args)
    print(
        f"Whole run: {time.perf_counter() - began:.0f} s; load average {os.getloadavg()[0]:.2f} at the end."
    )
    if args.json:

        def plain(value: Any) -> Any:
            if isinstance(value, Timing):
                return value.summary()
            if hasattr(value, "__dataclass_fields__"):
                return {k: plain(getattr(value, k)) for k in value.__dataclass_fields__}
            if isinstance(value, dict):
                return {k: plain(v) for k, v in value.items()}
            return value

        document = {
            "databases": [plain(r) for r in results],
            "targets": {"mastery_ms": TARGET_MASTERY_MS, "issue_and_pdf_ms": TARGET_ISSUE_MS},
            "verdicts": verdicts,
            "cpus": os.cpu_count(),
            "load_average_before": round(load_before, 2),
        }
        strict = json.loads(json.dumps(document, default=str), parse_constant=lambda _: None)
        args.json.write_text(json.dumps(strict, indent=2) + "\n", encoding="utf-8")
        print(f"Figures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
