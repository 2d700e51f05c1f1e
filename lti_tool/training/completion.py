"""When a module is complete: pages read, quiz passed, live session attended, deliverable submitted
(as each module asks).

No Flask here: a ``Scope`` (who, which context) and content in, rows and events out. Callers commit once.
"""

from __future__ import annotations

from sqlalchemy import func, select

from lti_tool import events
from lti_tool.content.loader import Module
from lti_tool.db import DbSession, utcnow
from lti_tool.scope import Scope
from lti_tool.training.models import Attendance, Deliverable, LiveSession, ModuleProgress


def has_attended(session: DbSession, scope: Scope, module_id: str) -> bool:
    return bool(
        session.scalar(
            select(func.count())
            .select_from(Attendance)
            .join(LiveSession, LiveSession.id == Attendance.session_id)
            .where(
                Attendance.learner_id == scope.learner_id,
                Attendance.is_present.is_(True),
                LiveSession.context_pk == scope.context_pk,
                LiveSession.module_id == module_id,
            )
        )
    )


def missing_for_completion(
    session: DbSession, scope: Scope, module: Module, progress: ModuleProgress | None
) -> list[tuple[str, str]]:
    """What is still missing, as (French, English) sentences; empty when the module is complete."""
    rules = module.meta.completion
    missing: list[tuple[str, str]] = []
    read = set(progress.pages_read) if progress else set()
    unread = len(module.pages) - len(read & set(range(1, len(module.pages) + 1)))
    if unread:
        missing.append((f"{unread} page(s) à lire", f"{unread} page(s) to read"))
    if rules.quiz == "passed" and not (progress and progress.is_quiz_passed):
        score = round(module.meta.mastery_score * 100)
        missing.append((f"réussir le quiz (au moins {score} %)", f"pass the quiz (at least {score}%)"))
    if rules.attendance and not has_attended(session, scope, module.id):
        missing.append(("participer à la séance en direct", "attend the live session"))
    if rules.deliverable and not (
        progress and session.scalar(select(Deliverable.id).where(Deliverable.progress_id == progress.id))
    ):
        missing.append(("déposer le livrable", "submit the deliverable"))
    return missing


def complete_if_done(
    session: DbSession, scope: Scope, module: Module, progress: ModuleProgress, version: int
) -> None:
    if progress.completed_at is not None:
        return
    session.flush()
    if missing_for_completion(session, scope, module, progress):
        return
    progress.completed_at = utcnow()
    events.record_event(
        session,
        scope,
        events.MODULE_COMPLETED,
        content_version=version,
        module=module,
        payload={
            "score": progress.best_score,
            "duration_seconds": (progress.completed_at - progress.started_at).total_seconds(),
        },
    )
