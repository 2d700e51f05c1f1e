"""``flask --app lti_tool privacy purge``: the retention rules (``lti purge`` is its older name)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from lti_tool.content.runtime import content
from lti_tool.db import db
from lti_tool.privacy import retention


@click.group()
def privacy() -> None:
    """Retention rules (RETENTION_DAYS_LAUNCHES, RETENTION_DAYS_INACTIVE_LEARNERS)."""


def _days(name: str) -> int | None:
    value = current_app.config.get(name)  # defaults in lti_tool/config.py
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise click.ClickException(
            f"{name} is {value!r}: set LTI_TOOL_{name} to a number of days (1 or more)."
        )
    return value


@privacy.command("purge")
@click.option("--dry-run", is_flag=True, help="Only count what would be deleted.")
@with_appcontext
def purge(dry_run: bool) -> None:
    """Apply the retention rules (run it daily, e.g. from cron): expired logins and launches, launches
    older than RETENTION_DAYS_LAUNCHES, people inactive for RETENTION_DAYS_INACTIVE_LEARNERS."""
    launch_days = _days("RETENTION_DAYS_LAUNCHES")
    learner_days = _days("RETENTION_DAYS_INACTIVE_LEARNERS")
    result = retention.purge(
        db.session, launch_days=launch_days, learner_days=learner_days, content=content(), dry_run=dry_run
    )
    if dry_run:
        db.session.rollback()
    else:
        db.session.commit()
    verb = "Would delete" if dry_run else "Deleted"
    click.echo(f"{verb} {result.logins} expired login(s) and {result.launches} launch(es).")
    if learner_days is None:
        click.echo("People are kept (RETENTION_DAYS_INACTIVE_LEARNERS is not set).")
        return
    verb = "Would erase" if dry_run else "Erased"
    click.echo(f"{verb} {len(result.learners)} person(s) inactive for {learner_days} days.")
    if result.kept_for_credentials:
        click.echo(
            f"Kept {len(result.kept_for_credentials)} inactive person(s) holding a valid credential "
            "(erase them on request with `learners erase`)."
        )
