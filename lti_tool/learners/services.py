"""Registrations and the people and courses that launches reveal. No Flask here: explicit arguments in,
rows out; callers commit."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from lti_tool.db import DbSession, utcnow
from lti_tool.learners.models import Context, Deployment, Enrolment, Learner, Platform

T = TypeVar("T")


@dataclass(frozen=True)
class PlatformSpec:
    """What registering a platform needs (public data only)."""

    issuer: str
    client_id: str
    auth_login_url: str
    auth_token_url: str
    key_set_url: str
    deployment_ids: Sequence[str]
    name: str | None = None
    source: str = "cli"


def register_platform(session: DbSession, spec: PlatformSpec) -> Platform:
    """Create or update the registration (issuer, client_id) and add any new deployment ids."""
    platform = session.scalar(
        select(Platform).where(Platform.issuer == spec.issuer, Platform.client_id == spec.client_id)
    )
    if platform is None:
        platform = Platform(issuer=spec.issuer, client_id=spec.client_id, source=spec.source)
        session.add(platform)
    if (platform.key_set_url or spec.key_set_url) != spec.key_set_url:
        # Another key set: the cached keys are no longer the platform's.
        platform.jwks_json = None
        platform.jwks_fetched_at = None
    platform.auth_login_url = spec.auth_login_url
    platform.auth_token_url = spec.auth_token_url
    platform.key_set_url = spec.key_set_url
    platform.name = spec.name or platform.name
    platform.is_active = True
    known = {d.deployment_id for d in platform.deployments}
    for deployment_id in spec.deployment_ids:
        if deployment_id not in known:
            platform.deployments.append(Deployment(deployment_id=deployment_id))
            known.add(deployment_id)
    session.flush()
    return platform


def list_platforms(session: DbSession) -> list[Platform]:
    return list(session.scalars(select(Platform).order_by(Platform.issuer, Platform.client_id)))


def find_platform(session: DbSession, issuer: str, client_id: str) -> Platform | None:
    return session.scalar(
        select(Platform).where(
            Platform.issuer == issuer, Platform.client_id == client_id, Platform.is_active.is_(True)
        )
    )


def platforms_of_issuer(session: DbSession, issuer: str) -> list[Platform]:
    return list(
        session.scalars(select(Platform).where(Platform.issuer == issuer, Platform.is_active.is_(True)))
    )


def find_deployment(session: DbSession, platform_id: int, deployment_id: str) -> Deployment | None:
    return session.scalar(
        select(Deployment).where(
            Deployment.platform_id == platform_id, Deployment.deployment_id == deployment_id
        )
    )


@dataclass(frozen=True)
class Person:
    sub: str
    name: str | None
    given_name: str | None
    family_name: str | None
    email: str | None
    locale: str | None


@dataclass(frozen=True)
class CourseRef:
    lti_context_id: str
    label: str | None
    title: str | None


@dataclass(frozen=True)
class Membership:
    learner: Learner
    context: Context
    enrolment: Enrolment


def record_membership(
    session: DbSession,
    platform: Platform,
    deployment: Deployment,
    person: Person,
    course: CourseRef,
    roles: Sequence[str],
    is_staff: bool,
) -> Membership:
    """Upsert the learner (issuer + sub), the context and the enrolment a valid launch reveals."""
    now = utcnow()
    learner = _get_or_create(
        session,
        lambda: session.scalar(
            select(Learner).where(Learner.issuer == platform.issuer, Learner.sub == person.sub)
        ),
        lambda: Learner(issuer=platform.issuer, sub=person.sub, platform_id=platform.id),
    )
    # What the platform sends this time is the truth; what it leaves out stays as it was.
    for field in ("name", "given_name", "family_name", "email", "locale"):
        value = getattr(person, field)
        if value:
            setattr(learner, field, value)
    learner.last_launch_at = now
    context = _get_or_create(
        session,
        lambda: session.scalar(
            select(Context).where(
                Context.deployment_pk == deployment.id, Context.lti_context_id == course.lti_context_id
            )
        ),
        lambda: Context(
            platform_id=platform.id, deployment_pk=deployment.id, lti_context_id=course.lti_context_id
        ),
    )
    context.label = course.label or context.label
    context.title = course.title or context.title
    enrolment = _get_or_create(
        session,
        lambda: session.scalar(
            select(Enrolment).where(Enrolment.learner_id == learner.id, Enrolment.context_pk == context.id)
        ),
        lambda: Enrolment(learner_id=learner.id, context_pk=context.id, platform_id=platform.id),
    )
    enrolment.roles = list(roles)
    enrolment.is_staff = is_staff
    enrolment.last_launch_at = now
    session.flush()
    return Membership(learner=learner, context=context, enrolment=enrolment)


def _get_or_create(session: DbSession, find: Callable[[], T | None], make: Callable[[], T]) -> T:
    """Find a row, or insert it; two first launches at once meet on the unique key, not on a 500."""
    found = find()
    if found is not None:
        return found
    try:
        with session.begin_nested():
            row = make()
            session.add(row)
            session.flush()
        return row
    except IntegrityError:
        found = find()
        if found is None:
            raise
        return found


def get_learner(session: DbSession, learner_id: int) -> Learner:
    learner = session.get(Learner, learner_id)
    assert learner is not None, "a launch always points at its learner"
    return learner


@dataclass(frozen=True)
class RosterEntry:
    learner_id: int
    display_name: str | None
    is_staff: bool
    last_launch_at: datetime


def context_roster(session: DbSession, context_pk: int) -> list[RosterEntry]:
    """Everyone who launched from this context, most recent first."""
    rows = session.execute(
        select(
            Learner.id,
            Learner.name,
            Learner.given_name,
            Learner.family_name,
            Enrolment.is_staff,
            Enrolment.last_launch_at,
        )
        .join(Enrolment, Enrolment.learner_id == Learner.id)
        .where(Enrolment.context_pk == context_pk)
        .order_by(Enrolment.last_launch_at.desc())
    )
    return [
        RosterEntry(
            learner_id=row.id,
            display_name=row.name or " ".join(p for p in (row.given_name, row.family_name) if p) or None,
            is_staff=row.is_staff,
            last_launch_at=row.last_launch_at,
        )
        for row in rows
    ]
