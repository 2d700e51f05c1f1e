"""A facilitator acting for the learners of their course (attendance, a review, a recognition).

No Flask here: a ``Scope`` (who, which context) and content in, rows and events out. Callers commit once.
"""

from __future__ import annotations

from sqlalchemy import select

from lti_tool.db import DbSession
from lti_tool.learners.models import Enrolment, Learner
from lti_tool.lti.models import Launch
from lti_tool.scope import Scope


def context_learners(session: DbSession, context_pk: int) -> list[Learner]:
    return list(
        session.scalars(
            select(Learner)
            .join(Enrolment, Enrolment.learner_id == Learner.id)
            .where(Enrolment.context_pk == context_pk, Enrolment.is_staff.is_(False))
            .order_by(Learner.family_name, Learner.name, Learner.id)
        )
    )


def latest_resource_link(session: DbSession, learner_id: int, context_pk: int) -> str | None:
    return session.scalar(
        select(Launch.resource_link_id)
        .where(Launch.learner_id == learner_id, Launch.context_pk == context_pk)
        .order_by(Launch.created_at.desc())
        .limit(1)
    )


def acting_for(session: DbSession, facilitator: Scope, learner: Learner) -> Scope:
    """The facilitator's scope turned to a learner of the same course, for what is recorded in the learner's
    name (attendance, a review, a recognition): their own latest resource link keeps their registration."""
    return facilitator.for_learner(
        learner.id,
        learner.issuer,
        learner.sub,
        latest_resource_link(session, learner.id, facilitator.context_pk),
    )
