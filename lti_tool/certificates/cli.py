"""``flask --app lti_tool certificates list|revoke``: the issued credentials."""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from lti_tool.certificates import issuing
from lti_tool.certificates.models import Credential
from lti_tool.content.runtime import content
from lti_tool.db import db
from lti_tool.errors import SocleError


@click.group()
def certificates() -> None:
    """Issued credentials: list and revoke."""


@certificates.command("list")
@click.option("--context-id", type=int, default=None, help="Only this course context (Socle's id).")
@with_appcontext
def list_credentials(context_id: int | None) -> None:
    """One line per credential: id, achievement, learner id, context id, issued, status."""
    query = select(Credential).order_by(Credential.issued_at)
    if context_id is not None:
        query = query.where(Credential.context_pk == context_id)
    rows = list(db.session.scalars(query))
    for c in rows:
        status = f"revoked {c.revoked_at:%Y-%m-%d}: {c.revoked_reason}" if c.revoked_at else "valid"
        click.echo(
            f"{c.id}  {c.achievement:<24} learner {c.learner_id:<6} context {c.context_pk:<6} "
            f"{c.issued_at:%Y-%m-%d}  {status}"
        )
    click.echo(f"{len(rows)} credential(s).")


@certificates.command("revoke")
@click.argument("credential_id")
@click.option("--reason", required=True, help="Why (shown on the verification page).")
@with_appcontext
def revoke(credential_id: str, reason: str) -> None:
    """Revoke a credential: status list, verification page and an xAPI statement."""
    try:
        credential = issuing.revoke(db.session, credential_id, reason, "administrateur (CLI)", content())
    except SocleError as error:
        db.session.rollback()
        raise click.ClickException(f"{error.what.en} {error.todo.en}") from None
    db.session.commit()
    click.echo(f"Revoked {credential.id} ({credential.achievement}); the status list now says so.")
