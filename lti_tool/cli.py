"""``flask --app lti_tool …``: attaches each feature's command group, and the app-wide commands (setup,
worker)."""

from __future__ import annotations

import logging
import signal
import time
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from flask_migrate import upgrade

from lti_tool import lrs, outbound
from lti_tool.certificates.cli import certificates
from lti_tool.competences.cli import competences
from lti_tool.config import read_lti_config
from lti_tool.db import db
from lti_tool.learners import services as learners
from lti_tool.lti import ags
from lti_tool.lti.cli import keys, platform
from lti_tool.lti.runtime import runtime
from lti_tool.privacy.cli import learners as learners_cli
from lti_tool.privacy.cli import privacy, purge
from xapi import forwarding

log = logging.getLogger(__name__)


def init_app(app: Flask) -> None:
    app.cli.add_command(setup)
    app.cli.add_command(worker)
    app.cli.add_command(platform)
    app.cli.add_command(keys)
    app.cli.add_command(lti)
    app.cli.add_command(lrs.cli())
    app.cli.add_command(competences)
    app.cli.add_command(certificates)
    app.cli.add_command(learners_cli)
    app.cli.add_command(privacy)


@click.group(cls=AppGroup)
def lti() -> None:
    """`lti purge` is `privacy purge` under its older name: the same command."""


# The same command object under its older name (README: `privacy purge` is the one to run).
lti.add_command(purge)


@click.command()
@with_appcontext
def setup() -> None:
    """Prepare everything to serve: keys, database schema, registrations (safe to run at every start)."""
    if runtime().keys.ensure():
        click.echo(f"Created the tool's signing key in {runtime().keys.directory}")
    upgrade()
    click.echo("Database schema up to date.")
    imported = import_lti_config()
    if imported:
        click.echo(
            f"Imported {imported} platform registration(s) from {current_app.config['LTI_CONFIG_PATH']}."
        )
    else:
        # Nothing is wrong: platforms usually register themselves (Dynamic Registration, see the README).
        click.echo("No platform listed in lti_config.json (none is needed to try Socle with the demo one).")
    if current_app.config.get("DEMO_PLATFORM"):
        register_demo_platform()
        click.echo(
            f"Demo platform ready: open {current_app.config['BASE_URL']}/ and launch as a learner or an "
            "instructor."
        )
    db.session.commit()


def import_lti_config() -> int:
    config = read_lti_config(current_app.config["LTI_CONFIG_PATH"])
    for entry in config.platforms:
        learners.register_platform(
            db.session,
            learners.PlatformSpec(
                issuer=entry.issuer,
                client_id=entry.client_id,
                auth_login_url=str(entry.auth_login_url),
                auth_token_url=str(entry.auth_token_url),
                key_set_url=str(entry.key_set_url),
                deployment_ids=entry.deployment_ids,
                name=entry.name,
                source="config",
            ),
        )
    return len(config.platforms)


def register_demo_platform() -> None:
    """Register the demo platform as an operator registers an LMS, from the configuration it shows."""
    demo = current_app.extensions["socle_demo_platform"]  # set by create_app when DEMO_PLATFORM is on
    demo.keys.ensure()
    learners.register_platform(db.session, learners.PlatformSpec(**demo.tool_configuration(), source="demo"))


@click.command()
@click.option("--once", is_flag=True, help="Deliver what is due, then stop.")
@click.option("--batch", default=100, show_default=True, help="Statements per request to an LRS.")
@click.option("--idle-seconds", default=1.0, show_default=True, help="Pause when nothing is due.")
@click.option(
    "--lease-seconds",
    default=forwarding.Policy.lease_seconds,
    show_default=True,
    help="How long a claimed batch belongs to this worker (a killed worker's rows come back after it).",
)
@with_appcontext
def worker(once: bool, batch: int, idle_seconds: float, lease_seconds: int) -> None:
    """Deliver the outboxes (statements to external LRSs, scores to the platforms' gradebooks), with
    retries and backoff. Stop with Ctrl-C or SIGTERM."""
    policy = forwarding.Policy(batch_size=batch, lease_seconds=lease_seconds)
    score_policy = ags.Policy(lease_seconds=lease_seconds)
    # The LRSs' URLs are the operator's, but they go through the same guard as every outbound request.
    http = outbound.from_config(
        current_app.config, headers={**forwarding.VERSION_HEADER, "User-Agent": "Socle-xAPI-forwarder/0.1"}
    )
    lti = runtime()
    stopping = {"now": False}

    def stop(*_: Any) -> None:
        stopping["now"] = True

    signal.signal(signal.SIGTERM, stop)
    log.info("worker started")
    while not stopping["now"]:
        try:
            counts = forwarding.run_once(db.session, http, policy)
            scores = ags.run_once(db.session, lti.http, lti.keys, db.engine, score_policy)
        except Exception:  # a worker must outlive one bad batch; its rows come back after the lease
            log.exception("worker batch failed; retrying after a pause")
            db.session.rollback()
            time.sleep(max(idle_seconds, 1.0))
            continue
        if counts:
            log.info("statements: %s", ", ".join(f"{k}={v}" for k, v in sorted(counts.items())))
        if scores:
            log.info("scores: %s", ", ".join(f"{k}={v}" for k, v in sorted(scores.items())))
        if not counts and not scores:
            if once:
                break
            time.sleep(idle_seconds)
    db.session.remove()
