"""Server-side LTI state shared by every worker: pending logins (state + one-time nonce) and launches."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lti_tool.db import UTCDateTime, db, utcnow
from lti_tool.learners.models import Platform


class LoginState(db.Model):  # type: ignore[name-defined,misc]
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
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # Loaded with the row: a launch needs both, in one query.
    platform: Mapped[Platform] = relationship(lazy="joined")


class Launch(db.Model):  # type: ignore[name-defined,misc]
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
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
