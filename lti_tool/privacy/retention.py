"""The retention rules ``privacy purge`` applies: expired logins and launches, launches past their
retention, people inactive past theirs.

No Flask here: callers pass the session and the loaded content, and commit once. Logs carry ids only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, exists, func, or_, select

from lti_tool.certificates.models import Credential
from lti_tool.content.loader import Content
from lti_tool.db import DbSession, utcnow
from lti_tool.events import LearningEvent
from lti_tool.learners.models import Enrolment, Learner
from lti_tool.lti.models import Launch, LoginState
from lti_tool.privacy.erasure import erase_learner
from lti_tool.privacy.persons import STAND_IN_PREFIX

RETENTION_REASON = "effacement au terme de la durée de conservation"


@dataclass
class Purge:
    launches: int = 0
    logins: int = 0
    learners: list[int] = field(default_factory=list)
    # Inactive, but holding a valid credential: kept so that it stays verifiable with its evidence.
    kept_for_credentials: list[int] = field(default_factory=list)


def _launches_due(now: datetime, launch_days: int | None) -> ColumnElement[bool]:
    due = Launch.expires_at < now
    if launch_days is not None:
        due = or_(due, Launch.created_at < now - timedelta(days=launch_days))
    return due


def inactive_learners(session: DbSession, days: int, now: datetime) -> tuple[list[int], list[int]]:
    """People with no launch, roster appearance or recorded activity for ``days``: those to erase, and
    those kept because they hold a valid credential."""
    cutoff = now - timedelta(days=days)
    recent_enrolment = exists().where(
        Enrolment.learner_id == Learner.id,
        or_(Enrolment.last_launch_at >= cutoff, Enrolment.roster_seen_at >= cutoff),
    )
    recent_event = exists().where(
        or_(LearningEvent.learner_id == Learner.id, LearningEvent.actor_id == Learner.id),
        LearningEvent.occurred_at >= cutoff,
    )
    valid_credential = exists().where(Credential.learner_id == Learner.id, Credential.revoked_at.is_(None))
    inactive = (
        select(Learner.id, valid_credential)
        .where(
            Learner.created_at < cutoff,
            or_(Learner.last_launch_at.is_(None), Learner.last_launch_at < cutoff),
            ~Learner.sub.startswith(STAND_IN_PREFIX, autoescape=True),
            ~recent_enrolment,
            ~recent_event,
        )
        .order_by(Learner.id)
    )
    erase: list[int] = []
    keep: list[int] = []
    for learner_id, holds_credential in session.execute(inactive):
        (keep if holds_credential else erase).append(learner_id)
    return erase, keep


def purge(
    session: DbSession,
    *,
    launch_days: int | None,
    learner_days: int | None,
    content: Content,
    dry_run: bool = False,
) -> Purge:
    """Apply the retention rules: expired logins and launches, launches older than ``launch_days``, and
    people inactive for ``learner_days`` (None: kept). With ``dry_run``, only count."""
    now = utcnow()
    result = Purge()
    login_due = LoginState.expires_at < now
    launch_due = _launches_due(now, launch_days)
    if dry_run:
        result.logins = int(
            session.scalar(select(func.count()).select_from(LoginState).where(login_due)) or 0
        )
        result.launches = int(session.scalar(select(func.count()).select_from(Launch).where(launch_due)) or 0)
    else:
        result.logins = session.execute(delete(LoginState).where(login_due)).rowcount  # type: ignore[attr-defined]
        result.launches = session.execute(delete(Launch).where(launch_due)).rowcount  # type: ignore[attr-defined]
    if learner_days is not None:
        result.learners, result.kept_for_credentials = inactive_learners(session, learner_days, now)
        if not dry_run:
            for learner_id in result.learners:
                erase_learner(
                    session, learner_id, "conservation (Socle)", content=content, reason=RETENTION_REASON
                )
    return result
