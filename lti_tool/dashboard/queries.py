"""What the staff dashboard reads: aggregates over the projections the services keep up to date as events
happen (module progress, quiz attempts, autodiagnostic runs, competence states, credentials, attendance,
enrolments), always inside a ``StaffScope``. Never a scan of the xAPI statements or of the learning events:
the only statements read are one learner's timeline, a page at a time, through the statement store's index
of their account. No Flask here: explicit arguments in, dataclasses out.
"""

from __future__ import annotations

from collections import Counter
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
    case,
    exists,
    func,
    literal,
    or_,
    select,
    union_all,
)

from lti_tool.certificates.models import Credential
from lti_tool.competences.models import CompetenceState
from lti_tool.content.loader import Content
from lti_tool.dashboard.scope import StaffScope
from lti_tool.db import DbSession
from lti_tool.diagnostic.models import DiagnosticRun
from lti_tool.learners.models import Context, Deployment, Enrolment, Learner, display_name
from lti_tool.training.models import Attendance, Deliverable, LiveSession, ModuleProgress, QuizAttempt
from xapi import builder as xb
from xapi import store
from xapi.models import Statement
from xapi.vocabulary import VERB_DISPLAY, Vocabulary

PAGE_SIZE = 50
TIMELINE_PAGE_SIZE = 50
TIMELINE_MAX_READS = 10  # pages of a learner's statements read, at most, to fill a page of one course's
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


def _contexts(scope: StaffScope, filters: Filters, column: Any) -> ColumnElement[bool]:
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
            _contexts(scope, filters, Enrolment.context_pk), Enrolment.is_staff.is_(False)
        ),
        select(ModuleProgress.learner_id, ModuleProgress.context_pk, ModuleProgress.updated_at).where(
            _contexts(scope, filters, ModuleProgress.context_pk)
        ),
        select(DiagnosticRun.learner_id, DiagnosticRun.context_pk, DiagnosticRun.updated_at).where(
            _contexts(scope, filters, DiagnosticRun.context_pk)
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
        _contexts(scope, filters, Enrolment.context_pk),
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


def _of_members(cohort: Subquery, learner_id: Any, context_pk: Any) -> ColumnElement[bool]:
    return and_(cohort.c.learner_id == learner_id, cohort.c.context_pk == context_pk)


def _latest_diagnostics(scope: StaffScope, filters: Filters, cohort: Subquery) -> Subquery:
    """The latest submitted autodiagnostic run of each learner counted (ids only)."""
    return (
        select(func.max(DiagnosticRun.id).label("id"))
        .join(cohort, _of_members(cohort, DiagnosticRun.learner_id, DiagnosticRun.context_pk))
        .where(_contexts(scope, filters, DiagnosticRun.context_pk), DiagnosticRun.status == "submitted")
        .group_by(DiagnosticRun.learner_id, DiagnosticRun.context_pk)
        .subquery("latest_runs")
    )


def _stuck(scope: StaffScope, filters: Filters) -> Select[int, int]:
    """(learner_id, context_pk) of those with a quiz failed at least twice and still not passed."""
    query = (
        select(ModuleProgress.learner_id, ModuleProgress.context_pk)
        .join(QuizAttempt, QuizAttempt.progress_id == ModuleProgress.id)
        .where(
            _contexts(scope, filters, ModuleProgress.context_pk),
            QuizAttempt.is_passed.is_(False),
            ModuleProgress.is_quiz_passed.is_(False),
        )
        .group_by(ModuleProgress.id, ModuleProgress.learner_id, ModuleProgress.context_pk)
        .having(func.count() >= FAILED_ATTEMPTS_AT_RISK)
    )
    if filters.module:
        query = query.where(ModuleProgress.module_id == filters.module)
    return query


def _at_risk(
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
        stuck = _stuck(scope, filters).subquery("stuck")
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


# -- the overview ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CohortFigures:
    known: int  # on the roster (from launches or the platform's roster service)
    launched: int  # launched Socle at least once
    started: int  # started at least one module
    diagnosed: int  # submitted an autodiagnostic
    certified: int  # hold at least one credential that is not revoked
    average_score: float | None  # mean of the best quiz scores, 0..1


@dataclass(frozen=True)
class ModuleFigures:
    module_id: str
    title: str
    known: int
    started: int
    quiz_passed: int
    completed: int
    average_score: float | None  # mean best score of those who took the quiz, 0..1


@dataclass(frozen=True)
class CompetenceFigures:
    code: str
    name: str
    evaluated: int  # learners with evidence for it
    met: int
    average_score: float | None  # 0..1, over those with a weighted score


@dataclass(frozen=True)
class Count:
    code: str
    label: str
    count: int


@dataclass(frozen=True)
class AxisAverage:
    axis: str
    name: str
    average: float | None  # 0..100


@dataclass(frozen=True)
class DiagnosticFigures:
    diagnosed: int
    levels: list[Count]
    axes: list[AxisAverage]
    primary_formats: list[Count]
    secondary_formats: list[Count]


@dataclass(frozen=True)
class SessionFigures:
    session_id: int
    context_pk: int
    context_title: str | None
    title: str
    kind: str
    module_id: str | None
    starts_at: datetime
    known: int
    present: int
    absent: int


@dataclass(frozen=True)
class CredentialFigures:
    achievement: str
    issued: int
    revoked: int


@dataclass(frozen=True)
class RiskFigures:
    inactive_days: int
    counts: dict[str, int]


@dataclass(frozen=True)
class Overview:
    cohort: CohortFigures
    modules: list[ModuleFigures]
    competences: list[CompetenceFigures]
    diagnostic: DiagnosticFigures
    sessions: list[SessionFigures]
    credentials: list[CredentialFigures]
    risks: RiskFigures


def overview(
    session: DbSession, scope: StaffScope, filters: Filters, content: Content, now: datetime, lang: str = "fr"
) -> Overview:
    """Every figure of the dashboard's first page, for the learners the filters choose."""
    cohort = members(scope, filters)
    figures = cohort_figures(session, scope, filters, cohort)
    return Overview(
        cohort=figures,
        modules=module_figures(session, scope, filters, content, cohort, figures.known),
        competences=competence_figures(session, scope, filters, content, cohort, lang),
        diagnostic=diagnostic_figures(session, scope, filters, content, cohort, lang),
        sessions=session_figures(session, scope, filters, cohort),
        credentials=credential_figures(session, scope, filters, cohort),
        risks=risk_figures(session, scope, filters, cohort, now),
    )


def cohort_figures(
    session: DbSession, scope: StaffScope, filters: Filters, cohort: Subquery
) -> CohortFigures:
    known, launched = session.execute(
        select(func.count(), func.count(cohort.c.first_launch_at)).select_from(cohort)
    ).one()
    per_learner = (
        select(
            ModuleProgress.learner_id,
            ModuleProgress.context_pk,
            func.sum(ModuleProgress.best_score).label("scores"),
            func.count(ModuleProgress.best_score).label("scored"),
        )
        .join(cohort, _of_members(cohort, ModuleProgress.learner_id, ModuleProgress.context_pk))
        .where(_contexts(scope, filters, ModuleProgress.context_pk))
        .group_by(ModuleProgress.learner_id, ModuleProgress.context_pk)
        .subquery("per_learner")
    )
    started, scores, scored = session.execute(
        select(func.count(), func.sum(per_learner.c.scores), func.sum(per_learner.c.scored))
    ).one()
    average = float(scores) / int(scored) if scored else None
    latest = _latest_diagnostics(scope, filters, cohort)
    diagnosed = session.scalar(select(func.count()).select_from(latest)) or 0
    certified_pairs = (
        select(Credential.learner_id, Credential.context_pk)
        .join(cohort, _of_members(cohort, Credential.learner_id, Credential.context_pk))
        .where(_contexts(scope, filters, Credential.context_pk), Credential.revoked_at.is_(None))
        .distinct()
        .subquery()
    )
    certified = session.scalar(select(func.count()).select_from(certified_pairs)) or 0
    return CohortFigures(
        known=int(known),
        launched=int(launched),
        started=int(started or 0),
        diagnosed=int(diagnosed),
        certified=int(certified),
        average_score=average,
    )


def _modules_shown(content: Content, filters: Filters) -> list[Any]:
    return [m for m in content.modules if filters.module in (None, m.id)]


def module_figures(
    session: DbSession,
    scope: StaffScope,
    filters: Filters,
    content: Content,
    cohort: Subquery,
    known: int,
) -> list[ModuleFigures]:
    """Per module: started, quiz passed, completed (the funnel from the learners known), average score."""
    query = (
        select(
            ModuleProgress.module_id,
            func.count(),
            func.sum(case((ModuleProgress.is_quiz_passed.is_(True), 1), else_=0)),
            func.count(ModuleProgress.completed_at),
            func.avg(ModuleProgress.best_score),
        )
        .join(cohort, _of_members(cohort, ModuleProgress.learner_id, ModuleProgress.context_pk))
        .where(_contexts(scope, filters, ModuleProgress.context_pk))
        .group_by(ModuleProgress.module_id)
    )
    if filters.module:
        query = query.where(ModuleProgress.module_id == filters.module)
    rows = {row[0]: row for row in session.execute(query)}
    figures = []
    for module in _modules_shown(content, filters):
        row = rows.get(module.id)
        figures.append(
            ModuleFigures(
                module_id=module.id,
                title=module.meta.title,
                known=known,
                started=int(row[1]) if row else 0,
                quiz_passed=int(row[2] or 0) if row else 0,
                completed=int(row[3]) if row else 0,
                average_score=float(row[4]) if row and row[4] is not None else None,
            )
        )
    return figures


def competences_shown(content: Content, filters: Filters) -> list[tuple[str, Any]]:
    """(code, name as Text) of the competences the figures show: the one chosen, those the chosen module
    weighs, or all of them."""
    programme = content.programme
    named = [(c.code, c.name) for c in programme.competences] + [(b.code, b.name) for b in programme.blocs]
    if filters.competence:
        return [(code, name) for code, name in named if code == filters.competence]
    competences = [(c.code, c.name) for c in programme.competences]
    if filters.module:
        module = content.module(filters.module)
        weighed = set(module.meta.competences) if module is not None else set()
        return [(code, name) for code, name in competences if code in weighed]
    return competences


def competence_figures(
    session: DbSession,
    scope: StaffScope,
    filters: Filters,
    content: Content,
    cohort: Subquery,
    lang: str = "fr",
) -> list[CompetenceFigures]:
    """Per competence (and, when one is chosen, per bloc): learners with evidence, met, mean score."""
    shown = competences_shown(content, filters)
    codes = [code for code, _ in shown]
    rows = {
        row[0]: row
        for row in session.execute(
            select(
                CompetenceState.code,
                func.count(),
                func.sum(case((CompetenceState.is_met.is_(True), 1), else_=0)),
                func.avg(CompetenceState.score),
            )
            .join(cohort, _of_members(cohort, CompetenceState.learner_id, CompetenceState.context_pk))
            .where(_contexts(scope, filters, CompetenceState.context_pk), CompetenceState.code.in_(codes))
            .group_by(CompetenceState.code)
        )
    }
    return [
        CompetenceFigures(
            code=code,
            name=getattr(name, lang, name.fr),
            evaluated=int(rows[code][1]) if code in rows else 0,
            met=int(rows[code][2] or 0) if code in rows else 0,
            average_score=float(rows[code][3]) if code in rows and rows[code][3] is not None else None,
        )
        for code, name in shown
    ]


def diagnostic_figures(
    session: DbSession,
    scope: StaffScope,
    filters: Filters,
    content: Content,
    cohort: Subquery,
    lang: str = "fr",
) -> DiagnosticFigures:
    """The latest autodiagnostic of each learner: levels, the mean score per axis, the formats recommended.

    One query, folded here: on PostgreSQL each JSON path re-reads the stored result, so four grouped
    queries (levels, axes, two formats) cost more than reading each run's three small values once."""
    diagnostic = content.diagnostic
    latest = select(_latest_diagnostics(scope, filters, cohort).c.id)
    levels: Counter[str] = Counter()
    primary: Counter[str] = Counter()
    secondary: Counter[str] = Counter()
    totals: dict[str, float] = {}
    counts: Counter[str] = Counter()
    for level, first, then, axis_scores in session.execute(
        select(
            DiagnosticRun.level,
            DiagnosticRun.result["primary_format"].as_string(),
            DiagnosticRun.result["secondary_format"].as_string(),
            DiagnosticRun.result["axis_scores"],
        ).where(DiagnosticRun.id.in_(latest))
    ):
        levels[level] += 1
        primary[first] += 1
        secondary[then] += 1
        for axis, value in (axis_scores or {}).items():
            if isinstance(value, int | float):
                totals[axis] = totals.get(axis, 0.0) + value
                counts[axis] += 1
    formats = {f.code: f.name for f in content.programme.formats}

    def counted(found: Counter[str]) -> list[Count]:
        codes = [*formats, *sorted(c for c in found if c not in formats and c is not None)]
        return [Count(c, getattr(formats[c], lang) if c in formats else c, found[c]) for c in codes]

    return DiagnosticFigures(
        diagnosed=sum(levels.values()),
        levels=[
            Count(level.code, getattr(level.label, lang), levels[level.code])
            for level in diagnostic.scoring.levels
        ],
        axes=[
            AxisAverage(
                axis.id,
                getattr(axis.name, lang),
                totals[axis.id] / counts[axis.id] if counts[axis.id] else None,
            )
            for axis in diagnostic.axes
        ],
        primary_formats=counted(primary),
        secondary_formats=counted(secondary),
    )


def session_figures(
    session: DbSession, scope: StaffScope, filters: Filters, cohort: Subquery
) -> list[SessionFigures]:
    """Each live session of the visible courses: learners known in its course, present, absent."""
    attendance = (
        select(
            Attendance.session_id,
            func.sum(case((Attendance.is_present.is_(True), 1), else_=0)).label("present"),
            func.sum(case((Attendance.is_present.is_(False), 1), else_=0)).label("absent"),
        )
        .join(LiveSession, LiveSession.id == Attendance.session_id)
        .join(cohort, _of_members(cohort, Attendance.learner_id, LiveSession.context_pk))
        .where(_contexts(scope, filters, LiveSession.context_pk))
        .group_by(Attendance.session_id)
        .subquery("attendance")
    )
    known = {
        context_pk: int(count)
        for context_pk, count in session.execute(
            select(cohort.c.context_pk, func.count()).group_by(cohort.c.context_pk)
        )
    }
    query = (
        select(LiveSession, Context.title, attendance.c.present, attendance.c.absent)
        .join(Context, Context.id == LiveSession.context_pk)
        .outerjoin(attendance, attendance.c.session_id == LiveSession.id)
        .where(_contexts(scope, filters, LiveSession.context_pk))
        .order_by(LiveSession.starts_at, LiveSession.id)
    )
    if filters.module:
        query = query.where(or_(LiveSession.module_id == filters.module, LiveSession.module_id.is_(None)))
    return [
        SessionFigures(
            session_id=live.id,
            context_pk=live.context_pk,
            context_title=title,
            title=live.title,
            kind=live.kind,
            module_id=live.module_id,
            starts_at=live.starts_at,
            known=int(known.get(live.context_pk, 0)),
            present=int(present or 0),
            absent=int(absent or 0),
        )
        for live, title, present, absent in session.execute(query)
    ]


def credential_figures(
    session: DbSession, scope: StaffScope, filters: Filters, cohort: Subquery
) -> list[CredentialFigures]:
    """Per bloc and certificate: credentials issued (revoked ones included) and revoked."""
    rows = session.execute(
        select(Credential.achievement, func.count(), func.count(Credential.revoked_at))
        .join(cohort, _of_members(cohort, Credential.learner_id, Credential.context_pk))
        .where(_contexts(scope, filters, Credential.context_pk))
        .group_by(Credential.achievement)
        .order_by(Credential.achievement)
    )
    return [CredentialFigures(a, int(issued), int(revoked)) for a, issued, revoked in rows]


def risk_figures(
    session: DbSession, scope: StaffScope, filters: Filters, cohort: Subquery, now: datetime
) -> RiskFigures:
    counts = {
        risk: int(
            session.scalar(
                _at_risk(select(func.count()).select_from(cohort), cohort, scope, filters, risk, now)
            )
            or 0
        )
        for risk in RISKS
    }
    return RiskFigures(filters.inactive_days, counts)


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


def _page_of_members(
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
        counting = _at_risk(counting, cohort, scope, filters, risk, now)
        listing = _at_risk(listing, cohort, scope, filters, risk, now)
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


def _pairs_clause(pairs: Iterable[tuple[int, int]], learner_id: Any, context_pk: Any) -> ColumnElement[bool]:
    """Rows of these learners in these contexts (a superset; callers keep the exact pairs)."""
    pairs = list(pairs)
    return and_(learner_id.in_({p[0] for p in pairs}), context_pk.in_({p[1] for p in pairs}))


def learners(
    session: DbSession,
    scope: StaffScope,
    filters: Filters,
    now: datetime,
    page: int = 1,
    risk: str | None = None,
) -> Paged[LearnerLine]:
    """A page of learners with their progress, latest diagnostic level, credentials and risks."""
    shown, total = _page_of_members(session, scope, filters, page, risk, now)
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
                    _pairs_clause(pairs, Enrolment.learner_id, Enrolment.context_pk)
                ),
                select(
                    ModuleProgress.learner_id,
                    ModuleProgress.context_pk,
                    func.max(ModuleProgress.updated_at),
                )
                .where(_pairs_clause(pairs, ModuleProgress.learner_id, ModuleProgress.context_pk))
                .group_by(ModuleProgress.learner_id, ModuleProgress.context_pk),
                select(DiagnosticRun.learner_id, DiagnosticRun.context_pk, func.max(DiagnosticRun.updated_at))
                .where(_pairs_clause(pairs, DiagnosticRun.learner_id, DiagnosticRun.context_pk))
                .group_by(DiagnosticRun.learner_id, DiagnosticRun.context_pk),
            )
        )
    ):
        at = _aware(at)
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
            ).where(_pairs_clause(pairs, ModuleProgress.learner_id, ModuleProgress.context_pk))
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
                    _pairs_clause(pairs, DiagnosticRun.learner_id, DiagnosticRun.context_pk),
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
                    _pairs_clause(pairs, Credential.learner_id, Credential.context_pk),
                    Credential.revoked_at.is_(None),
                )
            )
        )
    )
    stuck = {
        (row[0], row[1])
        for row in keep(
            session.execute(
                _stuck(scope, filters).where(
                    _pairs_clause(pairs, ModuleProgress.learner_id, ModuleProgress.context_pk)
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


def _aware(value: datetime | str | None) -> datetime | None:
    """A UTC datetime from a UNION or a statement, whatever the driver gave (naive UTC or text on SQLite)."""
    if value is None:
        return None
    if isinstance(value, str):  # SQLite returns a UNION's datetimes as text
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


# -- the heatmap ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    score: float | None  # 0..1; None when there is no weighted score
    is_met: bool
    has_evidence: bool  # a state exists (evidence was folded in, or the competence was recognised)


@dataclass(frozen=True)
class HeatRow:
    learner_id: int
    context_pk: int
    context_title: str | None
    name: str | None
    cells: list[Cell]


@dataclass(frozen=True)
class Heatmap:
    columns: list[tuple[str, str]]  # (code, name)
    rows: Paged[HeatRow]


def heatmap(
    session: DbSession,
    scope: StaffScope,
    filters: Filters,
    content: Content,
    now: datetime,
    page: int = 1,
    lang: str = "fr",
) -> Heatmap:
    """Learners (a page of them, by name) × competences: each cell the weighted score and whether met."""
    columns = [(code, getattr(name, lang)) for code, name in competences_shown(content, filters)]
    codes = [code for code, _ in columns]
    shown, total = _page_of_members(session, scope, filters, page, None, now)
    pairs = [(learner_id, context_pk) for learner_id, context_pk, *_ in shown]
    states: dict[tuple[int, int, str], Cell] = {}
    if pairs and codes:
        wanted = set(pairs)
        for learner_id, context_pk, code, score, met in session.execute(
            select(
                CompetenceState.learner_id,
                CompetenceState.context_pk,
                CompetenceState.code,
                CompetenceState.score,
                CompetenceState.is_met,
            ).where(
                _pairs_clause(pairs, CompetenceState.learner_id, CompetenceState.context_pk),
                CompetenceState.code.in_(codes),
            )
        ):
            if (learner_id, context_pk) in wanted:
                states[(learner_id, context_pk, code)] = Cell(score, bool(met), True)
    empty = Cell(None, False, False)
    rows = [
        HeatRow(
            learner_id,
            context_pk,
            title,
            name,
            [states.get((learner_id, context_pk, code), empty) for code in codes],
        )
        for learner_id, context_pk, name, title, _ in shown
    ]
    return Heatmap(columns, Paged(rows, page, total))


# -- the contexts an administrator may choose ------------------------------------------------------------


@dataclass(frozen=True)
class ContextChoice:
    context_pk: int
    title: str


def contexts(session: DbSession, scope: StaffScope) -> list[ContextChoice]:
    rows = session.execute(
        select(Context.id, Context.title, Context.label, Context.lti_context_id)
        .where(_contexts(scope, Filters(), Context.id))
        .order_by(Context.title, Context.id)
    )
    return [ContextChoice(pk, title or label or lti_id or f"#{pk}") for pk, title, label, lti_id in rows]


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


# -- one learner's timeline, in plain words ----------------------------------------------------------


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime | None
    verb: str  # the verb's display in the language asked ("a terminé")
    what: str | None  # the object's name; None for a reference to an earlier statement (a voiding)
    score: float | None  # scaled, 0..1
    success: bool | None
    by_someone_else: bool  # recorded by a facilitator (an attendance), not the learner


@dataclass(frozen=True)
class Timeline:
    entries: list[TimelineEntry]
    more: str | None  # the cursor of the next (older) page


def course_activity(vocabulary: Vocabulary, session: DbSession, context: Context, issuer: str) -> str:
    """The course's xAPI activity id, as the statement builder makes it (the statements' grouping)."""
    deployment_id = session.scalar(
        select(Deployment.deployment_id).where(Deployment.id == context.deployment_pk)
    )
    where = xb.Where(issuer, deployment_id or "", context.lti_context_id, context.title, None, None)
    return str(xb.Builder(vocabulary).course(where).id)


def timeline(
    session: DbSession,
    scope: StaffScope,
    learner: Learner,
    context: Context,
    vocabulary: Vocabulary,
    after: tuple[int, str] | None = None,
    lang: str = "fr",
) -> Timeline:
    """The learner's statements in this course, newest first, about a page at a time, in plain words.

    Read through the statement store by the learner's account only (its index gives their few hundred
    statements at once), then kept to this course (the course activity among the statement's context
    activities) and to the launch's registration (the rows' platform, checked by id). Asking the store for
    the course activity or the platform as well is slower: the course names every statement of the cohort,
    and without statistics SQLite would walk the platform's whole index."""
    course = course_activity(vocabulary, session, context, learner.issuer)
    agent = f"account:{learner.issuer}|{learner.sub}"
    kept: list[dict[str, Any]] = []
    cursor = after
    for _ in range(TIMELINE_MAX_READS):
        query = store.Query(agent=agent, limit=TIMELINE_PAGE_SIZE, after=cursor)
        statements, cursor = store.find(session, query, store.Visibility(everything=True))
        ours = _of_platform(session, [s["id"] for s in statements], scope.platform_id)
        kept += [s for s in statements if s["id"] in ours and _names_activity(s, course)]
        if cursor is None or len(kept) >= TIMELINE_PAGE_SIZE:
            break
    return Timeline(
        [plain_words(s, lang) for s in kept], store.encode_cursor(cursor) if cursor is not None else None
    )


def _of_platform(session: DbSession, ids: list[str], platform_id: int) -> set[str]:
    """Those of these statements that belong to the registration. The platform is compared here, not in
    SQL: with it in the WHERE clause SQLite picks the platform's index over the primary key."""
    if not ids:
        return set()
    rows = session.execute(select(Statement.id, Statement.platform_id).where(Statement.id.in_(ids)))
    return {statement_id for statement_id, platform in rows if platform == platform_id}


def _names_activity(statement: dict[str, Any], activity: str) -> bool:
    """The statement is about this activity, or has it among its context activities."""
    if (statement.get("object") or {}).get("id") == activity:
        return True
    related = ((statement.get("context") or {}).get("contextActivities")) or {}
    for kind in ("parent", "grouping", "category", "other"):
        items = related.get(kind) or []
        for item in items if isinstance(items, list) else [items]:
            if isinstance(item, dict) and item.get("id") == activity:
                return True
    return False


def _in_language(value: Any, lang: str) -> str | None:
    if not isinstance(value, dict) or not value:
        return None
    for key in (lang, "fr", "en", "und"):
        if isinstance(value.get(key), str):
            return str(value[key])
    first = next(iter(value.values()))
    return str(first) if isinstance(first, str) else None


def plain_words(statement: dict[str, Any], lang: str = "fr") -> TimelineEntry:
    """One statement as a sentence a trainer reads: the verb's display, the object's name, the outcome."""
    verb = statement.get("verb") or {}
    verb_id = str(verb.get("id", ""))
    verb_text = (
        VERB_DISPLAY.get(verb_id, {}).get(lang)
        or _in_language(verb.get("display"), lang)
        or verb_id.rsplit("/", 1)[-1]
    )
    target = statement.get("object") or {}
    what: str | None = None
    if target.get("objectType") != "StatementRef":
        definition = target.get("definition") or {}
        what = (
            _in_language(definition.get("name"), lang)
            or _in_language(definition.get("description"), lang)
            or str(target.get("id", ""))
        )
        if len(what) > 140:
            what = what[:139] + "…"
    result = statement.get("result") or {}
    scaled = (result.get("score") or {}).get("scaled")
    success = result.get("success")
    at = None
    stamp = statement.get("timestamp")
    if isinstance(stamp, str):
        try:
            at = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        except ValueError:
            at = None
    by_other = bool((statement.get("context") or {}).get("instructor"))
    return TimelineEntry(
        _aware(at),
        verb_text,
        what,
        float(scaled) if isinstance(scaled, int | float) else None,
        success if isinstance(success, bool) else None,
        by_other,
    )
