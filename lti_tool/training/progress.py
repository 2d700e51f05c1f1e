"""The module player's progress: pages read, where to resume, the percentage done.

No Flask here: a ``Scope`` (who, which context) and content in, rows and events out. Callers commit once.
"""

from __future__ import annotations

from sqlalchemy import bindparam, select

from lti_tool import events
from lti_tool.content.loader import Module
from lti_tool.db import DbSession, insert_once, utcnow
from lti_tool.errors import not_found
from lti_tool.scope import Scope
from lti_tool.training.completion import complete_if_done
from lti_tool.training.models import ModuleProgress


def get_progress(session: DbSession, scope: Scope, module: Module) -> ModuleProgress | None:
    return session.scalar(
        select(ModuleProgress).where(
            ModuleProgress.learner_id == scope.learner_id,
            ModuleProgress.context_pk == scope.context_pk,
            ModuleProgress.module_id == module.id,
        )
    )


def progress_by_module(session: DbSession, scope: Scope) -> dict[str, ModuleProgress]:
    rows = session.scalars(
        _PROGRESS_OF_LEARNER, {"learner_id": scope.learner_id, "context_pk": scope.context_pk}
    )
    return {row.module_id: row for row in rows}


_PROGRESS_OF_LEARNER = select(ModuleProgress).where(
    ModuleProgress.learner_id == bindparam("learner_id"), ModuleProgress.context_pk == bindparam("context_pk")
)


def progress_row(session: DbSession, scope: Scope, module: Module, version: int) -> ModuleProgress:
    """The learner's progress in the module, its row created at the first thing they do in it."""
    progress = get_progress(session, scope, module)
    if progress is None:
        # Two first requests at once (a double click) both find none: the second insert does nothing.
        insert_once(
            session,
            ModuleProgress,
            {
                "platform_id": scope.platform_id,
                "context_pk": scope.context_pk,
                "learner_id": scope.learner_id,
                "module_id": module.id,
                "content_version": version,
                "pages_read": [],
                "last_page": 1,
            },
            ("learner_id", "context_pk", "module_id"),
        )
        progress = get_progress(session, scope, module)
        assert progress is not None
    return progress


def percent_done(module: Module, progress: ModuleProgress | None) -> int:
    """Pages read and quiz passed, as one percentage (the quiz counts as one more step)."""
    if progress is None:
        return 0
    steps = len(module.pages) + 1
    done = len(set(progress.pages_read)) + (1 if progress.is_quiz_passed else 0)
    return round(100 * done / steps)


def read_page(session: DbSession, scope: Scope, module: Module, number: int, version: int) -> ModuleProgress:
    """Mark a page read (once) and remember it as where to resume."""
    if not 1 <= number <= len(module.pages):
        raise not_found("Cette page du module", "This page of the module")
    progress = progress_row(session, scope, module, version)
    progress.last_page = number
    progress.updated_at = utcnow()
    if number not in progress.pages_read:
        progress.pages_read = sorted({*progress.pages_read, number})
        events.record_event(
            session,
            scope,
            events.PAGE_READ,
            content_version=version,
            module=module,
            payload={
                "page": number,
                "title": module.pages[number - 1].title,
                "pages": len(module.pages),
                "progress": percent_done(module, progress),
            },
        )
        complete_if_done(session, scope, module, progress, version)
    return progress
