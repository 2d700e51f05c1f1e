"""Mastery in the event pipeline: the handler create_app registers, and the announcement of what it met.

After the xAPI records and the gradebook, ``on_event`` folds the event's evidence into the learner's mastery
(``services.after_event``: each competence or bloc that became met is a follow-up event) and, when something
became met, announces it on the ``met`` signal, sent by the app. The features that build on mastery
subscribe to it at app creation for their own app (``met.connect(receiver, sender=app)``; certificates
issue what a bloc earns), so mastery never calls them: a new reaction touches no file of competences.

A receiver runs inside the pipeline, in the same transaction: it follows the rules of a handler (see
``lti_tool.events``), and the events it records are queued behind the current one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from blinker import Namespace
from flask import Flask, current_app
from werkzeug.local import LocalProxy

from lti_tool import events
from lti_tool.competences import engine, services
from lti_tool.competences.rules import Rules
from lti_tool.content.loader import Content
from lti_tool.content.runtime import content
from lti_tool.db import DbSession
from lti_tool.scope import Scope

_signals = Namespace()

met = _signals.signal(
    "mastery-met",
    doc="""Competences or blocs became met. Sent by the app, with ``announcement``, a ``MasteryMet``.""",
)


@dataclass(frozen=True)
class MasteryMet:
    """What one event made met, for one learner in one course, and where to act on it."""

    session: DbSession
    scope: Scope
    met: tuple[engine.Met, ...]
    content: Content
    rules: Rules

    @property
    def blocs(self) -> tuple[str, ...]:
        """The blocs that became met (a certificate's building blocks)."""
        return tuple(item.code for item in self.met if item.kind == "bloc")


def on_event(session: DbSession, recorded: events.Recorded) -> None:
    """The pipeline's mastery handler: fold the event into mastery and announce what became met."""
    loaded = content()
    became = services.after_event(session, recorded.scope, recorded.event, recorded.statement_ids, loaded)
    if became:
        announcement = MasteryMet(session, recorded.scope, tuple(became), loaded, services.rules_of(loaded))
        met.send(_app(), announcement=announcement)


def _app() -> Flask:
    """The app itself (not its proxy): receivers subscribe for their app."""
    return cast("LocalProxy[Flask]", current_app)._get_current_object()
