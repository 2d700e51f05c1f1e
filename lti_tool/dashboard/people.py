"""The dashboard's learners: the list, a page at a time, and one learner's detail. No Flask here."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    case,
    func,
    select,
    union_all,
)

from lti_tool.certificates.models import Credential
from lti_tool.content.loader import Content
from lti_tool.dashboard.cohort import (
    DEFAULT_INACTIVE_DAYS,
    FAILED_ATTEMPTS_AT_RISK,
    FAILED_TWICE,
    INACTIVE,
    NO_DIAGNOSTIC,
    Filters,
    Paged,
    aware,
    page_of_members,
    pairs_clause,
    stuck_quizzes,
)
from lti_tool.dashboard.scope import StaffScope
from lti_tool.db import DbSession
from lti_tool.diagnostic.models import DiagnosticRun
from lti_tool.learners.models import Context, Enrolment, Learner
from lti_tool.training.models import Attendance, Deliverable, LiveSession, ModuleProgress, QuizAttempt

# -- learners, a page at a time ------------------------------------------------------------------------


@dataclass(frozen=True)
class ModuleStatus:
    started: bool
    best_score: float | None
    is_quiz_passed: bool
    is_completed: bool
    failed_attempts: int


@dataclass(frozen=True)
class LearnerLine:
    learner_id: int
    context_pk: int
    context_title: str | None
    name: str | None
    never_launched: bool
    last_activity_at: datetime | None
    modules_started: int
    modules_completed: int
    diagnostic_level: str | None
    credentials: int
    risks: frozenset[str]
    module: ModuleStatus | None  # the chosen module's status, when a module is chosen


def learners(
    session: DbSession,
    scope: StaffScope,
    filters: Filters,
    now: datetime,
    page: int = 1,
    risk: str | None = None,
) -> Paged[LearnerLine]:
    """A page of learners with their progress, latest diagnostic level, credentials and risks."""
    shown, total = page_of_members(session, scope, filters, page, risk, now)
    pairs = [(learner_id, context_pk) for learner_id, context_pk, *_ in shown]
    if not pairs:
        return Paged([], page, total)
    wanted = set(pairs)

    def keep(rows: Iterable[Any]) -> list[Any]:
        return [row for row in rows if (row[0], row[1]) in wanted]

    activity: dict[tuple[int, int], datetime | None] = {}
    for learner_id, context_pk, at in keep(
        session.execute(
            union_all(
                select(Enrolment.learner_id, Enrolment.context_pk, Enrolment.last_launch_at).where(
                    pairs_clause(pairs, Enrolment.learner_id, Enrolment.context_pk)
                ),
                select(
                    ModuleProgress.learner_id,
                    ModuleProgress.context_pk,
                    func.max(ModuleProgress.updated_at),
                )
                .where(pairs_clause(pairs, ModuleProgress.learner_id, ModuleProgress.context_pk))
                .group_by(ModuleProgress.learner_id, ModuleProgress.context_pk),
                select(DiagnosticRun.learner_id, DiagnosticRun.context_pk, func.max(DiagnosticRun.updated_at))
                .where(pairs_clause(pairs, DiagnosticRun.learner_id, DiagnosticRun.context_pk))
                .group_by(DiagnosticRun.learner_id, DiagnosticRun.context_pk),
            )
        )
    ):
        at = aware(at)
        previous = activity.get((learner_id, context_pk))
        activity[(learner_id, context_pk)] = max(filter(None, (previous, at)), default=None)

    started: Counter[tuple[int, int]] = Counter()
    completed: Counter[tuple[int, int]] = Counter()
    status: dict[tuple[int, int], ModuleStatus] = {}
    progress_rows = keep(
        session.execute(
            select(
                ModuleProgress.learner_id,
                ModuleProgress.context_pk,
                ModuleProgress.module_id,
                ModuleProgress.completed_at,
                ModuleProgress.best_score,
                ModuleProgress.is_quiz_passed,
                ModuleProgress.id,
            ).where(pairs_clause(pairs, ModuleProgress.learner_id, ModuleProgress.context_pk))
        )
    )
    failed_by_progress: dict[int, int] = {}
    if filters.module:
        chosen_ids = [row[6] for row in progress_rows if row[2] == filters.module]
        if chosen_ids:
            failed_by_progress = {
                progress_id: int(count)
                for progress_id, count in session.execute(
                    select(QuizAttempt.progress_id, func.count())
                    .where(QuizAttempt.progress_id.in_(chosen_ids), QuizAttempt.is_passed.is_(False))
                    .group_by(QuizAttempt.progress_id)
                )
            }
    for learner_id, context_pk, module_id, completed_at, best, passed, progress_id in progress_rows:
        key = (learner_id, context_pk)
        started[key] += 1
        if completed_at is not None:
            completed[key] += 1
        if module_id == filters.module:
            status[key] = ModuleStatus(
                True, best, bool(passed), completed_at is not None, failed_by_progress.get(progress_id, 0)
            )

    levels: dict[tuple[int, int], str | None] = {}
    for learner_id, context_pk, level, _ in sorted(
        keep(
            session.execute(
                select(
                    DiagnosticRun.learner_id, DiagnosticRun.context_pk, DiagnosticRun.level, DiagnosticRun.id
                ).where(
                    pairs_clause(pairs, DiagnosticRun.learner_id, DiagnosticRun.context_pk),
                    DiagnosticRun.status == "submitted",
                )
            )
        ),
        key=lambda row: row[3],
    ):
        levels[(learner_id, context_pk)] = level  # the latest run wins (ids grow with time)

    credentials = Counter(
        (row[0], row[1])
        for row in keep(
            session.execute(
                select(Credential.learner_id, Credential.context_pk).where(
                    pairs_clause(pairs, Credential.learner_id, Credential.context_pk),
                    Credential.revoked_at.is_(None),
                )
            )
        )
    )
    stuck = {
        (row[0], row[1])
        for row in keep(
            session.execute(
                stuck_quizzes(scope, filters).where(
                    pairs_clause(pairs, ModuleProgress.learner_id, ModuleProgress.context_pk)
                )
            )
        )
    }
    cutoff = now - timedelta(days=filters.inactive_days)
    lines = []
    for learner_id, context_pk, name, title, never in shown:
        key = (learner_id, context_pk)
        last = activity.get(key)
        risks = set()
        if last is None or last < cutoff:
            risks.add(INACTIVE)
        if key in stuck:
            risks.add(FAILED_TWICE)
        if levels.get(key) is None:
            risks.add(NO_DIAGNOSTIC)
        module_status = None
        if filters.module:
            module_status = status.get(key, ModuleStatus(False, None, False, False, 0))
        lines.append(
            LearnerLine(
                learner_id=learner_id,
                context_pk=context_pk,
                context_title=title,
                name=name,
                never_launched=never,
                last_activity_at=last,
                modules_started=started[key],
                modules_completed=completed[key],
                diagnostic_level=levels.get(key),
                credentials=credentials[key],
                risks=frozenset(risks),
                module=module_status,
            )
        )
    return Paged(lines, page, total)


# -- one learner -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModuleLine:
    module_id: str
    title: str
    started_at: datetime | None
    updated_at: datetime | None
    best_score: float | None
    is_quiz_passed: bool
    completed_at: datetime | None
    failed_attempts: int
    attempts: int


@dataclass(frozen=True)
class DeliverableLine:
    deliverable_id: int
    module_id: str
    submitted_at: datetime
    review_status: str | None


@dataclass(frozen=True)
class LearnerDetail:
    learner: Learner
    context: Context
    enrolment: Enrolment
    last_activity_at: datetime | None
    modules: list[ModuleLine]
    diagnostic: DiagnosticRun | None  # the latest submitted run
    deliverables: list[DeliverableLine]
    attended: int  # live sessions attended
    credentials: list[Credential]  # revoked ones included
    risks: frozenset[str]


def learner_detail(
    session: DbSession,
    scope: StaffScope,
    learner_id: int,
    context_pk: int,
    content: Content,
    now: datetime,
    inactive_days: int = DEFAULT_INACTIVE_DAYS,
) -> LearnerDetail:
    """One learner in one course, checked against the scope (404 outside): progress, diagnostic, work."""
    learner = scope.learner(session, learner_id, context_pk)
    context = scope.context(session, context_pk)
    enrolment = session.scalars(
        select(Enrolment).where(Enrolment.learner_id == learner_id, Enrolment.context_pk == context_pk)
    ).one()
    progress = {
        p.module_id: p
        for p in session.scalars(
            select(ModuleProgress).where(
                ModuleProgress.learner_id == learner_id, ModuleProgress.context_pk == context_pk
            )
        )
    }
    attempts: dict[str, tuple[int, int]] = {}
    if progress:
        for progress_id, total, failed in session.execute(
            select(
                QuizAttempt.progress_id,
                func.count(),
                func.sum(case((QuizAttempt.is_passed.is_(False), 1), else_=0)),
            )
            .where(QuizAttempt.progress_id.in_([p.id for p in progress.values()]))
            .group_by(QuizAttempt.progress_id)
        ):
            module_id = next(m for m, p in progress.items() if p.id == progress_id)
            attempts[module_id] = (int(total), int(failed or 0))
    modules = []
    for module in content.modules:
        row = progress.get(module.id)
        total, failed = attempts.get(module.id, (0, 0))
        modules.append(
            ModuleLine(
                module_id=module.id,
                title=module.meta.title,
                started_at=row.started_at if row else None,
                updated_at=row.updated_at if row else None,
                best_score=row.best_score if row else None,
                is_quiz_passed=bool(row and row.is_quiz_passed),
                completed_at=row.completed_at if row else None,
                failed_attempts=failed,
                attempts=total,
            )
        )
    runs = list(
        session.scalars(
            select(DiagnosticRun)
            .where(DiagnosticRun.learner_id == learner_id, DiagnosticRun.context_pk == context_pk)
            .order_by(DiagnosticRun.id.desc())
        )
    )
    submitted = next((r for r in runs if r.status == "submitted"), None)
    deliverables = [
        DeliverableLine(d.id, d.module_id, d.submitted_at, d.review_status)
        for d in session.scalars(
            select(Deliverable)
            .join(ModuleProgress, ModuleProgress.id == Deliverable.progress_id)
            .where(Deliverable.learner_id == learner_id, ModuleProgress.context_pk == context_pk)
            .order_by(Deliverable.submitted_at)
        )
    ]
    attended = (
        session.scalar(
            select(func.count())
            .select_from(Attendance)
            .join(LiveSession, LiveSession.id == Attendance.session_id)
            .where(
                Attendance.learner_id == learner_id,
                LiveSession.context_pk == context_pk,
                Attendance.is_present.is_(True),
            )
        )
        or 0
    )
    moments = [enrolment.last_launch_at, *(r.updated_at for r in runs)]
    moments += [p.updated_at for p in progress.values()]
    last = max((m for m in moments if m is not None), default=None)
    risks = set()
    if last is None or last < now - timedelta(days=inactive_days):
        risks.add(INACTIVE)
    if any(m.failed_attempts >= FAILED_ATTEMPTS_AT_RISK and not m.is_quiz_passed for m in modules):
        risks.add(FAILED_TWICE)
    if submitted is None:
        risks.add(NO_DIAGNOSTIC)
    credentials = list(
        session.scalars(
            select(Credential)
            .where(Credential.learner_id == learner_id, Credential.context_pk == context_pk)
            .order_by(Credential.issued_at, Credential.achievement)
        )
    )
    return LearnerDetail(
        learner,
        context,
        enrolment,
        last,
        modules,
        submitted,
        deliverables,
        int(attended),
        credentials,
        frozenset(risks),
    )
