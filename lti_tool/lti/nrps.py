"""Names and Role Provisioning Services: the course roster from the platform, including people who never
launched; members who left are marked inactive, never deleted (their records stay theirs)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update

from lti_tool.db import DbSession, utcnow
from lti_tool.learners import services as learners
from lti_tool.learners.models import Context, Deployment, Enrolment, Platform
from lti_tool.lti import roles as lti_roles
from lti_tool.lti.platform_services import NRPS_MEMBERSHIPS, PlatformServices, ServiceError, next_page

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
MAX_PAGES = 200
MAX_PAGE_BYTES = 5 * 1024 * 1024
MAX_MEMBERS_PER_PAGE = 10_000


@dataclass(frozen=True)
class RosterSync:
    members: int
    active: int
    left: int
    pages: int


class RosterRefused(ServiceError):
    """The platform's answer cannot be used (too large, not a roster): nothing is stored."""


def sync_roster(
    session: DbSession, services: PlatformServices, context: Context, deployment: Deployment
) -> RosterSync:
    """Read every page of the roster, then record it in the caller's transaction (all or nothing)."""
    if not context.memberships_url:
        raise ServiceError(0, "the platform offers no roster service for this course", retryable=False)
    members: dict[str, dict[str, Any]] = {}
    url: str | None = context.memberships_url
    pages = 0
    while url and pages < MAX_PAGES:
        response = services.call("GET", url, [NRPS_MEMBERSHIPS], accept=MEDIA_TYPE)
        pages += 1
        if response.status_code != 200:
            raise ServiceError(
                response.status_code,
                f"roster refused: HTTP {response.status_code}",
                retryable=response.status_code >= 500,
            )
        if len(response.content) > MAX_PAGE_BYTES:
            raise RosterRefused(
                413, f"a roster page of {len(response.content)} bytes is too large", retryable=False
            )
        try:
            page = response.json()
            page_members = page["members"]
        except (ValueError, KeyError, TypeError, RecursionError) as error:
            raise RosterRefused(
                502, "the platform's roster is not an NRPS membership container", retryable=False
            ) from error
        if not isinstance(page_members, list) or len(page_members) > MAX_MEMBERS_PER_PAGE:
            raise RosterRefused(413, "a roster page lists too many members", retryable=False)
        for member in page_members:
            if isinstance(member, dict) and isinstance(member.get("user_id"), str) and member["user_id"]:
                members[member["user_id"]] = member
        url = next_page(response)
    platform: Platform = services.platform
    now = utcnow()
    seen: set[int] = set()
    active = 0
    for sub, member in members.items():
        roles = [str(r) for r in member.get("roles", []) if isinstance(r, str)]
        is_active = member.get("status", "Active") == "Active"
        person = learners.Person(
            sub=sub,
            name=_text(member.get("name")),
            given_name=_text(member.get("given_name")),
            family_name=_text(member.get("family_name")),
            email=_text(member.get("email")),
            locale=None,
        )
        course = learners.CourseRef(context.lti_context_id, context.label, context.title)
        membership = learners.record_membership(
            session, platform, deployment, person, course, roles, lti_roles.is_staff(roles), launched=False
        )
        seen.add(membership.enrolment_id)
        session.execute(
            update(Enrolment)
            .where(Enrolment.id == membership.enrolment_id)
            .values(is_active=is_active, roster_seen_at=now)
        )
        active += is_active
    left = session.execute(
        update(Enrolment)
        .where(Enrolment.context_pk == context.id, Enrolment.is_active.is_(True), Enrolment.id.not_in(seen))
        .values(is_active=False)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    context.roster_synced_at = now
    session.flush()
    log.info(
        "context %s: roster of %d member(s) over %d page(s), %d left", context.id, len(members), pages, left
    )
    return RosterSync(members=len(members), active=active, left=left, pages=pages)


def roster_stale(context: Context, max_age_seconds: int) -> bool:
    synced = context.roster_synced_at
    return synced is None or (utcnow() - synced).total_seconds() > max_age_seconds


def active_members(session: DbSession, context_pk: int) -> int:
    from sqlalchemy import func

    return int(
        session.scalar(
            select(func.count())
            .select_from(Enrolment)
            .where(Enrolment.context_pk == context_pk, Enrolment.is_active.is_(True))
        )
        or 0
    )


def _text(value: Any) -> str | None:
    return value.strip()[:255] if isinstance(value, str) and value.strip() else None
