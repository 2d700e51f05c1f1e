"""``flask --app lti_tool competences rebuild``: recompute mastery from the stored statements."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from lti_tool.competences import services
from lti_tool.competences.models import LearnerFacts
from lti_tool.content.runtime import content
from lti_tool.db import db
from lti_tool.learners.models import Context, Enrolment, Learner


@click.group()
def competences() -> None:
    """Competence mastery (modules/thresholds.yaml)."""


@competences.command("rebuild")
@click.option("--learner-id", type=int, default=None, help="Only this learner (Socle's id).")
@click.option("--context-id", type=int, default=None, help="Only this course context (Socle's id).")
@with_appcontext
def rebuild(learner_id: int | None, context_id: int | None) -> None:
    """Recompute mastery from the stored xAPI statements alone (after a rule change or a repair)."""
    query = select(Enrolment.learner_id, Enrolment.context_pk).where(Enrolment.is_staff.is_(False))
    if learner_id is not None:
        query = query.where(Enrolment.learner_id == learner_id)
    if context_id is not None:
        query = query.where(Enrolment.context_pk == context_id)
    pairs = {(row[0], row[1]) for row in db.session.execute(query)}
    # Learners with facts but no enrolment row left (a roster change) are rebuilt too.
    facts = select(LearnerFacts.learner_id, LearnerFacts.context_pk)
    if learner_id is not None:
        facts = facts.where(LearnerFacts.learner_id == learner_id)
    if context_id is not None:
        facts = facts.where(LearnerFacts.context_pk == context_id)
    pairs |= {(row[0], row[1]) for row in db.session.execute(facts)}
    base = current_app.config.get("XAPI_IRI_BASE") or current_app.config["BASE_URL"]
    total = 0
    for learner_pk, context_pk in sorted(pairs):
        learner = db.session.get(Learner, learner_pk)
        context = db.session.get(Context, context_pk)
        if learner is None or context is None:
            continue
        total += services.rebuild(db.session, learner, context, content(), base)
        # One commit per learner × course, like a worker's job: a rebuild of a whole platform is not one
        # long transaction, and one that stops midway keeps what it rebuilt (a rerun is idempotent).
        db.session.commit()
    click.echo(f"Rebuilt the mastery of {len(pairs)} learner(s) × course from {total} statement(s).")
