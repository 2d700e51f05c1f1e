"""Who counts in the staff dashboard: the filters, the cohort's members inside a ``StaffScope``, their last
activity and who is at risk, and the courses an administrator may choose. Every dashboard query reads the
projections the services keep up to date as events happen, never a scan of the xAPI statements or of the
learning events. No Flask here: explicit arguments in, dataclasses out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from math import ceil
from typing import Any, Generic, TypeVar, TypeVarTuple

from sqlalchemy import (
    ColumnElement,
    Select,
    Subquery,
    and_,
    exists,
    func,
    literal,
    or_,
    select,
    union_all,
)

from lti_tool.dashboard.scope import StaffScope
from lti_tool.db import DbSession
from lti_tool.diagnostic.models import DiagnosticRun
from lti_tool.learners.models import Context, Enrolment, Learner, display_name
from lti_tool.training.models import ModuleProgress, QuizAttempt

PAGE_SIZE = 50
DEFAULT_INACTIVE_DAYS = 14
# A learner "failed twice" when a module's quiz has at least this many failed attempts and is not passed.
FAILED_ATTEMPTS_AT_RISK = 2

INACTIVE = "inactive"
FAILED_TWICE = "failed_twice"
NO_DIAGNOSTIC = "no_diagnostic"
RISKS = (INACTIVE, FAILED_TWICE, NO_DIAGNOSTIC)

T = TypeVar("T")
_Ts = TypeVarTuple("_Ts")


@dataclass(frozen=True)
class Filters:
    """What narrows the dashboard. ``context_pk`` is the "group" (LTI launches carry no groups and the
    roster service gives none: a group is a course context; an administrator sees several). ``module`` and
    ``competence`` focus the figures on one module or competence; the other filters choose the learners."""

    context_pk: int | None = None
    module: str | None = None
    competence: str | None = None
    active_from: datetime | None = None  # last activity at or after
    active_until: datetime | None = None  # last activity before
    search: str | None = None
    inactive_days: int = DEFAULT_INACTIVE_DAYS


@dataclass(frozen=True)
class Paged(Generic[T]):
    items: list[T]
    page: int
    total: int
    size: int = PAGE_SIZE

    @property
    def pages(self) -> int:
        return max(1, ceil(self.total / self.size))

    @property
    def first_number(self) -> int:
        return (self.page - 1) * self.size + 1 if self.items else 0

    @property
    def last_number(self) -> int:
        return (self.page - 1) * self.size + len(self.items)


# -- the cohort: who counts -----------------------------------------------------------------------------


def in_contexts(scope: StaffScope, filters: Filters, column: Any) -> ColumnElement[bool]:
    """The visible contexts, narrowed to the chosen one."""
    clause = scope.contexts_clause(column)
    if filters.context_pk is not None:
        clause = and_(clause, column == filters.context_pk)
    return clause


def last_activity(scope: StaffScope, filters: Filters) -> Subquery:
    """Per learner and context, the latest of their launch, their progress in any module and their
    autodiagnostic (columns learner_id, context_pk, last_at; last_at is NULL for the roster-only)."""
    moments = union_all(
        select(Enrolment.learner_id, Enrolment.context_pk, Enrolment.last_launch_at.label("at")).where(
            in_contexts(scope, filters, Enrolment.context_pk), Enrolment.is_staff.is_(False)
        ),
        select(ModuleProgress.learner_id, ModuleProgress.context_pk, ModuleProgress.updated_at).where(
            in_contexts(scope, filters, ModuleProgress.context_pk)
        ),
        select(DiagnosticRun.learner_id, DiagnosticRun.context_pk, DiagnosticRun.updated_at).where(
            in_contexts(scope, filters, DiagnosticRun.context_pk)
        ),
    ).subquery("moments")
    return (
        select(moments.c.learner_id, moments.c.context_pk, func.max(moments.c.at).label("last_at"))
        .group_by(moments.c.learner_id, moments.c.context_pk)
        .subquery("activity")
    )


Member = Select[int, int, datetime | None, datetime | None]


def _members_query(scope: StaffScope, filters: Filters) -> Member:
    """The learners counted: enrolled (known from a launch or from the platform's roster), not staff,
    still in the course, in a visible context; then the name searched and the activity dates."""
    query = select(
        Enrolment.learner_id, Enrolment.context_pk, Enrolment.first_launch_at, Enrolment.last_launch_at
    ).where(
        in_contexts(scope, filters, Enrolment.context_pk),
        Enrolment.is_staff.is_(False),
        Enrolment.is_active.is_(True),
    )
    if filters.search:
        pattern = "%" + _escape_like(filters.search.lower()) + "%"
        query = query.join(Learner, Learner.id == Enrolment.learner_id).where(
            or_(
                func.lower(Learner.name).like(pattern, escape="\\"),
                func.lower(Learner.given_name).like(pattern, escape="\\"),
                func.lower(Learner.family_name).like(pattern, escape="\\"),
            )
        )
    if filters.active_from or filters.active_until:
        activity = last_activity(scope, filters)
        query = query.join(
            activity,
            and_(
                activity.c.learner_id == Enrolment.learner_id, activity.c.context_pk == Enrolment.context_pk
            ),
        )
        if filters.active_from:
            query = query.where(activity.c.last_at >= filters.active_from)
        if filters.active_until:
            query = query.where(activity.c.last_at < filters.active_until)
    return query


def members(scope: StaffScope, filters: Filters) -> Subquery:
    return _members_query(scope, filters).subquery("members")


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def of_members(cohort: Subquery, learner_id: Any, context_pk: Any) -> ColumnElement[bool]:
    return and_(cohort.c.learner_id == learner_id, cohort.c.context_pk == context_pk)


def latest_diagnostics(scope: StaffScope, filters: Filters, cohort: Subquery) -> Subquery:
    """The latest submitted autodiagnostic run of each learner counted (ids only)."""
    return (
        select(func.max(DiagnosticRun.id).label("id"))
        .join(cohort, of_members(cohort, DiagnosticRun.learner_id, DiagnosticRun.context_pk))
        .where(in_contexts(scope, filters, DiagnosticRun.context_pk), DiagnosticRun.status == "submitted")
        .group_by(DiagnosticRun.learner_id, DiagnosticRun.context_pk)
        .subquery("latest_runs")
    )


def stuck_quizzes(scope: StaffScope, filters: Filters) -> Select[int, int]:
    """(learner_id, context_pk) of those with a quiz failed at least twice and still not passed."""
    query = (
        select(ModuleProgress.learner_id, ModuleProgress.context_pk)
        .join(QuizAttempt, QuizAttempt.progress_id == ModuleProgress.id)
        .where(
            in_contexts(scope, filters, ModuleProgress.context_pk),
            QuizAttempt.is_passed.is_(False),
            ModuleProgress.is_quiz_passed.is_(False),
        )
        .group_by(ModuleProgress.id, ModuleProgress.learner_id, ModuleProgress.context_pk)
        .having(func.count() >= FAILED_ATTEMPTS_AT_RISK)
    )
    if filters.module:
        query = query.where(ModuleProgress.module_id == filters.module)
    return query


def at_risk(
    query: Select[*_Ts],
    cohort: Subquery,
    scope: StaffScope,
    filters: Filters,
    risk: str,
    now: datetime,
) -> Select[*_Ts]:
    """The query (over ``cohort``) kept to the learners at this risk. Joins, not correlated subqueries over
    aggregates: SQLite would re-read the aggregate for every learner."""
    on = cohort.c.learner_id, cohort.c.context_pk
    if risk == INACTIVE:
        activity = last_activity(scope, filters)
        cutoff = now - timedelta(days=filters.inactive_days)
        return query.join(
            activity, and_(activity.c.learner_id == on[0], activity.c.context_pk == on[1])
        ).where(or_(activity.c.last_at.is_(None), activity.c.last_at < cutoff))
    if risk == FAILED_TWICE:
        stuck = stuck_quizzes(scope, filters).subquery("stuck")
        pairs = select(stuck.c.learner_id, stuck.c.context_pk).distinct().subquery("stuck_learners")
        return query.join(pairs, and_(pairs.c.learner_id == on[0], pairs.c.context_pk == on[1]))
    if risk == NO_DIAGNOSTIC:
        return query.where(
            ~exists(
                select(literal(1)).where(
                    DiagnosticRun.learner_id == on[0],
                    DiagnosticRun.context_pk == on[1],
                    DiagnosticRun.status == "submitted",
                )
            )
        )
    raise ValueError(f"unknown risk {risk!r}")


def aware(value: datetime | str | None) -> datetime | None:
    """A UTC datetime from a UNION or a statement, whatever the driver gave (naive UTC or text on SQLite)."""
    if value is None:
        return None
    if isinstance(value, str):  # SQLite returns a UNION's datetimes as text
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def page_of_members(
    session: DbSession,
    scope: StaffScope,
    filters: Filters,
    page: int,
    risk: str | None,
    now: datetime,
) -> tuple[list[tuple[int, int, str | None, str | None, bool]], int]:
    """One page of the learners counted, by name: (learner_id, context_pk, name, course title, never
    launched), and how many there are in all."""
    cohort = members(scope, filters)
    counting = select(func.count()).select_from(cohort)
    listing = (
        select(
            cohort.c.learner_id,
            cohort.c.context_pk,
            Learner.name,
            Learner.given_name,
            Learner.family_name,
            Context.title,
            cohort.c.first_launch_at,
        )
        .select_from(cohort)
        .join(Learner, Learner.id == cohort.c.learner_id)
        .join(Context, Context.id == cohort.c.context_pk)
    )
    if risk is not None:
        counting = at_risk(counting, cohort, scope, filters, risk, now)
        listing = at_risk(listing, cohort, scope, filters, risk, now)
    total = session.scalar(counting) or 0
    rows = session.execute(
        listing.order_by(
            func.lower(func.coalesce(Learner.family_name, Learner.name, "")),
            func.lower(func.coalesce(Learner.given_name, "")),
            cohort.c.learner_id,
            cohort.c.context_pk,
        )
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    ).all()
    return [
        (row[0], row[1], display_name(row[2], row[3], row[4]), row[5], row[6] is None) for row in rows
    ], int(total)


def pairs_clause(pairs: Iterable[tuple[int, int]], learner_id: Any, context_pk: Any) -> ColumnElement[bool]:
    """Rows of these learners in these contexts (a superset; callers keep the exact pairs)."""
    pairs = list(pairs)
    return and_(learner_id.in_({p[0] for p in pairs}), context_pk.in_({p[1] for p in pairs}))


# -- the contexts an administrator may choose ------------------------------------------------------------


@dataclass(frozen=True)
class ContextChoice:
    context_pk: int
    title: str


def contexts(session: DbSession, scope: StaffScope) -> list[ContextChoice]:
    rows = session.execute(
        select(Context.id, Context.title, Context.label, Context.lti_context_id)
        .where(in_contexts(scope, Filters(), Context.id))
        .order_by(Context.title, Context.id)
    )
    return [ContextChoice(pk, title or label or lti_id or f"#{pk}") for pk, title, label, lti_id in rows]
