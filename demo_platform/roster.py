"""The demo course's roster and the Names and Role Provisioning Services 2.0 endpoint over it.

The roster holds the three demo people plus generated learners (``demo-learner-0002``,
``demo-learner-0003``…), most of whom never launched. Tests and scripts size it with
``set_generated_learners`` or ``resize_roster`` and mark people as gone with ``set_member_status``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, select

from demo_platform.gradebook import paginate
from demo_platform.models import DemoMember, DemoResourceLink
from demo_platform.oauth import ServiceError
from demo_platform.platform import (
    COURSE,
    COURSE_ID,
    RESOURCE_LINK,
    USERS,
    DemoPlatform,
    DemoTool,
)
from demo_platform.store import GENERATED_PREFIX, ensure_static_members, generated_learner
from lti_tool.db import DbSession
from lti_tool.inputs import row_id

MEMBERSHIP_CONTAINER = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
STATUSES = ("Active", "Inactive", "Deleted")


def set_generated_learners(session: DbSession, count: int, course_id: str = COURSE_ID) -> None:
    """Make the roster hold exactly ``count`` generated learners, numbered from 0002. Commits."""
    ensure_static_members(session, course_id)
    wanted = {f"{GENERATED_PREFIX}{number:04d}" for number in range(2, count + 2)}
    present = set(
        session.scalars(
            select(DemoMember.sub).where(DemoMember.course_id == course_id, DemoMember.generated.is_(True))
        )
    )
    extra = present - wanted
    if extra:
        session.execute(
            delete(DemoMember).where(DemoMember.course_id == course_id, DemoMember.sub.in_(sorted(extra)))
        )
    for number in range(2, count + 2):
        if f"{GENERATED_PREFIX}{number:04d}" not in present:
            session.add(generated_learner(number, course_id))
    session.commit()


def resize_roster(session: DbSession, total: int, course_id: str = COURSE_ID) -> None:
    """Make the course count ``total`` members: the three demo people plus generated learners."""
    set_generated_learners(session, max(0, total - len(USERS)), course_id)


def set_member_status(session: DbSession, sub: str, status: str, course_id: str = COURSE_ID) -> None:
    """Mark a member ``Active`` or ``Inactive`` (left the course; NRPS still lists them). Commits."""
    if status not in STATUSES:
        raise ValueError(f"status must be one of {STATUSES}")
    ensure_static_members(session, course_id)
    member = session.scalar(
        select(DemoMember).where(DemoMember.course_id == course_id, DemoMember.sub == sub)
    )
    if member is None:
        raise LookupError(f"{sub} is not on the roster of {course_id}")
    member.status = status
    session.commit()


def add_member(
    session: DbSession,
    sub: str,
    *,
    roles: list[str],
    name: str | None = None,
    given_name: str | None = None,
    family_name: str | None = None,
    email: str | None = None,
    status: str = "Active",
    course_id: str = COURSE_ID,
) -> DemoMember:
    """Put someone on the roster (or update them). Commits."""
    ensure_static_members(session, course_id)
    member = session.scalar(
        select(DemoMember).where(DemoMember.course_id == course_id, DemoMember.sub == sub)
    )
    if member is None:
        member = DemoMember(course_id=course_id, sub=sub, generated=False)
        session.add(member)
    member.roles, member.status = list(roles), status
    member.name, member.given_name, member.family_name, member.email = name, given_name, family_name, email
    session.commit()
    return member


def roster(session: DbSession, course_id: str = COURSE_ID) -> list[DemoMember]:
    ensure_static_members(session, course_id)
    return list(
        session.scalars(select(DemoMember).where(DemoMember.course_id == course_id).order_by(DemoMember.id))
    )


def memberships(
    session: DbSession,
    platform: DemoPlatform,
    tool: DemoTool,
    course_id: str,
    args: Mapping[str, str],
    request_url: str,
) -> tuple[dict[str, Any], str | None]:
    """The membership container (one page of it) and the next page's URL.

    Query: ``limit`` and ``from`` (paging; without ``limit``, everything unless the platform's
    ``nrps_default_limit`` is set), ``role`` (full URI or short name such as ``Learner``), ``rlid``
    (a resource link of this tool: everyone in the demo course may open every link)."""
    if course_id != COURSE_ID:
        raise ServiceError(404, "not_found", f"no course {course_id}")
    rlid = args.get("rlid")
    if rlid and not _is_link(session, tool, rlid):
        raise ServiceError(404, "not_found", "rlid is not a resource link of this tool in this course")
    members = roster(session, course_id)
    role = args.get("role")
    if role:
        members = [member for member in members if any(_role_matches(r, role) for r in member.roles or ())]
    paging = dict(args)
    if not paging.get("limit") and platform.nrps_default_limit:
        paging["limit"] = str(platform.nrps_default_limit)
    page, next_url = paginate(members, paging, request_url)
    container = {
        "id": request_url,
        "context": {"id": COURSE["id"], "label": COURSE["label"], "title": COURSE["title"]},
        "members": [_member_json(tool, member) for member in page],
    }
    return container, next_url


def _member_json(tool: DemoTool, member: DemoMember) -> dict[str, Any]:
    data: dict[str, Any] = {"status": member.status, "user_id": member.sub, "roles": list(member.roles or ())}
    names = tool.claims is None or bool({"name", "given_name", "family_name"} & set(tool.claims))
    email = tool.claims is None or "email" in tool.claims
    if names:
        for key in ("name", "given_name", "family_name"):
            value = getattr(member, key)
            if value:
                data[key] = value
    if email and member.email:
        data["email"] = member.email
    return data


def _role_matches(role: str, wanted: str) -> bool:
    if role == wanted:
        return True
    short = role.rsplit("#", 1)[-1] if "#" in role else role.rsplit("/", 1)[-1]
    return "membership#" in role and short == wanted


def _is_link(session: DbSession, tool: DemoTool, rlid: str) -> bool:
    if rlid == RESOURCE_LINK["id"]:
        return tool.registration_id is None
    pk = row_id(rlid)
    link = session.get(DemoResourceLink, pk) if pk is not None else None
    return link is not None and link.client_id == tool.client_id


__all__ = [
    "GENERATED_PREFIX",
    "MEMBERSHIP_CONTAINER",
    "add_member",
    "memberships",
    "resize_roster",
    "roster",
    "set_generated_learners",
    "set_member_status",
]
