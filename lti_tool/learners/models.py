"""Who launches, from where: registrations, learners, contexts, enrolments.

Every row that belongs to a learner or a cohort carries its platform registration, so that a query can
always be scoped to the platform and context a launch came from.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lti_tool.db import Model, UTCDateTime, utcnow


class Platform(Model):
    """A registration: one issuer may register the tool several times (one row per client id)."""

    __tablename__ = "platforms"
    __table_args__ = (UniqueConstraint("issuer", "client_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    issuer: Mapped[str] = mapped_column(String(255), index=True)
    client_id: Mapped[str] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(String(255))
    auth_login_url: Mapped[str] = mapped_column(String(1024))
    auth_token_url: Mapped[str] = mapped_column(String(1024))
    key_set_url: Mapped[str] = mapped_column(String(1024))
    # Where the registration came from: cli, config (lti_config.json), demo.
    source: Mapped[str] = mapped_column(String(16), default="cli")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The platform's public key set, cached; refetched once when a launch names an unknown kid.
    jwks_json: Mapped[str | None] = mapped_column(Text)
    jwks_fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    jwks_fetch_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    deployments: Mapped[list[Deployment]] = relationship(
        back_populates="platform", cascade="all, delete-orphan", order_by="Deployment.id"
    )


class Deployment(Model):
    __tablename__ = "deployments"
    __table_args__ = (UniqueConstraint("platform_id", "deployment_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("platforms.id", ondelete="CASCADE"))
    deployment_id: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    platform: Mapped[Platform] = relationship(back_populates="deployments")


class Learner(Model):
    """A person as a platform identifies them: unique per issuer and LTI ``sub``."""

    __tablename__ = "learners"
    __table_args__ = (UniqueConstraint("issuer", "sub"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    issuer: Mapped[str] = mapped_column(String(255))
    sub: Mapped[str] = mapped_column(String(255))
    # The registration the learner first came through (tenancy).
    platform_id: Mapped[int] = mapped_column(ForeignKey("platforms.id", ondelete="CASCADE"), index=True)
    # Personal data, only when the platform sends it; never logged.
    name: Mapped[str | None] = mapped_column(String(255))
    given_name: Mapped[str | None] = mapped_column(String(255))
    family_name: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(320))
    locale: Mapped[str | None] = mapped_column(String(35))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # None for someone known only from the platform's roster, who never launched.
    last_launch_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def display_name(self) -> str | None:
        return display_name(self.name, self.given_name, self.family_name)

    @property
    def formal_name(self) -> str | None:
        """The given and family names first (certificates, evidence files, erasure), else the full name."""
        return " ".join(part for part in (self.given_name, self.family_name) if part) or self.name or None


def display_name(name: str | None, given_name: str | None, family_name: str | None) -> str | None:
    """How a person is named on pages, exports and certificates: the platform's full name, else the given
    and family names; None when the platform sent none."""
    return name or " ".join(part for part in (given_name, family_name) if part) or None


class Context(Model):
    """A course (LTI context) within a deployment. ``lti_context_id`` is empty when the launch had none."""

    __tablename__ = "contexts"
    __table_args__ = (UniqueConstraint("deployment_pk", "lti_context_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("platforms.id", ondelete="CASCADE"), index=True)
    deployment_pk: Mapped[int] = mapped_column(ForeignKey("deployments.id", ondelete="CASCADE"))
    lti_context_id: Mapped[str] = mapped_column(String(255))
    label: Mapped[str | None] = mapped_column(String(255))
    title: Mapped[str | None] = mapped_column(String(255))
    # The platform's roster service for this course (from the launch), and its last successful read.
    memberships_url: Mapped[str | None] = mapped_column(String(2048))
    roster_synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Enrolment(Model):
    """A learner's membership of a context, with the roles of their latest launch."""

    __tablename__ = "enrolments"
    __table_args__ = (UniqueConstraint("learner_id", "context_pk"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("learners.id", ondelete="CASCADE"))
    context_pk: Mapped[int] = mapped_column(ForeignKey("contexts.id", ondelete="CASCADE"), index=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("platforms.id", ondelete="CASCADE"))
    roles: Mapped[list[Any]] = mapped_column(JSON, default=list)
    is_staff: Mapped[bool] = mapped_column(Boolean, default=False)
    # Known from a launch, or only from the platform's roster (NRPS) for those who never launched.
    first_launch_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=utcnow)
    last_launch_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=utcnow)
    # False once the platform's roster no longer lists the member (they left the course).
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    roster_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
