"""The demo platform's own state (tables ``demo_lms_*``): what an LMS keeps of tools, activities, grades.

Only the demo platform reads and writes these tables; Socle (the tool) never does. They have their own
metadata (``DemoBase``), which the tool's migrations do not know: ``create_tables`` (store.py) makes them
when the demo platform starts, in the tool's database, and a production database never has them.

They are named ``demo_lms_*``, not ``demo_*``: the ``demo_*`` tables were once in the tool's schema
(migration 0005 creates them, 0018 drops them), and the demo must be able to create its own at start
while a new database is still being migrated through 0005.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Integer, MetaData, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from lti_tool.db import NAMING_CONVENTION, UTCDateTime, utcnow


class DemoBase(DeclarativeBase):
    """The demo platform's tables, on a metadata of their own (not the tool's ``db.Model``)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class DemoToolRegistration(DemoBase):
    """A tool registered through LTI Dynamic Registration (``POST /demo/register``).

    ``deployment_id`` is the row id as a string, as Moodle uses its tool type id; it is also the
    ``type_id`` of the AGS URLs. ``status`` is ``active`` or ``pending`` (Moodle keeps new tools pending
    until an administrator activates them; the demo does that only when asked to)."""

    __tablename__ = "demo_lms_tools"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    deployment_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255))
    initiate_login_uri: Mapped[str] = mapped_column(String(1024))
    redirect_uris: Mapped[list[Any]] = mapped_column(JSON, default=list)
    jwks_uri: Mapped[str] = mapped_column(String(1024))
    target_link_uri: Mapped[str] = mapped_column(String(1024))
    # Where LtiDeepLinkingRequest launches go (the messages entry's target_link_uri), if the tool offers it.
    deep_link_uri: Mapped[str | None] = mapped_column(String(1024))
    domain: Mapped[str] = mapped_column(String(255))
    scopes: Mapped[list[Any]] = mapped_column(JSON, default=list)  # the service scopes granted
    claims: Mapped[list[Any]] = mapped_column(JSON, default=list)  # the personal claims it asked for
    custom_parameters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The client metadata as the tool sent it (for the admin page and for debugging).
    metadata_json: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | pending
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DemoRegistrationToken(DemoBase):
    """A registration token handed to a tool with ``openid_configuration``: single use, expiring.

    Only a hash of the token is kept. A registration refused as invalid does not consume it."""

    __tablename__ = "demo_lms_registration_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # Create the tool pending (Moodle's behaviour) rather than active.
    pending: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    tool_id: Mapped[int | None] = mapped_column(ForeignKey("demo_lms_tools.id", ondelete="SET NULL"))


class DemoResourceLink(DemoBase):
    """An activity of the demo course pointing at a tool (made by a Deep Linking response).

    Its LTI ``resource_link.id`` is ``str(id)``. ``line_item_id`` names the gradebook column created with
    it (no foreign key: line items also point back at links by their LTI id)."""

    __tablename__ = "demo_lms_resource_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[str] = mapped_column(String(255), index=True)
    client_id: Mapped[str] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(String(255))
    text: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(String(1024))  # the content item's url (target_link_uri)
    custom: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    document_target: Mapped[str] = mapped_column(String(16), default="iframe")  # iframe | window
    line_item_id: Mapped[int | None] = mapped_column(Integer)
    created_by: Mapped[str | None] = mapped_column(String(255))  # the sub of who added it
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DemoLineItem(DemoBase):
    """A gradebook column (AGS line item) of a tool in a course."""

    __tablename__ = "demo_lms_line_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[str] = mapped_column(String(255), index=True)
    client_id: Mapped[str] = mapped_column(String(255), index=True)
    # The LTI resource link id it belongs to (a demo_lms_resource_links id as text, or the static demo link).
    resource_link_id: Mapped[str | None] = mapped_column(String(255))
    label: Mapped[str] = mapped_column(String(255))
    score_maximum: Mapped[float] = mapped_column(Float)
    resource_id: Mapped[str | None] = mapped_column(String(255))
    tag: Mapped[str | None] = mapped_column(String(255))
    start_date_time: Mapped[str | None] = mapped_column(String(64))
    end_date_time: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DemoScore(DemoBase):
    """A score a tool posted (every one is kept; the latest per user is the result).

    ``timestamp_epoch`` is the score's timestamp in whole seconds: unique per line item and user, so that
    two concurrent posts with the same timestamp cannot both be accepted (Moodle answers 409)."""

    __tablename__ = "demo_lms_scores"
    __table_args__ = (UniqueConstraint("line_item_id", "user_sub", "timestamp_epoch"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    line_item_id: Mapped[int] = mapped_column(
        ForeignKey("demo_lms_line_items.id", ondelete="CASCADE"), index=True
    )
    user_sub: Mapped[str] = mapped_column(String(255))
    score_given: Mapped[float | None] = mapped_column(Float)  # kept only when FullyGraded
    score_maximum: Mapped[float | None] = mapped_column(Float)
    activity_progress: Mapped[str] = mapped_column(String(32))
    grading_progress: Mapped[str] = mapped_column(String(32))
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime)
    timestamp_epoch: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    client_id: Mapped[str] = mapped_column(String(255))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DemoAccessToken(DemoBase):
    """An OAuth2 access token issued by ``POST /demo/token`` (only its SHA-256 is kept)."""

    __tablename__ = "demo_lms_access_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[str] = mapped_column(String(255), index=True)
    scopes: Mapped[list[Any]] = mapped_column(JSON, default=list)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DemoTokenCounter(DemoBase):
    """How many access tokens the token endpoint issued per client and scope (for the benchmark).

    One row per client and single scope, plus one row with ``scope = "*"`` counting every token."""

    __tablename__ = "demo_lms_token_counters"
    __table_args__ = (UniqueConstraint("client_id", "scope"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(255))
    scope: Mapped[str] = mapped_column(String(255))
    count: Mapped[int] = mapped_column(Integer, default=0)
    last_issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DemoUsedNonce(DemoBase):
    """One-time values already seen: client assertion ``jti``s, answered Deep Linking requests."""

    __tablename__ = "demo_lms_used_nonces"
    __table_args__ = (UniqueConstraint("kind", "value"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # client_assertion | deep_link
    value: Mapped[str] = mapped_column(String(255))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class DemoMember(DemoBase):
    """A member of a demo course, as the roster service (NRPS) lists them, launched or not.

    The three demo people are added on first use; generated learners (``demo-learner-0002``…) come from
    ``roster.set_generated_learners``. ``status`` is ``Active`` or ``Inactive`` (left the course)."""

    __tablename__ = "demo_lms_members"
    __table_args__ = (UniqueConstraint("course_id", "sub"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[str] = mapped_column(String(255))
    sub: Mapped[str] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(String(255))
    given_name: Mapped[str | None] = mapped_column(String(255))
    family_name: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(320))
    roles: Mapped[list[Any]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default="Active")
    generated: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
