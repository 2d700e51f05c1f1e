"""The demo platform's database side: finding registered tools, people and activities; one-time values.

Functions take a SQLAlchemy session and never commit unless they say so; the blueprint commits.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from flask import Flask, has_app_context
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from demo_platform.models import (
    DemoBase,
    DemoMember,
    DemoResourceLink,
    DemoToolRegistration,
    DemoUsedNonce,
)
from demo_platform.platform import LIS, USERS, DemoTool, DemoUser, LinkInfo
from lti_tool.db import DbSession, db, utcnow
from lti_tool.inputs import row_id

log = logging.getLogger(__name__)
T = TypeVar("T")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def tool_of(row: DemoToolRegistration) -> DemoTool:
    """A registered tool as the platform's logic sees it."""
    return DemoTool(
        client_id=row.client_id,
        deployment_id=row.deployment_id,
        login_url=row.initiate_login_uri,
        redirect_uris=tuple(row.redirect_uris or ()),
        target_link_uri=row.target_link_uri,
        jwks_uri=row.jwks_uri,
        scopes=tuple(row.scopes or ()),
        name=row.name,
        status=row.status,
        deep_link_uri=row.deep_link_uri,
        claims=tuple(row.claims or ()),
        custom=dict(row.custom_parameters or {}),
        registration_id=row.id,
    )


def link_of(row: DemoResourceLink) -> LinkInfo:
    return LinkInfo(
        id=str(row.id),
        client_id=row.client_id,
        title=row.title,
        text=row.text,
        url=row.url,
        custom=dict(row.custom or {}),
        line_item_id=row.line_item_id,
    )


def user_of(member: DemoMember) -> DemoUser:
    """A roster member who can launch (``/demo/start?as=<sub>``)."""
    return DemoUser(
        key=member.sub,
        sub=member.sub,
        label_fr=member.name or member.sub,
        label_en=member.name or member.sub,
        roles=tuple(member.roles or ()),
        name=member.name or "",
        given_name=member.given_name or "",
        family_name=member.family_name or "",
        email=member.email or "",
    )


def create_tables(app: Flask) -> None:
    """Create the demo platform's tables where they are missing (they are outside the tool's migrations)."""
    with app.app_context():
        DemoBase.metadata.create_all(db.engine)


def tolerant(read: Callable[[], T], default: T) -> T:
    """Run a read of the demo tables; answer ``default`` if they are missing (dropped since start)."""
    try:
        return read()
    except SQLAlchemyError as error:
        db.session.rollback()
        log.warning(
            "demo platform tables unavailable (restart the app to create them): %s", type(error).__name__
        )
        return default


class DbDirectory:
    """The platform's Directory over the ``demo_lms_*`` tables (Flask-SQLAlchemy's session)."""

    def __init__(self, app_context: Callable[[], AbstractContextManager[object]]) -> None:
        self._app_context = app_context  # used when called outside a request (tests, CLI)

    def _read(self, read: Callable[[], T], default: T) -> T:
        if has_app_context():
            return tolerant(read, default)
        with self._app_context():
            try:
                return tolerant(read, default)
            finally:
                db.session.remove()

    def tool(self, client_id: str) -> DemoTool | None:
        def read() -> DemoTool | None:
            row = db.session.scalar(
                select(DemoToolRegistration).where(DemoToolRegistration.client_id == client_id)
            )
            return tool_of(row) if row is not None else None

        return self._read(read, None)

    def user(self, login_hint: str) -> DemoUser | None:
        def read() -> DemoUser | None:
            member = db.session.scalar(select(DemoMember).where(DemoMember.sub == login_hint))
            return user_of(member) if member is not None else None

        return self._read(read, None)

    def resource_link(self, link_id: str) -> LinkInfo | None:
        pk = row_id(link_id)
        if pk is None:
            return None

        def read() -> LinkInfo | None:
            row = db.session.get(DemoResourceLink, pk)
            return link_of(row) if row is not None else None

        return self._read(read, None)


def use_once(session: DbSession, kind: str, value: str, expires_at: datetime) -> bool:
    """Record a one-time value; False if it was already used. Commits (the record must hold at once)."""
    now = utcnow()
    if session.scalar(
        select(DemoUsedNonce.id).where(
            DemoUsedNonce.kind == kind, DemoUsedNonce.value == value, DemoUsedNonce.expires_at > now
        )
    ):
        return False
    # Expired values may be forgotten: an expired assertion or request is refused on its own.
    session.execute(delete(DemoUsedNonce).where(DemoUsedNonce.expires_at <= now))
    session.add(DemoUsedNonce(kind=kind, value=value[:255], expires_at=expires_at))
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        return False
    return True


def in_seconds(seconds: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


# -- roster ----------------------------------------------------------------------------------------
GENERATED_PREFIX = "demo-learner-"


def static_member(user: DemoUser, course_id: str) -> DemoMember:
    return DemoMember(
        course_id=course_id,
        sub=user.sub,
        name=user.name,
        given_name=user.given_name,
        family_name=user.family_name,
        email=user.email,
        roles=list(user.roles),
        status="Active",
        generated=False,
    )


def ensure_static_members(session: DbSession, course_id: str) -> None:
    """Put the three demo people on the roster if they are not there yet."""
    present = set(session.scalars(select(DemoMember.sub).where(DemoMember.course_id == course_id)))
    missing = [user for user in USERS.values() if user.sub not in present]
    if not missing:
        return
    for user in missing:
        session.add(static_member(user, course_id))
    try:
        session.commit()
    except IntegrityError:  # another request added them meanwhile
        session.rollback()


def generated_learner(number: int, course_id: str) -> DemoMember:
    code = f"{number:04d}"
    return DemoMember(
        course_id=course_id,
        sub=GENERATED_PREFIX + code,
        name=f"Apprenant·e {code}",
        given_name="Apprenant·e",
        family_name=code,
        email=f"apprenant{code}@demo.invalid",
        roles=[LIS + "membership#Learner", LIS + "institution/person#Student"],
        status="Active",
        generated=True,
    )
