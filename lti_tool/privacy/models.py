"""What is kept once a person is erased: counts per course and month, with nothing that points back to
anyone (no id, no sub, no day)."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lti_tool.db import Model

# What is counted: erased learners (by month of their first launch in the course), modules they
# completed (code: the module) and autodiagnostics they submitted (code: the level reached).
LEARNER = "learner"
MODULE_COMPLETED = "module_completed"
DIAGNOSTIC_SUBMITTED = "diagnostic_submitted"


class AnonymisedCount(Model):
    """How many erased people did something in a course, in a month (``YYYY-MM``, UTC)."""

    __tablename__ = "anonymised_counts"
    __table_args__ = (UniqueConstraint("context_pk", "month", "kind", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("platforms.id", ondelete="CASCADE"))
    context_pk: Mapped[int] = mapped_column(ForeignKey("contexts.id", ondelete="CASCADE"))
    month: Mapped[str] = mapped_column(String(7))
    kind: Mapped[str] = mapped_column(String(32))
    code: Mapped[str] = mapped_column(String(40), default="")
    total: Mapped[int] = mapped_column(Integer, default=0)
