"""Server-side LTI state shared by every worker: pending logins (state + one-time nonce) and launches."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lti_tool.db import Model, UTCDateTime, utcnow
from lti_tool.learners.models import Platform


class LoginState(Model):
    """An OIDC login we started: its state, its one-time nonce and what the platform asked for.

    The launch that answers it must carry the same nonce; consuming the row is atomic, so a token can
    be used once, by one worker, whatever the browser.
    """

    __tablename__ = "lti_login_states"

    state: Mapped[str] = mapped_column(String(96), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(128), unique=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("platforms.id", ondelete="CASCADE"))
    # The login request, kept to check the launch against it and to restart it in a new window.
    login_params: Mapped[dict[str, Any]] = mapped_column(JSON)
    # Put in the platform's client-side storage at login; proves the browser when cookies are blocked.
    storage_secret: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # Loaded with the row: a launch needs both, in one query.
    platform: Mapped[Platform] = relationship(lazy="joined")


class Launch(Model):
    """A validated launch. Its id travels in the pages so follow-up requests need no third-party cookie."""

    __tablename__ = "lti_launches"
    __table_args__ = (Index("ix_lti_launches_expires_at", "expires_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("platforms.id", ondelete="CASCADE"))
    deployment_pk: Mapped[int] = mapped_column(ForeignKey("deployments.id", ondelete="CASCADE"))
    learner_id: Mapped[int] = mapped_column(ForeignKey("learners.id", ondelete="CASCADE"), index=True)
    context_pk: Mapped[int] = mapped_column(ForeignKey("contexts.id", ondelete="CASCADE"))
    message_type: Mapped[str] = mapped_column(String(64))
    roles: Mapped[list[str]] = mapped_column(JSON)
    is_staff: Mapped[bool] = mapped_column(Boolean)
    is_admin: Mapped[bool] = mapped_column(Boolean)
    resource_link_id: Mapped[str | None] = mapped_column(String(255))
    target_link_uri: Mapped[str] = mapped_column(String(2048))
    locale: Mapped[str | None] = mapped_column(String(35))
    # The validated claims, for the LTI Advantage services of later requests (AGS, NRPS, Deep Linking).
    claims: Mapped[dict[str, Any]] = mapped_column(JSON)
    # A random id of the browser that launched (a first-party-when-possible cookie); None if cookies
    # were blocked. A request from another browser that carries this launch id is refused.
    browser_id: Mapped[str | None] = mapped_column(String(64))
    # A deep-linking request is answered once.
    deep_link_answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AccessToken(Model):
    """A platform's OAuth2 access token, cached per registration and scope set until shortly before it
    expires, and shared by every worker (one token per scope per expiry period, not per request)."""

    __tablename__ = "lti_access_tokens"
    __table_args__ = (UniqueConstraint("platform_id", "scopes"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("platforms.id", ondelete="CASCADE"))
    scopes: Mapped[str] = mapped_column(String(512))
    token: Mapped[str] = mapped_column(String(4096))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LineItem(Model):
    """The platform's gradebook column for one gradable thing of Socle in one course."""

    __tablename__ = "lti_line_items"
    __table_args__ = (UniqueConstraint("context_pk", "resource_link_id", "resource_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("platforms.id", ondelete="CASCADE"))
    context_pk: Mapped[int] = mapped_column(ForeignKey("contexts.id", ondelete="CASCADE"))
    resource_link_id: Mapped[str] = mapped_column(String(255), default="")
    resource_id: Mapped[str] = mapped_column(String(64))  # M1…M8, autodiagnostic, certificate
    url: Mapped[str] = mapped_column(String(2048))
    score_maximum: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Placement(Model):
    """Something of Socle the course's teachers placed (a module, the autodiagnostic, or ``path``: the whole
    path), known from a Deep Linking selection or a resource link's launch. Only placed resources show on
    the learner home and get a gradebook column."""

    __tablename__ = "lti_placements"
    __table_args__ = (UniqueConstraint("context_pk", "resource_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    context_pk: Mapped[int] = mapped_column(ForeignKey("contexts.id", ondelete="CASCADE"))
    resource_id: Mapped[str] = mapped_column(String(64))  # M1…M8, autodiagnostic, path
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ScoreOutbox(Model):
    """A score to post to the platform's gradebook (AGS), delivered by the worker with retries.

    Rows stay visible to staff: delivered, waiting (with the last error), or refused by the platform with
    its reason (a learner not enrolled, a stale timestamp, a revoked tool)."""

    __tablename__ = "lti_score_outbox"
    __table_args__ = (Index("ix_lti_score_outbox_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("platforms.id", ondelete="CASCADE"))
    context_pk: Mapped[int] = mapped_column(ForeignKey("contexts.id", ondelete="CASCADE"), index=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("learners.id", ondelete="CASCADE"))
    sub: Mapped[str] = mapped_column(String(255))
    resource_link_id: Mapped[str] = mapped_column(String(255), default="")
    resource_id: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(255))
    lineitems_url: Mapped[str | None] = mapped_column(String(2048))
    lineitem_url: Mapped[str | None] = mapped_column(String(2048))
    score_given: Mapped[float | None] = mapped_column(Float)
    score_maximum: Mapped[float] = mapped_column(Float)
    activity_progress: Mapped[str] = mapped_column(String(16))
    grading_progress: Mapped[str] = mapped_column(String(16))
    # Strictly increasing per learner and gradebook column, at second precision (Moodle: 409 otherwise).
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | delivered | refused | dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claim_token: Mapped[str | None] = mapped_column(String(32))
    last_error: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RegistrationInvite(Model):
    """The operator's permission for one platform to register Socle by Dynamic Registration.

    Only the token's hash is kept; the token itself is in the URL the operator hands the platform's
    administrator. It works once, until it expires, and names the registration it created.
    """

    __tablename__ = "lti_registration_invites"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    platform_id: Mapped[int | None] = mapped_column(ForeignKey("platforms.id", ondelete="SET NULL"))
