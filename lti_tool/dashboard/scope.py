"""What a staff launch may see: its own course context, or every context of its platform registration for
an administrator. Every dashboard query and export filters through a ``StaffScope``, and every id taken
from a URL is checked with it (an id outside the scope answers 404, as if it did not exist)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, select

from lti_tool.db import DbSession
from lti_tool.errors import not_found
from lti_tool.learners.models import Context, Learner
from lti_tool.learners.services import enrolled_learner
from lti_tool.lti.context import LaunchContext


@dataclass(frozen=True)
class StaffScope:
    platform_id: int
    # The contexts visible: the launch's own, or None for "every context of the registration" (admin).
    context_pks: frozenset[int] | None
    launch_context_pk: int

    @classmethod
    def of_launch(cls, launch: LaunchContext) -> StaffScope:
        if launch.is_admin:
            return cls(launch.platform_id, None, launch.context_pk)
        return cls(launch.platform_id, frozenset({launch.context_pk}), launch.context_pk)

    def contexts_clause(self, column: ColumnElement[int]) -> ColumnElement[bool]:
        """A WHERE clause on a context_pk column: only the visible contexts."""
        if self.context_pks is None:
            return column.in_(select(Context.id).where(Context.platform_id == self.platform_id))
        return column.in_(sorted(self.context_pks))

    def context(self, session: DbSession, context_pk: int) -> Context:
        """A context named in a URL, if visible; 404 otherwise."""
        context = session.get(Context, context_pk)
        if (
            context is None
            or context.platform_id != self.platform_id
            or (self.context_pks is not None and context_pk not in self.context_pks)
        ):
            raise not_found("Ce cours", "This course")
        return context

    def learner(self, session: DbSession, learner_id: int, context_pk: int) -> Learner:
        """A learner named in a URL, if enrolled (not as staff) in a visible context; 404 otherwise."""
        self.context(session, context_pk)
        learner = enrolled_learner(session, learner_id, context_pk)
        if learner.platform_id != self.platform_id:
            raise not_found("Cette personne dans ce cours", "This person in this course")
        return learner
