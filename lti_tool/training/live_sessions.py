"""Live sessions (webinars, workshops, co-development): planned by facilitators, attendance recorded.

No Flask here: a ``Scope`` (who, which context) and content in, rows and events out. Callers commit once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select

from lti_tool import events
from lti_tool.db import DbSession, utcnow
from lti_tool.errors import not_found, refused
from lti_tool.scope import Scope
from lti_tool.training.completion import complete_if_done
from lti_tool.training.facilitation import acting_for, context_learners
from lti_tool.training.models import Attendance, LiveSession
from lti_tool.training.progress import progress_row

LIVE_KINDS = ("webinaire", "atelier", "co-developpement")


@dataclass(frozen=True)
class SessionPlan:
    """What a facilitator says about a live session: when, how long, where to join, what it is about."""

    kind: str
    title: str
    starts_at: datetime
    duration_minutes: int
    module_id: str | None
    place: str = ""
    join_url: str = ""
    description: str = ""


MAX_DESCRIPTION = 4000


def _checked(plan: SessionPlan) -> SessionPlan:
    if plan.kind not in LIVE_KINDS:
        raise refused("bad_kind", "Type de séance inconnu.", "Unknown kind of session.")
    if not plan.title.strip() or len(plan.title) > 255:
        raise refused(
            "bad_title", "Donnez un titre (255 caractères au plus).", "Give a title (255 characters at most)."
        )
    if not 5 <= plan.duration_minutes <= 8 * 60:
        raise refused(
            "bad_duration", "La durée va de 5 minutes à 8 heures.", "Duration is 5 minutes to 8 hours."
        )
    if len(plan.place) > 255:
        raise refused("bad_place", "Le lieu tient en 255 caractères.", "The place fits in 255 characters.")
    url = plan.join_url.strip()
    # Only a web link: a javascript: or data: URL would run in the learner's page when followed.
    if url and (
        len(url) > 1024
        or not (url.lower().startswith("https://") or url.lower().startswith("http://"))
        or any(c.isspace() for c in url)
        or len(url.split("://", 1)[1]) == 0
    ):
        raise refused(
            "bad_join_url",
            "Le lien de connexion doit être une adresse web complète (https://…).",
            "The joining link must be a full web address (https://…).",
        )
    if len(plan.description) > MAX_DESCRIPTION:
        raise refused(
            "bad_description",
            f"La description tient en {MAX_DESCRIPTION} caractères.",
            f"The description fits in {MAX_DESCRIPTION} characters.",
        )
    return plan


def create_session(session: DbSession, scope: Scope, plan: SessionPlan) -> LiveSession:
    """Plan a live session in the facilitator's course."""
    _checked(plan)
    live = LiveSession(
        platform_id=scope.platform_id,
        context_pk=scope.context_pk,
        created_by=scope.learner_id,
        revision=0,
    )
    _apply(live, plan)
    session.add(live)
    session.flush()
    return live


def update_session(session: DbSession, live: LiveSession, plan: SessionPlan) -> LiveSession:
    """Change a planned session; calendars that imported it take the new version (its revision grows)."""
    if live.cancelled_at is not None:
        raise refused(
            "session_cancelled",
            "Cette séance est annulée : elle ne se modifie plus.",
            "This session is cancelled: it can no longer be changed.",
            status=409,
        )
    _checked(plan)
    _apply(live, plan)
    live.revision = (live.revision or 0) + 1
    session.flush()
    return live


def cancel_session(session: DbSession, live: LiveSession, now: datetime | None = None) -> LiveSession:
    """Cancel a session: learners see it cancelled, its .ics says so; attendance no longer records."""
    if live.cancelled_at is None:
        live.cancelled_at = now or utcnow()
        live.revision = (live.revision or 0) + 1
        session.flush()
    return live


def _apply(live: LiveSession, plan: SessionPlan) -> None:
    live.kind = plan.kind
    live.title = plan.title.strip()
    live.starts_at = plan.starts_at
    live.duration_minutes = plan.duration_minutes
    live.module_id = plan.module_id
    live.place = plan.place.strip() or None
    live.join_url = plan.join_url.strip() or None
    live.description = plan.description.strip() or None


def has_started(live: LiveSession, now: datetime | None = None) -> bool:
    return (now or utcnow()) >= live.starts_at


def sessions_of_module(session: DbSession, context_pk: int, module_id: str) -> list[LiveSession]:
    """A module's sessions in this course, as learners see them on the module page (cancelled ones
    included, marked: a learner who planned to come must learn it is off)."""
    return list(
        session.scalars(
            select(LiveSession)
            .where(LiveSession.context_pk == context_pk, LiveSession.module_id == module_id)
            .order_by(LiveSession.starts_at, LiveSession.id)
        )
    )


def sessions_of_context(session: DbSession, context_pk: int) -> list[LiveSession]:
    return list(session.scalars(_SESSIONS_OF_CONTEXT, {"context_pk": context_pk}))


_SESSIONS_OF_CONTEXT = (
    select(LiveSession)
    .where(LiveSession.context_pk == bindparam("context_pk"))
    .order_by(LiveSession.starts_at)
)


def session_of_context(session: DbSession, context_pk: int, session_id: int) -> LiveSession:
    live = session.get(LiveSession, session_id)
    if live is None or live.context_pk != context_pk:
        raise not_found("Cette séance", "This session")
    return live


def attendance_of_learner(session: DbSession, learner_id: int, session_ids: list[int]) -> dict[int, bool]:
    """One learner's attendance at these sessions (one query, whatever the size of the course)."""
    if not session_ids:
        return {}
    rows = session.execute(
        select(Attendance.session_id, Attendance.is_present).where(
            Attendance.learner_id == learner_id, Attendance.session_id.in_(session_ids)
        )
    )
    return {session_id: present for session_id, present in rows}


def attendance_of(session: DbSession, session_id: int) -> dict[int, bool]:
    rows = session.execute(
        select(Attendance.learner_id, Attendance.is_present).where(Attendance.session_id == session_id)
    )
    return {learner_id: present for learner_id, present in rows}


class SessionNotStarted(Exception):
    """Attendance for a session that has not begun yet, not confirmed: the page warns and asks again."""


def record_attendance(
    session: DbSession,
    facilitator: Scope,
    live: LiveSession,
    present: set[int],
    content: Any,
    *,
    confirmed_early: bool = False,
    now: datetime | None = None,
) -> int:
    """Record who attended among the context's learners; return how many changed. Ids outside the
    context are refused; a session not yet started needs the facilitator's confirmation; a cancelled
    one records nothing."""
    people = {learner.id: learner for learner in context_learners(session, live.context_pk)}
    known = set(people)
    if not present <= known:
        raise refused(
            "unknown_learner",
            "Certaines personnes cochées ne sont pas inscrites à ce cours.",
            "Some people ticked are not enrolled in this course.",
        )
    if live.cancelled_at is not None:
        raise refused(
            "session_cancelled",
            "Cette séance est annulée : aucune présence ne s'y enregistre.",
            "This session is cancelled: no attendance is recorded for it.",
            status=409,
        )
    if not confirmed_early and not has_started(live, now):
        raise SessionNotStarted()
    current = attendance_of(session, live.id)
    changed = 0
    for learner_id in sorted(known):
        is_present = learner_id in present
        if current.get(learner_id) == is_present or (learner_id not in current and not is_present):
            continue
        row = session.scalar(
            select(Attendance).where(Attendance.session_id == live.id, Attendance.learner_id == learner_id)
        )
        if row is None:
            row = Attendance(session_id=live.id, learner_id=learner_id)
            session.add(row)
        row.is_present = is_present
        row.recorded_by = facilitator.learner_id
        row.recorded_at = utcnow()
        changed += 1
        person = people[learner_id]
        learner_scope = acting_for(session, facilitator, person)
        events.record_event(
            session,
            learner_scope,
            events.ATTENDANCE_RECORDED,
            content_version=content.version,
            module=content.module(live.module_id) if live.module_id else None,
            actor=facilitator,
            session_title=live.title,
            payload={
                "session": live.id,
                "kind": live.kind,
                "present": is_present,
                "duration_minutes": live.duration_minutes,
            },
        )
        if is_present and live.module_id and (module := content.module(live.module_id)) is not None:
            session.flush()
            progress = progress_row(session, learner_scope, module, content.version)
            complete_if_done(session, learner_scope, module, progress, content.version)
    session.flush()
    return changed
