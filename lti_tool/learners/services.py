"""Registrations and the people and courses that launches reveal. No Flask here: explicit arguments in,
rows out; callers commit."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select, true
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from lti_tool.db import DbSession, UTCDateTime, utcnow
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


def platform_issuers(session: DbSession) -> dict[int, str]:
    """Every registration's id and issuer, inactive ones too (what the xAPI API tells tenants apart by)."""
    return {row[0]: row[1] for row in session.execute(select(Platform.id, Platform.issuer))}


def find_platform(session: DbSession, issuer: str, client_id: str) -> Platform | None:
    return session.scalar(
        select(Platform).where(
            Platform.issuer == issuer, Platform.client_id == client_id, Platform.is_active.is_(True)
        )
    )


def find_registration(
    session: DbSession, issuer: str, client_id: str | None, deployment_id: str | None
) -> tuple[Platform | None, Deployment | None]:
    """The active platform a login names (by issuer and client_id; by issuer alone when it has a single
    active registration) and, with it, its deployment ``deployment_id`` if registered: one query."""
    query = _REGISTRATION_BY_CLIENT if client_id else _REGISTRATION_BY_ISSUER
    params = {"issuer": issuer, "client_id": client_id, "deployment_id": deployment_id or ""}
    rows = session.execute(query, params).all()
    if len(rows) != 1:
        return None, None
    platform, deployment = rows[0]
    return platform, deployment


# Built once (a login runs this on every launch); the client_id narrows it when the login names one.
_REGISTRATION_BY_ISSUER = (
    select(Platform, Deployment)
    .outerjoin(
        Deployment,
        (Deployment.platform_id == Platform.id) & (Deployment.deployment_id == bindparam("deployment_id")),
    )
    .where(Platform.issuer == bindparam("issuer"), Platform.is_active.is_(True))
    .limit(2)
)
_REGISTRATION_BY_CLIENT = _REGISTRATION_BY_ISSUER.where(Platform.client_id == bindparam("client_id"))


def platforms_of_issuer(session: DbSession, issuer: str, *, include_inactive: bool = False) -> list[Platform]:
    query = select(Platform).where(Platform.issuer == issuer).order_by(Platform.id)
    if not include_inactive:
        query = query.where(Platform.is_active.is_(True))
    return list(session.scalars(query))


def find_deployment(session: DbSession, platform_id: int, deployment_id: str) -> Deployment | None:
    return session.scalar(_DEPLOYMENT, {"platform_id": platform_id, "deployment_id": deployment_id})


_DEPLOYMENT = select(Deployment).where(
    Deployment.platform_id == bindparam("platform_id"), Deployment.deployment_id == bindparam("deployment_id")
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

    One INSERT … ON CONFLICT DO UPDATE each, so that two first launches at once meet on the unique key. On
    PostgreSQL the three are one statement (data-modifying WITH clauses): one round trip per launch.
    """
    # What the platform sends this time is the truth; what it leaves out stays as it was.
    sent = {
        field: value
        for field in ("name", "given_name", "family_name", "email", "locale")
        if (value := getattr(person, field))
    }
    course_data = {
        field: value for field in ("label", "title", "memberships_url") if (value := getattr(course, field))
    }
    params = {
        "issuer": platform.issuer,
        "sub": person.sub,
        "platform_id": platform.id,
        "deployment_pk": deployment.id,
        "lti_context_id": course.lti_context_id,
        "roles": list(roles),
        "is_staff": is_staff,
        "now": utcnow(),
        **{f"person_{field}": value for field, value in sent.items()},
        **{f"course_{field}": value for field, value in course_data.items()},
    }
    dialect = session.get_bind().dialect.name
    connection = session.connection()
    statements = _membership_statements(dialect, tuple(sent), tuple(course_data), launched)
    if len(statements) == 1:
        row = connection.execute(statements[0], params).one()
        return Membership(row.learner_id, row.context_pk, row.context_title, row.enrolment_id)
    learner_sql, context_sql, enrolment_sql = statements
    learner_id = connection.execute(learner_sql, params).scalar_one()
    context_pk, context_title = connection.execute(context_sql, params).one()
    enrolment_id = connection.execute(
        enrolment_sql, {**params, "learner_id": learner_id, "context_pk": context_pk}
    ).scalar_one()
    return Membership(learner_id, context_pk, context_title, enrolment_id)


@functools.lru_cache(maxsize=256)
def _membership_statements(
    dialect: str, person_fields: tuple[str, ...], course_fields: tuple[str, ...], launched: bool
) -> tuple[Any, ...]:
    """The upserts of ``record_membership`` for one shape of data, built once with bound parameters: the
    learner, the context, then the enrolment (PostgreSQL: one statement that does the three)."""
    insert: Any = {"postgresql": postgresql_insert, "sqlite": sqlite_insert}[dialect]
    now = bindparam("now", type_=UTCDateTime())
    launch_time = {"last_launch_at": now} if launched else {}

    person: dict[str, Any] = {field: bindparam(f"person_{field}") for field in person_fields}
    learner = (
        insert(Learner)
        .values(
            issuer=bindparam("issuer"),
            sub=bindparam("sub"),
            platform_id=bindparam("platform_id"),
            created_at=now,
            last_launch_at=now if launched else None,
            **person,
        )
        .on_conflict_do_update(
            index_elements=["issuer", "sub"], set_={**launch_time, **person} or {"sub": bindparam("sub")}
        )
        .returning(Learner.id)
    )
    course: dict[str, Any] = {field: bindparam(f"course_{field}") for field in course_fields}
    context = (
        insert(Context)
        .values(
            platform_id=bindparam("platform_id"),
            deployment_pk=bindparam("deployment_pk"),
            lti_context_id=bindparam("lti_context_id"),
            created_at=now,
            **course,
        )
        # An empty update would make ON CONFLICT return no row; touching the key keeps RETURNING working.
        .on_conflict_do_update(
            index_elements=["deployment_pk", "lti_context_id"],
            set_=course or {"lti_context_id": bindparam("lti_context_id")},
        )
        .returning(Context.id, Context.title)
    )

    def enrolment(learner_id: Any, context_pk: Any) -> Any:
        return (
            insert(Enrolment)
            .values(
                learner_id=learner_id,
                context_pk=context_pk,
                platform_id=bindparam("platform_id"),
                roles=bindparam("roles", type_=Enrolment.roles.type),
                is_staff=bindparam("is_staff"),
                first_launch_at=now if launched else None,
                last_launch_at=now if launched else None,
                is_active=True,
            )
            .on_conflict_do_update(
                index_elements=["learner_id", "context_pk"],
                set_={
                    "roles": bindparam("roles", type_=Enrolment.roles.type),
                    "is_staff": bindparam("is_staff"),
                    "is_active": True,
                    **launch_time,
                    # Someone first known from the roster who now launches: their first launch is now.
                    **(
                        {"first_launch_at": func.coalesce(Enrolment.first_launch_at, now)} if launched else {}
                    ),
                },
            )
            .returning(Enrolment.id)
        )

    if dialect != "postgresql":
        return learner, context, enrolment(bindparam("learner_id"), bindparam("context_pk"))
    learner_cte = learner.cte("upserted_learner")
    context_cte = context.cte("upserted_context")
    enrolment_cte = enrolment(
        select(learner_cte.c.id).scalar_subquery(), select(context_cte.c.id).scalar_subquery()
    ).cte("upserted_enrolment")
    return (
        select(
            learner_cte.c.id.label("learner_id"),
            context_cte.c.id.label("context_pk"),
            context_cte.c.title.label("context_title"),
            enrolment_cte.c.id.label("enrolment_id"),
        ).select_from(learner_cte.join(context_cte, true()).join(enrolment_cte, true())),
    )


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
    # Listed at least once by the platform's roster. Someone inactive who never was (a site administrator
    # launching a course they are not enrolled in) did not leave the course: they were never in it.
    was_in_roster: bool = False


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
            Enrolment.roster_seen_at,
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
            was_in_roster=row.roster_seen_at is not None,
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
