"""After a valid launch: record who and where, store the launch, and find it again on later requests."""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm.attributes import set_committed_value

from lti_tool.db import DbSession, insert_row, utcnow
from lti_tool.errors import AccessDenied, Message
from lti_tool.learners import services as learners
from lti_tool.learners.models import Context, Deployment, Platform
from lti_tool.lti import claims as c
from lti_tool.lti import roles as lti_roles
from lti_tool.lti.context import LaunchContext
from lti_tool.lti.launch import ValidatedLaunch
from lti_tool.lti.models import Launch


class LaunchGone(AccessDenied):
    """No launch, or one expired, purged or of an inactive registration."""

    status = 401
    code = "launch_expired"
    what = Message(
        "Cette session Socle a expiré ou n'existe pas.",
        "This Socle session has expired or does not exist.",
    )
    todo = Message(
        "Revenez à votre cours et relancez l'activité depuis la plateforme.",
        "Go back to your course and launch the activity again from the platform.",
    )


class OtherBrowser(AccessDenied):
    """A launch id carried by another browser than the one that launched."""

    status = 403
    code = "foreign_launch"
    what = Message(
        "Cette page appartient au lancement d'une autre personne ou d'un autre navigateur.",
        "This page belongs to another person's or another browser's launch.",
    )
    todo = Message(
        "Relancez l'activité depuis votre propre cours.",
        "Launch the activity again from your own course.",
    )


def record_launch(
    session: DbSession, validated: ValidatedLaunch, *, browser_id: str | None, ttl_seconds: int
) -> LaunchContext:
    """Upsert learner, context and enrolment, store the launch, and return its ``LaunchContext``.

    With a ``browser_id`` the launch is bound to that browser's cookie; without one (a launch proven
    through the platform's storage) its id is a bearer token, to give a short ``ttl_seconds``."""
    body = validated.claims
    roles = [str(role) for role in body.get(c.ROLES, [])]
    is_staff = lti_roles.is_staff(roles)
    is_admin = lti_roles.is_admin(roles)
    presentation = body.get(c.LAUNCH_PRESENTATION) or {}
    locale = _text(presentation.get("locale"), 35)
    person = learners.Person(
        sub=str(body["sub"]),
        name=_text(body.get("name"), 255),
        given_name=_text(body.get("given_name"), 255),
        family_name=_text(body.get("family_name"), 255),
        email=_text(body.get("email"), 320),
        locale=locale,
    )
    context_claim = body.get(c.CONTEXT) or {}
    nrps_claim = body.get(c.NRPS)
    nrps: dict[str, Any] = nrps_claim if isinstance(nrps_claim, dict) else {}
    course = learners.CourseRef(
        lti_context_id=_text(context_claim.get("id"), 255) or "",
        label=_text(context_claim.get("label"), 255),
        title=_text(context_claim.get("title"), 255),
        memberships_url=_text(nrps.get("context_memberships_url"), 2048),
    )
    membership = learners.record_membership(
        session, validated.platform, validated.deployment, person, course, roles, is_staff
    )
    link = body.get(c.RESOURCE_LINK) or {}
    custom = {str(k): str(v) for k, v in (body.get(c.CUSTOM) or {}).items()}
    now = utcnow()
    row = {
        "id": secrets.token_urlsafe(32),
        "platform_id": validated.platform.id,
        "deployment_pk": validated.deployment.id,
        "learner_id": membership.learner_id,
        "context_pk": membership.context_pk,
        "message_type": body[c.MESSAGE_TYPE],
        "roles": roles,
        "is_staff": is_staff,
        "is_admin": is_admin,
        "resource_link_id": _text(link.get("id"), 255) if isinstance(link, dict) else None,
        "target_link_uri": body[c.TARGET_LINK_URI],
        "locale": locale,
        "claims": body,
        "browser_id": browser_id,
        "created_at": now,
        "expires_at": now + timedelta(seconds=ttl_seconds),
    }
    launch = insert_row(session, Launch, row)
    return _context(
        launch,
        validated.platform,
        validated.deployment,
        course.lti_context_id,
        membership.context_title,
        custom,
    )


def load_launch(
    session: DbSession, launch_id: str, *, browser_id: str | None, idle_seconds: int, max_age_seconds: int
) -> LaunchContext:
    """The launch a follow-up request names, if it is still valid and this browser may use it.

    A launch bound to a browser (made with our cookie) needs that very cookie: its id alone, copied or
    replayed, opens nothing. A launch made without cookies (through the platform's storage) is a bearer
    token whose idle limit slides forward on use, never past ``max_age_seconds`` after the launch."""
    row = None
    if launch_id and len(launch_id) <= 64:
        row = session.execute(_LAUNCH, {"launch_id": launch_id}).one_or_none()
    if row is None:
        raise LaunchGone()
    launch, platform, deployment, context = row
    now = utcnow()
    if launch.expires_at <= now or not platform.is_active:
        raise LaunchGone()
    if launch.browser_id is not None:
        if not browser_id or not hmac.compare_digest(browser_id.encode(), launch.browser_id.encode()):
            raise OtherBrowser()
    elif launch.expires_at - now < timedelta(seconds=idle_seconds - IDLE_SLIDE_STEP_SECONDS):
        # Pushed forward at most once a minute, not on every request: one UPDATE, committed with the request.
        expires_at = min(
            now + timedelta(seconds=idle_seconds), launch.created_at + timedelta(seconds=max_age_seconds)
        )
        session.execute(
            _SLIDE,
            {"launch_id": launch.id, "expires_at": expires_at},
            execution_options={"synchronize_session": False},
        )
        set_committed_value(launch, "expires_at", expires_at)  # written above; nothing left to flush
    custom = {str(k): str(v) for k, v in (launch.claims.get(c.CUSTOM) or {}).items()}
    return _context(launch, platform, deployment, context.lti_context_id, context.title, custom)


# A cookie-less launch's idle limit moves forward only when at least this much of it was used.
IDLE_SLIDE_STEP_SECONDS = 60
_SLIDE = (
    update(Launch)
    .where(Launch.id == bindparam("launch_id"), Launch.browser_id.is_(None))
    .values(expires_at=bindparam("expires_at"))
)
# A launch with its platform, deployment and course (every follow-up request reads it).
_LAUNCH = (
    select(Launch, Platform, Deployment, Context)
    .join(Platform, Platform.id == Launch.platform_id)
    .join(Deployment, Deployment.id == Launch.deployment_pk)
    .join(Context, Context.id == Launch.context_pk)
    .where(Launch.id == bindparam("launch_id"))
)


def _context(
    launch: Launch,
    platform: Platform,
    deployment: Deployment,
    lti_context_id: str,
    context_title: str | None,
    custom: dict[str, str],
) -> LaunchContext:
    return LaunchContext(
        launch_id=launch.id,
        platform_id=platform.id,
        issuer=platform.issuer,
        client_id=platform.client_id,
        deployment_pk=deployment.id,
        deployment_id=deployment.deployment_id,
        learner_id=launch.learner_id,
        sub=str(launch.claims.get("sub", "")),
        context_pk=launch.context_pk,
        lti_context_id=lti_context_id,
        context_title=context_title,
        resource_link_id=launch.resource_link_id,
        message_type=launch.message_type,
        roles=tuple(launch.roles),
        is_staff=launch.is_staff,
        is_admin=launch.is_admin,
        locale=launch.locale,
        target_link_uri=launch.target_link_uri,
        expires_at=launch.expires_at,
        person_name=_text(launch.claims.get("given_name"), 255) or _text(launch.claims.get("name"), 255),
        custom=MappingProxyType(custom),
        return_url=_return_url(launch.claims.get(c.LAUNCH_PRESENTATION)),
    )


def _return_url(presentation: Any) -> str | None:
    """Where a launch opened in a new window sends the person back to the course: the platform's
    ``return_url``, if it is a plain http(s) URL; None in a frame (the platform's page is around it)."""
    if not isinstance(presentation, dict) or presentation.get("document_target") != "window":
        return None
    url = _text(presentation.get("return_url"), 2048)
    if url is None:
        return None
    parts = urlsplit(url)
    return url if parts.scheme in ("http", "https") and parts.netloc and not parts.username else None


def _text(value: Any, limit: int) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip()[:limit]
