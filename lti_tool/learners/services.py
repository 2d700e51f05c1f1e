"""Registrations and the people and courses that launches reveal. No Flask here: explicit arguments in,
rows out; callers commit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from lti_tool.db import DbSession, utcnow
from lti_tool.errors import not_found
from lti_tool.learners.models import Context, Deployment, Enrolment, Learner, Platform, display_name


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


def platforms_of_issuer(session: DbSession, issuer: str, *, include_inactive: bool = False) -> list[Platform]:
    query = select(Platform).where(Platform.issuer == issuer).order_by(Platform.id)
    if not include_inactive:
        query = query.where(Platform.is_active.is_(True))
    return list(session.scalars(query))


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
    memberships_url: str | None = None


@dataclass(frozen=True)
class Membership:
    learner_id: int
    context_pk: int
    context_title: str | None
    enrolment_id: int


def record_membership(
    session: DbSession,
    platform: Platform,
    deployment: Deployment,
    person: Person,
    course: CourseRef,
    roles: Sequence[str],
    is_staff: bool,
    *,
    launched: bool = True,
) -> Membership:
    """Upsert the learner (issuer + sub), the context and the enrolment a valid launch (or the platform's
    roster, with ``launched=False``) reveals.

    One INSERT … ON CONFLICT DO UPDATE each: two first launches at once meet on the unique key, and a
    returning learner costs three statements.
    """
    now = utcnow()
    # What the platform sends this time is the truth; what it leaves out stays as it was.
    sent = {
        field: value
        for field in ("name", "given_name", "family_name", "email", "locale")
        if (value := getattr(person, field))
    }
    launch_time = {"last_launch_at": now} if launched else {}
    (learner_id,) = _upsert(
        session,
        Learner,
        {
            "issuer": platform.issuer,
            "sub": person.sub,
            "platform_id": platform.id,
            "created_at": now,
            **({} if launched else {"last_launch_at": None}),
        },
        ("issuer", "sub"),
        {**launch_time, **sent},
    )
    course_data = {
        k: v
        for k, v in (
            ("label", course.label),
            ("title", course.title),
            ("memberships_url", course.memberships_url),
        )
        if v
    }
    context_pk, context_title = _upsert(
        session,
        Context,
        {
            "platform_id": platform.id,
            "deployment_pk": deployment.id,
            "lti_context_id": course.lti_context_id,
            "created_at": now,
        },
        ("deployment_pk", "lti_context_id"),
        course_data,
        Context.title,
    )
    (enrolment_id,) = _upsert(
        session,
        Enrolment,
        {
            "learner_id": learner_id,
            "context_pk": context_pk,
            "platform_id": platform.id,
            "first_launch_at": now if launched else None,
            "last_launch_at": None,
            "is_active": True,
        },
        ("learner_id", "context_pk"),
        {"roles": list(roles), "is_staff": is_staff, "is_active": True, **launch_time},
        # Someone first known from the roster who now launches: their first launch is now.
        on_update={"first_launch_at": func.coalesce(Enrolment.first_launch_at, now)} if launched else None,
    )
    return Membership(learner_id, context_pk, context_title, enrolment_id)


def _upsert(
    session: DbSession,
    model: Any,
    key: dict[str, Any],
    conflict: tuple[str, ...],
    changes: dict[str, Any],
    *returning: Any,
    on_update: dict[str, Any] | None = None,
) -> tuple[Any, ...]:
    """Insert ``key | changes``, or apply ``changes`` where the key ``conflict`` exists.

    Returns the row's id followed by the ``returning`` columns."""
    dialect = session.get_bind().dialect.name
    insert: Any = {"postgresql": postgresql_insert, "sqlite": sqlite_insert}[dialect]
    # An empty update would make ON CONFLICT return no row; touching the key keeps RETURNING working.
    update = {**changes, **(on_update or {})} or {conflict[0]: key[conflict[0]]}
    statement = (
        insert(model)
        .values({**key, **changes})
        .on_conflict_do_update(index_elements=list(conflict), set_=update)
        .returning(model.id, *returning)
    )
    return tuple(session.execute(statement).one())


def get_learner(session: DbSession, learner_id: int) -> Learner:
    learner = session.get(Learner, learner_id)
    assert learner is not None, "a launch always points at its learner"
    return learner


@dataclass(frozen=True)
class RosterEntry:
    learner_id: int
    display_name: str | None
    is_staff: bool
    is_active: bool
    last_launch_at: datetime | None  # None: known from the platform's roster, never launched


def context_roster(session: DbSession, context_pk: int) -> list[RosterEntry]:
    """Everyone known in this context (by launch or by the platform's roster): active first, then by most
    recent launch, those who never launched last."""
    rows = session.execute(
        select(
            Learner.id,
            Learner.name,
            Learner.given_name,
            Learner.family_name,
            Enrolment.is_staff,
            Enrolment.is_active,
            Enrolment.last_launch_at,
        )
        .join(Enrolment, Enrolment.learner_id == Learner.id)
        .where(Enrolment.context_pk == context_pk)
        .order_by(
            Enrolment.is_active.desc(),
            Enrolment.last_launch_at.is_(None),
            Enrolment.last_launch_at.desc(),
            Learner.family_name,
            Learner.id,
        )
    )
    return [
        RosterEntry(
            learner_id=row.id,
            display_name=display_name(row.name, row.given_name, row.family_name),
            is_staff=row.is_staff,
            is_active=row.is_active,
            last_launch_at=row.last_launch_at,
        )
        for row in rows
    ]


def enrolled_learner(session: DbSession, learner_id: int, context_pk: int) -> Learner:
    """A learner named in a URL, if enrolled as a learner (not staff) in this course; 404 otherwise."""
    learner = session.get(Learner, learner_id)
    enrolled = session.scalar(
        select(Enrolment.id).where(
            Enrolment.learner_id == learner_id,
            Enrolment.context_pk == context_pk,
            Enrolment.is_staff.is_(False),
        )
    )
    if learner is None or enrolled is None:
        raise not_found("Cette personne dans ce cours", "This person in this course")
    return learner
