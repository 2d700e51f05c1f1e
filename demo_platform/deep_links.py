"""Deep Linking 2.0, platform side: turning a verified response into activities of the demo course."""

from __future__ import annotations

from sqlalchemy import select

from demo_platform.models import DemoLineItem, DemoResourceLink
from demo_platform.platform import COURSE_ID, DEEP_LINK_LIFETIME_SECONDS, DeepLinkReturn
from demo_platform.store import in_seconds, use_once
from lti_tool.db import DbSession


def answer_once(session: DbSession, result: DeepLinkReturn) -> bool:
    """Record that this Deep Linking request got its answer; False if it already had one. Commits."""
    return use_once(session, "deep_link", result.request_id, in_seconds(DEEP_LINK_LIFETIME_SECONDS + 60))


def create_links(
    session: DbSession, result: DeepLinkReturn, course_id: str = COURSE_ID
) -> list[DemoResourceLink]:
    """One activity per ltiResourceLink content item; a gradebook column for those with a lineItem, as
    Moodle makes a grade item from ``lineItem.scoreMaximum``. Commits."""
    links: list[DemoResourceLink] = []
    for item in result.items:
        link = DemoResourceLink(
            course_id=course_id,
            client_id=result.tool.client_id,
            title=item["title"],
            text=item["text"],
            url=item["url"],
            custom=item["custom"],
            document_target=item["document_target"],
            created_by=result.user_sub or None,
        )
        session.add(link)
        session.flush()
        line_item = item["lineItem"]
        if line_item is not None:
            column = DemoLineItem(
                course_id=course_id,
                client_id=result.tool.client_id,
                resource_link_id=str(link.id),
                label=line_item["label"],
                score_maximum=line_item["scoreMaximum"],
                resource_id=line_item["resourceId"],
                tag=line_item["tag"],
            )
            session.add(column)
            session.flush()
            link.line_item_id = column.id
        links.append(link)
    session.commit()
    return links


def course_links(session: DbSession, course_id: str = COURSE_ID) -> list[DemoResourceLink]:
    return list(
        session.scalars(
            select(DemoResourceLink)
            .where(DemoResourceLink.course_id == course_id)
            .order_by(DemoResourceLink.id)
        )
    )
