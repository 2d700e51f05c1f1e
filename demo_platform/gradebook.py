"""The demo platform's gradebook: LTI Assignment and Grade Services 2.0, with Moodle's rules.

Line item URLs are ``/demo/courses/<course>/lineitems/<id>/lineitem?type_id=<deployment_id>`` (Moodle's
shape); scores go to ``…/lineitem/scores`` and results come from ``…/lineitem/results``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from demo_platform.models import DemoLineItem, DemoMember, DemoResourceLink, DemoScore
from demo_platform.oauth import ServiceError
from demo_platform.platform import COURSE_ID, RESOURCE_LINK, DemoPlatform, DemoTool
from demo_platform.store import ensure_static_members
from lti_tool.db import DbSession
from lti_tool.inputs import row_id

LINEITEM_CONTAINER = "application/vnd.ims.lis.v2.lineitemcontainer+json"
LINEITEM = "application/vnd.ims.lis.v2.lineitem+json"
SCORE = "application/vnd.ims.lis.v1.score+json"
RESULT_CONTAINER = "application/vnd.ims.lis.v2.resultcontainer+json"

ACTIVITY_PROGRESS = ("Initialized", "Started", "InProgress", "Submitted", "Completed")
GRADING_PROGRESS = ("FullyGraded", "Pending", "PendingManual", "Failed", "NotReady")
COURSES = (COURSE_ID,)


def check_course(course_id: str) -> None:
    if course_id not in COURSES:
        raise ServiceError(404, "not_found", f"no course {course_id}")


def check_type_id(tool: DemoTool, type_id: str | None) -> None:
    """Moodle's ``?type_id=`` must name the tool the token was issued to, when present."""
    if type_id is not None and type_id != tool.type_id:
        raise ServiceError(403, "forbidden", "type_id is not the tool this access token was issued to")


def check_media_type(content_type: str | None, expected: str) -> None:
    """Moodle refuses a body whose Content-Type is given and is not the service's media type."""
    media = (content_type or "").split(";")[0].strip().lower()
    if media and media != expected:
        raise ServiceError(400, "invalid_request", f"Content-Type must be {expected}")


def line_item_json(platform: DemoPlatform, tool: DemoTool, item: DemoLineItem) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": platform.lineitem_url(tool, item.id, item.course_id),
        "scoreMaximum": _plain(item.score_maximum),
        "label": item.label,
    }
    for key, value in (
        ("resourceId", item.resource_id),
        ("tag", item.tag),
        ("resourceLinkId", item.resource_link_id),
        ("startDateTime", item.start_date_time),
        ("endDateTime", item.end_date_time),
    ):
        if value:
            data[key] = value
    return data


def list_line_items(
    session: DbSession,
    platform: DemoPlatform,
    tool: DemoTool,
    course_id: str,
    args: Mapping[str, str],
    request_url: str,
) -> tuple[list[dict[str, Any]], str | None]:
    """The tool's line items in the course, filtered (resource_link_id, resource_id, tag) and paged
    (limit, from); and the URL of the next page."""
    query = select(DemoLineItem).where(
        DemoLineItem.course_id == course_id, DemoLineItem.client_id == tool.client_id
    )
    if args.get("resource_link_id"):
        query = query.where(DemoLineItem.resource_link_id == args["resource_link_id"])
    if args.get("resource_id"):
        query = query.where(DemoLineItem.resource_id == args["resource_id"])
    if args.get("tag"):
        query = query.where(DemoLineItem.tag == args["tag"])
    items = list(session.scalars(query.order_by(DemoLineItem.id)))
    page, next_url = paginate(items, args, request_url)
    return [line_item_json(platform, tool, item) for item in page], next_url


def create_line_item(
    session: DbSession, tool: DemoTool, course_id: str, body: Any, *, resource_link_id: str | None = None
) -> DemoLineItem:
    fields = _line_item_fields(body)
    link_id = body.get("resourceLinkId") if resource_link_id is None else resource_link_id
    if link_id is not None:
        link_id = str(link_id)
        if not _is_link_of(session, tool, course_id, link_id):
            raise ServiceError(403, "forbidden", "resourceLinkId is not a link of this tool in this course")
    item = DemoLineItem(course_id=course_id, client_id=tool.client_id, resource_link_id=link_id, **fields)
    session.add(item)
    session.commit()
    return item


def get_line_item(session: DbSession, tool: DemoTool, course_id: str, item_id: int) -> DemoLineItem:
    item = session.get(DemoLineItem, item_id)
    # Another tool's column is reported missing, as Moodle does (no hint that it exists).
    if item is None or item.course_id != course_id or item.client_id != tool.client_id:
        raise ServiceError(404, "not_found", f"no line item {item_id} for this tool in this course")
    return item


def update_line_item(
    session: DbSession, tool: DemoTool, course_id: str, item_id: int, body: Any
) -> DemoLineItem:
    item = get_line_item(session, tool, course_id, item_id)
    fields = _line_item_fields(body)
    if body.get("resourceLinkId") not in (None, item.resource_link_id):
        raise ServiceError(400, "invalid_request", "a line item's resourceLinkId cannot change")
    for name, value in fields.items():
        setattr(item, name, value)
    session.commit()
    return item


def delete_line_item(session: DbSession, tool: DemoTool, course_id: str, item_id: int) -> None:
    item = get_line_item(session, tool, course_id, item_id)
    session.execute(
        update(DemoResourceLink).where(DemoResourceLink.line_item_id == item.id).values(line_item_id=None)
    )
    session.delete(item)
    session.commit()


def post_score(session: DbSession, tool: DemoTool, course_id: str, item_id: int, body: Any) -> DemoScore:
    """Record a score, with Moodle's rules.

    400 when a required field is missing or wrong, or when ``userId`` is not a member of the course
    (Moodle: "Incorrect score received"); 409 when ``timestamp`` is not later, at second precision,
    than the last score's for this user and line item. ``scoreGiven`` is kept only when
    ``gradingProgress`` is ``FullyGraded``; ``scoreMaximum`` defaults to 1 as in Moodle."""
    item = get_line_item(session, tool, course_id, item_id)
    if not isinstance(body, dict):
        raise ServiceError(400, "invalid_request", "the score must be a JSON object")
    user_id = body.get("userId")
    if not isinstance(user_id, str) or not user_id:
        raise ServiceError(400, "invalid_request", "userId is required")
    for name, allowed in (("activityProgress", ACTIVITY_PROGRESS), ("gradingProgress", GRADING_PROGRESS)):
        if body.get(name) not in allowed:
            raise ServiceError(400, "invalid_request", f"{name} must be one of {', '.join(allowed)}")
    timestamp = _timestamp(body.get("timestamp"))
    raw_given, raw_maximum = body.get("scoreGiven"), body.get("scoreMaximum")
    if raw_given is not None and not _is_number(raw_given):
        raise ServiceError(400, "invalid_request", "scoreGiven must be a number")
    if raw_maximum is not None and not (_is_number(raw_maximum) and raw_maximum > 0):
        raise ServiceError(400, "invalid_request", "scoreMaximum must be a positive number")
    given = float(raw_given) if raw_given is not None else None
    maximum = float(raw_maximum) if raw_maximum is not None else None
    if given is not None and maximum is None:
        raise ServiceError(400, "invalid_request", "scoreGiven needs scoreMaximum")
    if given is not None and given < 0:
        raise ServiceError(400, "invalid_request", "scoreGiven must not be negative")
    comment = body.get("comment")
    if comment is not None and not isinstance(comment, str):
        raise ServiceError(400, "invalid_request", "comment must be a string")
    ensure_static_members(session, course_id)
    member = session.scalar(
        select(DemoMember.id).where(DemoMember.course_id == course_id, DemoMember.sub == user_id)
    )
    if member is None:
        raise ServiceError(400, "invalid_request", "userId is not a member of this course")
    epoch = math.floor(timestamp.timestamp())
    last = session.scalar(
        select(DemoScore.timestamp_epoch)
        .where(DemoScore.line_item_id == item.id, DemoScore.user_sub == user_id)
        .order_by(DemoScore.timestamp_epoch.desc())
        .limit(1)
    )
    if last is not None and last >= epoch:
        raise _stale(item.id, user_id)
    score = DemoScore(
        line_item_id=item.id,
        user_sub=user_id,
        score_given=given if body["gradingProgress"] == "FullyGraded" else None,
        score_maximum=maximum if maximum is not None else 1.0,
        activity_progress=body["activityProgress"],
        grading_progress=body["gradingProgress"],
        timestamp=timestamp,
        timestamp_epoch=epoch,
        comment=comment,
        client_id=tool.client_id,
    )
    session.add(score)
    try:
        session.commit()
    except IntegrityError as error:  # the same second, posted concurrently
        session.rollback()
        raise _stale(item.id, user_id) from error
    return score


def results(
    session: DbSession,
    platform: DemoPlatform,
    tool: DemoTool,
    course_id: str,
    item_id: int,
    args: Mapping[str, str],
    request_url: str,
) -> tuple[list[dict[str, Any]], str | None]:
    """The current result of each user who has a score (their latest score), filtered by ``user_id``."""
    item = get_line_item(session, tool, course_id, item_id)
    query = select(DemoScore).where(DemoScore.line_item_id == item.id)
    if args.get("user_id"):
        query = query.where(DemoScore.user_sub == args["user_id"])
    latest: dict[str, DemoScore] = {}
    for score in session.scalars(query.order_by(DemoScore.timestamp_epoch, DemoScore.id)):
        latest[score.user_sub] = score
    item_url = platform.lineitem_url(tool, item.id, course_id)
    parts = urlsplit(item_url)
    results_base = urlunsplit(parts._replace(path=parts.path + "/results"))
    rows: list[dict[str, Any]] = []
    for sub in sorted(latest):
        score = latest[sub]
        result: dict[str, Any] = {
            "id": results_base + "&" + urlencode({"user_id": sub}),
            "scoreOf": item_url,
            "userId": sub,
            "resultMaximum": _plain(item.score_maximum),
        }
        if score.score_given is not None:
            scale = item.score_maximum / (score.score_maximum or item.score_maximum)
            result["resultScore"] = _plain(round(score.score_given * scale, 5))
        if score.comment:
            result["comment"] = score.comment
        rows.append(result)
    return paginate(rows, args, request_url)


def paginate(items: list[Any], args: Mapping[str, str], request_url: str) -> tuple[list[Any], str | None]:
    """Page with ``limit`` and ``from`` (Moodle's parameters); the next page's URL, if any."""
    limit = _int_arg(args, "limit", 0)
    start = _int_arg(args, "from", 0)
    if limit <= 0:
        return items[start:], None
    page = items[start : start + limit]
    if start + limit >= len(items):
        return page, None
    return page, with_query(request_url, {"limit": str(limit), "from": str(start + limit)})


def with_query(url: str, changes: Mapping[str, str]) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


def _int_arg(args: Mapping[str, str], name: str, default: int) -> int:
    value = args.get(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError as error:
        raise ServiceError(400, "invalid_request", f"{name} must be an integer") from error
    if number < 0:
        raise ServiceError(400, "invalid_request", f"{name} must not be negative")
    return number


def _line_item_fields(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ServiceError(400, "invalid_request", "the line item must be a JSON object")
    label = body.get("label")
    if not isinstance(label, str) or not label.strip():
        raise ServiceError(400, "invalid_request", "label is required")
    maximum: Any = body.get("scoreMaximum")
    if not _is_number(maximum) or maximum <= 0:
        raise ServiceError(400, "invalid_request", "scoreMaximum must be a positive number")
    fields: dict[str, Any] = {"label": label[:255], "score_maximum": float(maximum)}
    for key, column in (
        ("resourceId", "resource_id"),
        ("tag", "tag"),
        ("startDateTime", "start_date_time"),
        ("endDateTime", "end_date_time"),
    ):
        value = body.get(key)
        if value is not None and not isinstance(value, str):
            raise ServiceError(400, "invalid_request", f"{key} must be a string")
        if key.endswith("DateTime") and value:
            _timestamp(value, name=key)
        fields[column] = value[:255] if value else None
    return fields


def _is_link_of(session: DbSession, tool: DemoTool, course_id: str, link_id: str) -> bool:
    if link_id == RESOURCE_LINK["id"]:
        return tool.registration_id is None  # the static Socle link belongs to the static tools
    pk = row_id(link_id)
    if pk is None:
        return False
    link = session.get(DemoResourceLink, pk)
    return link is not None and link.course_id == course_id and link.client_id == tool.client_id


def _timestamp(value: Any, name: str = "timestamp") -> datetime:
    """An ISO 8601 date and time with its offset (``Z`` or ``+02:00``)."""
    if not isinstance(value, str) or not value:
        raise ServiceError(400, "invalid_request", f"{name} is required (ISO 8601)")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as error:
        raise ServiceError(400, "invalid_request", f"{name} is not an ISO 8601 date and time") from error
    if parsed.tzinfo is None:
        raise ServiceError(400, "invalid_request", f"{name} must carry its time zone offset")
    return parsed


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _plain(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


def _stale(item_id: int, user_id: str) -> ServiceError:
    return ServiceError(
        409,
        "conflict",
        f"Refusing score with an earlier timestamp for item {item_id} and user {user_id}"
        " (it must be later than the last one, to the second)",
    )
