"""A module's written deliverable: submitted (or submitted again once returned), then reviewed.

No Flask here: a ``Scope`` (who, which context) and content in, rows and events out. Callers commit once.
"""

from __future__ import annotations

from sqlalchemy import select

from lti_tool import events
from lti_tool.content.loader import Module
from lti_tool.db import DbSession, insert_once, utcnow
from lti_tool.errors import AlreadyRecorded, Message, not_found, refused
from lti_tool.scope import Scope
from lti_tool.training.completion import complete_if_done
from lti_tool.training.models import Deliverable, ModuleProgress
from lti_tool.training.progress import progress_row


def submit_deliverable(
    session: DbSession, scope: Scope, module: Module, text: str, version: int
) -> Deliverable:
    spec = module.meta.deliverable
    if spec is None:
        raise not_found("Le livrable de ce module", "This module's deliverable")
    words = len(text.split())
    if words < spec.min_words:
        raise refused(
            "deliverable_too_short",
            f"Le livrable compte {words} mots ; il en faut au moins {spec.min_words}.",
            f"The deliverable has {words} words; it needs at least {spec.min_words}.",
        )
    if len(text) > 20_000:
        raise refused(
            "deliverable_too_long",
            "Le livrable dépasse 20 000 caractères.",
            "The deliverable is over 20,000 characters.",
        )
    progress = progress_row(session, scope, module, version)
    deliverable = deliverable_of(session, progress)
    already_submitted = AlreadyRecorded(
        Message("Votre livrable est déjà déposé.", "Your deliverable is already submitted."),
        Message("Il sera examiné par l'équipe d'animation.", "The facilitators will review it."),
    )
    if deliverable is not None and deliverable.review_status != "returned":
        raise already_submitted
    if deliverable is None:
        inserted = insert_once(
            session,
            Deliverable,
            {
                "progress_id": progress.id,
                "learner_id": scope.learner_id,
                "module_id": module.id,
                "text": "",
                "content_version": version,
                "submitted_at": utcnow(),
            },
            ("progress_id",),
        )
        if inserted is None:  # the same form sent twice at once: the first one stands
            raise already_submitted
        deliverable = session.get(Deliverable, inserted)
        assert deliverable is not None
    # A returned deliverable is submitted again: the new text waits for a new review.
    deliverable.content_version = version
    deliverable.text = text.strip()
    deliverable.submitted_at = utcnow()
    deliverable.review_status = None
    events.record_event(
        session,
        scope,
        events.DELIVERABLE_SUBMITTED,
        content_version=version,
        module=module,
        payload={"words": words},
    )
    session.flush()
    complete_if_done(session, scope, module, progress, version)
    return deliverable


def deliverable_of(session: DbSession, progress: ModuleProgress | None) -> Deliverable | None:
    if progress is None:
        return None
    return session.scalar(select(Deliverable).where(Deliverable.progress_id == progress.id))
