"""What an export covers: the courses and learners chosen (every id a caller got from a URL checked here
first, 404 outside the scope), the people in them, their tracks and time spent, and the courses the exports
page offers. No Flask here."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select

from lti_tool.certificates import evidence
from lti_tool.competences.rules import track_for
from lti_tool.competences.services import DEFAULT_TRACK
from lti_tool.content.loader import Content
from lti_tool.dashboard.scope import StaffScope
from lti_tool.db import DbSession
from lti_tool.diagnostic.models import DiagnosticRun
from lti_tool.errors import not_found
from lti_tool.learners.models import Context, Enrolment, Learner
from lti_tool.training.models import LiveSession, ModuleProgress


# -- what an export covers -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Selection:
    """The visible contexts an export covers (one, or all of the scope's) and, optionally, some learners."""

    context_pk: int | None = None
    learner_ids: frozenset[int] | None = None

    def contexts(self, scope: StaffScope, column: Any) -> ColumnElement[bool]:
        clause = scope.contexts_clause(column)
        if self.context_pk is not None:
            clause = and_(clause, column == self.context_pk)
        return clause

    def learners(self, column: Any) -> ColumnElement[bool] | None:
        return column.in_(sorted(self.learner_ids)) if self.learner_ids else None

    def where(self, scope: StaffScope, context_column: Any, learner_column: Any) -> list[ColumnElement[bool]]:
        clauses = [self.contexts(scope, context_column)]
        learners = self.learners(learner_column)
        if learners is not None:
            clauses.append(learners)
        return clauses


EVERYTHING = Selection()


def selection(
    session: DbSession, scope: StaffScope, context_pk: int | None = None, learner_ids: Iterable[int] = ()
) -> Selection:
    """A selection from a URL, every id checked: a context outside the scope, or a learner not enrolled (as a
    learner) in the selected visible contexts, answers 404 as if it did not exist."""
    if context_pk is not None:
        scope.context(session, context_pk)
    chosen = Selection(context_pk)
    ids = frozenset(learner_ids)
    if ids:
        found = set(
            session.scalars(
                select(Enrolment.learner_id).where(
                    Enrolment.learner_id.in_(sorted(ids)),
                    Enrolment.is_staff.is_(False),
                    chosen.contexts(scope, Enrolment.context_pk),
                )
            )
        )
        if found != ids:
            raise not_found("Cette personne dans ce cours", "This person in this course")
        chosen = Selection(context_pk, ids)
    return chosen


def live_session(
    session: DbSession, scope: StaffScope, session_id: int, chosen: Selection = EVERYTHING
) -> LiveSession:
    """A live session named in a URL, if it belongs to a visible (and the selected) context; 404 otherwise."""
    live = session.scalar(
        select(LiveSession).where(
            LiveSession.id == session_id, chosen.contexts(scope, LiveSession.context_pk)
        )
    )
    if live is None:
        raise not_found("Cette séance", "This session")
    return live


# -- the people ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Member:
    """A learner's enrolment in a visible course, with what every export prints about them."""

    learner: Learner
    context_pk: int
    course: str
    course_id: str
    is_active: bool
    ref: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "ref", evidence.learner_ref(self.learner))

    @property
    def key(self) -> tuple[int, int]:
        return self.learner.id, self.context_pk

    @property
    def full_name(self) -> str:
        return evidence.display_name(self.learner)

    def identity(self) -> list[str]:
        learner = self.learner
        return [
            self.course,
            self.course_id,
            learner.sub,
            self.ref,
            learner.family_name or "",
            learner.given_name or "",
            self.full_name,
            learner.email or "",
            "inscrit·e" if self.is_active else "a quitté le cours",
        ]


def course_name(context: Context) -> str:
    return context.title or context.label or context.lti_context_id or f"Cours {context.id}"


def members(session: DbSession, scope: StaffScope, chosen: Selection = EVERYTHING) -> list[Member]:
    """The learners (not staff) enrolled in the selected visible courses, by course then name. One query."""
    rows = session.execute(
        select(Learner, Enrolment.context_pk, Enrolment.is_active, Context)
        .join(Enrolment, Enrolment.learner_id == Learner.id)
        .join(Context, Context.id == Enrolment.context_pk)
        .where(Enrolment.is_staff.is_(False), *chosen.where(scope, Enrolment.context_pk, Learner.id))
    ).all()
    found = [
        Member(learner, context_pk, course_name(context), context.lti_context_id, bool(is_active))
        for learner, context_pk, is_active, context in rows
    ]

    def order(member: Member) -> tuple[str, int, str, str, str, int]:
        learner = member.learner
        return (
            member.course.casefold(),
            member.context_pk,
            (learner.family_name or learner.name or "").casefold(),
            (learner.given_name or "").casefold(),
            (learner.name or "").casefold(),
            learner.id,
        )

    return sorted(found, key=order)


def tracks(
    session: DbSession, scope: StaffScope, content: Content, chosen: Selection = EVERYTHING
) -> dict[tuple[int, int], str]:
    """Each learner's certificate track per course, as ``competences.services.track_of`` decides it (from
    the profile of the latest submitted autodiagnostic), for a cohort at once."""
    latest: dict[tuple[int, int], dict[str, str] | None] = {}
    for learner_id, context_pk, profile in session.execute(
        select(DiagnosticRun.learner_id, DiagnosticRun.context_pk, DiagnosticRun.profile)
        .where(
            DiagnosticRun.status == "submitted",
            *chosen.where(scope, DiagnosticRun.context_pk, DiagnosticRun.learner_id),
        )
        .order_by(DiagnosticRun.submitted_at, DiagnosticRun.id)
    ):
        latest[(learner_id, context_pk)] = profile
    return {key: track_for(content.programme, profile) for key, profile in latest.items()}


def track_of(known: dict[tuple[int, int], str], member: Member) -> str:
    return known.get(member.key, DEFAULT_TRACK)


@dataclass(frozen=True)
class Followed:
    """A learner's activity in a course: first start, and the minutes of the modules completed."""

    first_at: datetime | None
    minutes: int

    @property
    def hours(self) -> float:
        return self.minutes / 60


def followed(
    session: DbSession, scope: StaffScope, content: Content, chosen: Selection = EVERYTHING
) -> dict[tuple[int, int], Followed]:
    """Hours followed for a whole cohort in one query, by the rule of ``certificates.evidence.activity`` (the
    duration of each module completed); the tests hold the two equal for every learner."""
    first: dict[tuple[int, int], datetime] = {}
    minutes: dict[tuple[int, int], int] = {}
    for learner_id, context_pk, module_id, started_at, completed_at in session.execute(
        select(
            ModuleProgress.learner_id,
            ModuleProgress.context_pk,
            ModuleProgress.module_id,
            ModuleProgress.started_at,
            ModuleProgress.completed_at,
        ).where(*chosen.where(scope, ModuleProgress.context_pk, ModuleProgress.learner_id))
    ):
        key = (learner_id, context_pk)
        if key not in first or started_at < first[key]:
            first[key] = started_at
        module = content.module(module_id)
        minutes[key] = minutes.get(key, 0) + (
            module.meta.duration_minutes if completed_at is not None and module is not None else 0
        )
    return {key: Followed(first[key], minutes[key]) for key in first}


# -- the exports page ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Course:
    pk: int
    name: str
    learners: int
    sessions: list[LiveSession]


def courses(session: DbSession, scope: StaffScope) -> list[Course]:
    """The visible courses, with their number of learners and their live sessions. Three queries."""
    contexts = list(session.scalars(select(Context).where(EVERYTHING.contexts(scope, Context.id))))
    counts = dict(
        session.execute(
            select(Enrolment.context_pk, func.count(Enrolment.id))
            .where(Enrolment.is_staff.is_(False), EVERYTHING.contexts(scope, Enrolment.context_pk))
            .group_by(Enrolment.context_pk)
        ).all()
    )
    sessions: dict[int, list[LiveSession]] = {}
    for live in session.scalars(
        select(LiveSession)
        .where(EVERYTHING.contexts(scope, LiveSession.context_pk))
        .order_by(LiveSession.starts_at, LiveSession.id)
    ):
        sessions.setdefault(live.context_pk, []).append(live)
    found = [
        Course(context.id, course_name(context), int(counts.get(context.id, 0)), sessions.get(context.id, []))
        for context in contexts
    ]
    # The launch's own course first, then by name.
    return sorted(found, key=lambda c: (c.pk != scope.launch_context_pk, c.name.casefold(), c.pk))
