"""``flask --app lti_tool privacy purge``: the retention rules (``lti purge`` is its older name);
``flask --app lti_tool learners export|erase``: what Socle holds about one person, or erasing them (GDPR)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext

from lti_tool.content.runtime import content
from lti_tool.db import db
from lti_tool.errors import SocleError
from lti_tool.learners.models import Learner
from lti_tool.privacy import access, erasure, persons, retention


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


def _person_options(command: Any) -> Any:
    command = click.option("--sub", default=None, help="The person's LTI sub (with --issuer).")(command)
    command = click.option("--issuer", default=None, help="The platform's issuer (with --sub).")(command)
    return click.option("--learner-id", type=int, default=None, help="Socle's id of the person.")(command)


def _person(learner_id: int | None, issuer: str | None, sub: str | None) -> Learner:
    if (learner_id is None) == (issuer is None or sub is None):
        raise click.UsageError("name the person with --learner-id, or with both --issuer and --sub.")
    try:
        return persons.find_learner(db.session, learner_id, issuer, sub)
    except SocleError as error:
        raise click.ClickException(error.what.en) from None


@click.group()
def learners() -> None:
    """The people Socle knows: export what it holds about one, or erase one (GDPR)."""


@learners.command("export")
@_person_options
@click.option(
    "--output",
    "-o",
    default="-",
    help="File to write (default: standard output); created readable by you only.",
)
@with_appcontext
def export(learner_id: int | None, issuer: str | None, sub: str | None, output: str) -> None:
    """Everything Socle holds about one person, as JSON."""
    person = _person(learner_id, issuer, sub)
    text = json.dumps(access.export_learner(db.session, person.id), ensure_ascii=False, indent=2)
    db.session.rollback()
    if output == "-":
        click.echo(text)
        return
    path = Path(output)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(text + "\n")
    click.echo(f"Wrote the personal data of learner {person.id} to {path}.", err=True)


@learners.command("erase")
@_person_options
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def erase(learner_id: int | None, issuer: str | None, sub: str | None, yes: bool) -> None:
    """Erase one person: every row about them and their xAPI statements; their credentials are revoked
    (and stay revoked for verifiers); anonymised counts per course and month are kept."""
    person = _person(learner_id, issuer, sub)
    if not yes:
        click.confirm(
            f"Erase learner {person.id} and everything Socle holds about them? This cannot be undone",
            abort=True,
        )
    try:
        report = erasure.erase_learner(db.session, person.id, "exploitant (CLI)", content=content())
    except SocleError as error:
        db.session.rollback()
        raise click.ClickException(f"{error.what.en} {error.todo.en}") from None
    db.session.commit()
    click.echo(
        f"Erased learner {report.learner_id}: {report.rows} row(s), {report.statements} xAPI "
        f"statement(s), {len(report.credentials_revoked)} credential(s) revoked "
        f"({len(report.credentials_kept)} kept revoked without their document), "
        f"{report.counts_kept} anonymised count(s) kept."
    )
    for table, count in sorted(report.deleted.items()):
        click.echo(f"  {table:<24} {count}")
    if report.forwarded_to:
        click.echo(
            "These external LRSs had received some of the statements; erase them there too: "
            + ", ".join(report.forwarded_to)
        )
