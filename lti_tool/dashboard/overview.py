"""The dashboard's overview: a cohort's figures (modules, competences, autodiagnostics, live sessions,
credentials, learners at risk), aggregated over the projections. No Flask here."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Subquery,
    case,
    func,
    or_,
    select,
)

from lti_tool.certificates.models import Credential
from lti_tool.competences.models import CompetenceState
from lti_tool.content.loader import Content
from lti_tool.dashboard.cohort import (
    RISKS,
    Filters,
    at_risk,
    in_contexts,
    latest_diagnostics,
    members,
    of_members,
)
from lti_tool.dashboard.scope import StaffScope
from lti_tool.db import DbSession
from lti_tool.diagnostic.models import DiagnosticRun
from lti_tool.learners.models import Context
from lti_tool.training.models import Attendance, LiveSession, ModuleProgress

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
        .join(cohort, of_members(cohort, ModuleProgress.learner_id, ModuleProgress.context_pk))
        .where(in_contexts(scope, filters, ModuleProgress.context_pk))
        .group_by(ModuleProgress.learner_id, ModuleProgress.context_pk)
        .subquery("per_learner")
    )
    started, scores, scored = session.execute(
        select(func.count(), func.sum(per_learner.c.scores), func.sum(per_learner.c.scored))
    ).one()
    average = float(scores) / int(scored) if scored else None
    latest = latest_diagnostics(scope, filters, cohort)
    diagnosed = session.scalar(select(func.count()).select_from(latest)) or 0
    certified_pairs = (
        select(Credential.learner_id, Credential.context_pk)
        .join(cohort, of_members(cohort, Credential.learner_id, Credential.context_pk))
        .where(in_contexts(scope, filters, Credential.context_pk), Credential.revoked_at.is_(None))
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
        .join(cohort, of_members(cohort, ModuleProgress.learner_id, ModuleProgress.context_pk))
        .where(in_contexts(scope, filters, ModuleProgress.context_pk))
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
            .join(cohort, of_members(cohort, CompetenceState.learner_id, CompetenceState.context_pk))
            .where(in_contexts(scope, filters, CompetenceState.context_pk), CompetenceState.code.in_(codes))
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
    latest = select(latest_diagnostics(scope, filters, cohort).c.id)
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
        .join(cohort, of_members(cohort, Attendance.learner_id, LiveSession.context_pk))
        .where(in_contexts(scope, filters, LiveSession.context_pk))
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
        .where(in_contexts(scope, filters, LiveSession.context_pk))
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
        .join(cohort, of_members(cohort, Credential.learner_id, Credential.context_pk))
        .where(in_contexts(scope, filters, Credential.context_pk))
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
                at_risk(select(func.count()).select_from(cohort), cohort, scope, filters, risk, now)
            )
            or 0
        )
        for risk in RISKS
    }
    return RiskFigures(filters.inactive_days, counts)
