"""What the evidence engine keeps per learner and course context: the facts, the state of each competence
and bloc, the trail from statements to competences, and recognised prior learning."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lti_tool.db import Model, UTCDateTime, utcnow


class LearnerFacts(Model):
    """The facts the rules read, folded from events one at a time: best quiz score per module, modules
    completed, live sessions attended per module, deliverables accepted, modules waived."""

    __tablename__ = "competence_facts"
    __table_args__ = (UniqueConstraint("learner_id", "context_pk"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("platforms.id", ondelete="CASCADE"))
    context_pk: Mapped[int] = mapped_column(ForeignKey("contexts.id", ondelete="CASCADE"), index=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("learners.id", ondelete="CASCADE"))
    facts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CompetenceState(Model):
    """One competence (C1…) or bloc (B1…) of one learner in one course context."""

    __tablename__ = "competence_states"
    __table_args__ = (UniqueConstraint("learner_id", "context_pk", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("platforms.id", ondelete="CASCADE"))
    context_pk: Mapped[int] = mapped_column(ForeignKey("contexts.id", ondelete="CASCADE"), index=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("learners.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(8))
    # Weighted quiz evidence, 0..1; None when every module behind it was waived (prior learning).
    score: Mapped[float | None] = mapped_column(Float)
    is_met: Mapped[bool] = mapped_column(Boolean, default=False)
    met_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rules_version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class EvidenceLink(Model):
    """The trail: this statement counts toward this competence, as this kind of evidence, with this weight
    (a quiz's share of the weighted score; 0 for a condition such as a completion)."""

    __tablename__ = "competence_evidence"
    __table_args__ = (Index("ix_competence_evidence_learner", "learner_id", "context_pk", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    context_pk: Mapped[int] = mapped_column(ForeignKey("contexts.id", ondelete="CASCADE"))
    learner_id: Mapped[int] = mapped_column(ForeignKey("learners.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(8))
    kind: Mapped[str] = mapped_column(String(16))
    module_id: Mapped[str] = mapped_column(String(16))
    statement_id: Mapped[str | None] = mapped_column(String(36))
    ref: Mapped[str | None] = mapped_column(String(64))  # the live session, for an attendance
    weight: Mapped[float] = mapped_column(Float)
    value: Mapped[float | None] = mapped_column(Float)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PriorLearning(Model):
    """A module a facilitator recognised as already mastered (validation des acquis), with the reason."""

    __tablename__ = "prior_learning"
    __table_args__ = (UniqueConstraint("learner_id", "context_pk", "module_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    context_pk: Mapped[int] = mapped_column(ForeignKey("contexts.id", ondelete="CASCADE"))
    learner_id: Mapped[int] = mapped_column(ForeignKey("learners.id", ondelete="CASCADE"))
    module_id: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    recognised_by: Mapped[int | None] = mapped_column(ForeignKey("learners.id", ondelete="SET NULL"))
    recognised_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
