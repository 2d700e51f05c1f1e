"""Issued credentials and the revocation status lists."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from lti_tool.db import Model, UTCDateTime, utcnow


class Credential(Model):
    """One Open Badges 3.0 credential: a bloc (``B1``…) or the certificate of a track
    (``certificate-fundraiser``). At most one valid (not revoked) per learner, course context and
    achievement; a revoked one stays (its status bit set) and the achievement can be earned again."""

    __tablename__ = "credentials"
    __table_args__ = (
        Index(
            "uq_credentials_valid_achievement",
            "learner_id",
            "context_pk",
            "achievement",
            unique=True,
            sqlite_where=text("revoked_at IS NULL"),
            postgresql_where=text("revoked_at IS NULL"),
        ),
        UniqueConstraint("status_list", "status_index"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # a random UUID, public
    platform_id: Mapped[int] = mapped_column(ForeignKey("platforms.id", ondelete="CASCADE"))
    context_pk: Mapped[int] = mapped_column(ForeignKey("contexts.id", ondelete="CASCADE"), index=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("learners.id", ondelete="CASCADE"), index=True)
    achievement: Mapped[str] = mapped_column(String(40))
    track: Mapped[str | None] = mapped_column(String(32))
    rules_version: Mapped[int] = mapped_column(Integer)
    content_version: Mapped[int] = mapped_column(Integer)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # When the learner was told, on the first page they opened after it was issued (None: not yet).
    announced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The signed credential (with its Data Integrity proof), and the same credential as a VC-JWT.
    document: Mapped[str] = mapped_column(Text)
    jwt: Mapped[str] = mapped_column(Text)
    earned_statement_id: Mapped[str | None] = mapped_column(String(36))
    status_list: Mapped[int] = mapped_column(Integer)
    status_index: Mapped[int] = mapped_column(Integer)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_reason: Mapped[str | None] = mapped_column(Text)
    revoked_by: Mapped[str | None] = mapped_column(String(255))
    # The evidence file (JSON) frozen at issue, served byte for byte; the credential's evidence names its
    # SHA-256 (digestSRI). None for credentials issued before it was frozen.
    evidence: Mapped[str | None] = mapped_column(Text)
    # When the holder chose to share the evidence file with anyone who has the verification link (None: only
    # the holder and the course's staff see it).
    evidence_shared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class StatusList(Model):
    """A revocation bitstring of ``size`` entries; ``next_index`` is the next free entry."""

    __tablename__ = "status_lists"

    id: Mapped[int] = mapped_column(primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    next_index: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
