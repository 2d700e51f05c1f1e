"""``flask --app lti_tool …`` commands: setup, platform, keys, lti purge."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from flask_migrate import upgrade

from lti_tool.config import read_lti_config
from lti_tool.db import db
from lti_tool.learners import services as learners
from lti_tool.lti.runtime import runtime
from lti_tool.lti.services import purge_expired


def init_app(app: Flask) -> None:
    app.cli.add_command(setup)
    app.cli.add_command(platform)
    app.cli.add_command(keys)
    app.cli.add_command(lti)


@click.command()
@with_appcontext
def setup() -> None:
    """Prepare everything to serve: keys, database schema, registrations (safe to run at every start)."""
    if runtime().keys.ensure():
        click.echo(f"Created the tool's signing key in {runtime().keys.directory}")
    upgrade()
    click.echo("Database schema up to date.")
    imported = import_lti_config()
    click.echo(f"Imported {imported} platform registration(s) from {current_app.config['LTI_CONFIG_PATH']}.")
    if current_app.config.get("DEMO_PLATFORM"):
        register_demo_platform()
        click.echo("Demo platform registered: open the home page and launch as a learner or an instructor.")
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
    from lti_tool.lti.demo_platform.blueprint import demo, registration_spec

    demo().keys.ensure()
    learners.register_platform(db.session, registration_spec(demo()))


@click.group(cls=AppGroup)
def platform() -> None:
    """Platform registrations (one issuer, many clients)."""


@platform.command("add")
@click.option("--issuer", required=True, help="The platform's issuer (Moodle: the site URL).")
@click.option("--client-id", required=True, help="The client id the platform gave the tool.")
@click.option("--auth-login-url", required=True, help="OIDC authorization endpoint of the platform.")
@click.option("--auth-token-url", required=True, help="OAuth2 token endpoint of the platform.")
@click.option("--key-set-url", required=True, help="The platform's public key set (JWKS) URL.")
@click.option("--deployment-id", "deployment_ids", multiple=True, required=True, help="Repeat for several.")
@click.option("--name", default=None, help="A name to show to administrators.")
def platform_add(
    issuer: str,
    client_id: str,
    auth_login_url: str,
    auth_token_url: str,
    key_set_url: str,
    deployment_ids: tuple[str, ...],
    name: str | None,
) -> None:
    """Register a platform, or add deployment ids to an existing registration."""
    for label, url in (
        ("--auth-login-url", auth_login_url),
        ("--auth-token-url", auth_token_url),
        ("--key-set-url", key_set_url),
    ):
        if not url.startswith(("https://", "http://")):
            raise click.BadParameter(f"{url!r} is not an http(s) URL", param_hint=label)
    row = learners.register_platform(
        db.session,
        learners.PlatformSpec(
            issuer=issuer,
            client_id=client_id,
            auth_login_url=auth_login_url,
            auth_token_url=auth_token_url,
            key_set_url=key_set_url,
            deployment_ids=deployment_ids,
            name=name,
        ),
    )
    db.session.commit()
    click.echo(
        f"Registered {row.issuer} (client {row.client_id}) with deployments "
        + ", ".join(d.deployment_id for d in row.deployments)
    )


@platform.command("list")
def platform_list() -> None:
    """List registrations with their deployments."""
    rows = learners.list_platforms(db.session)
    if not rows:
        click.echo("No platform registered. Add one with `flask --app lti_tool platform add --help`.")
    for row in rows:
        state = "active" if row.is_active else "inactive"
        deployments = ", ".join(d.deployment_id for d in row.deployments)
        click.echo(f"{row.issuer}\tclient={row.client_id}\tdeployments={deployments}\t{row.source}\t{state}")


@click.group(cls=AppGroup)
def keys() -> None:
    """The tool's signing keys (published at /lti/jwks)."""


@keys.command("rotate")
def keys_rotate() -> None:
    """Add a new key and sign with it; the previous keys stay published until `keys retire`."""
    kid = runtime().keys.rotate()
    click.echo(
        f"New active key {kid}; previous keys stay published until `flask --app lti_tool keys retire`."
    )


@keys.command("retire")
def keys_retire() -> None:
    """Stop publishing every key but the active one (wait for platforms' caches to expire first)."""
    retired = runtime().keys.retire()
    click.echo(f"Retired {len(retired)} key(s): {', '.join(retired) or 'none'}")


@keys.command("list")
def keys_list() -> None:
    """Show the active key and the keys still published."""
    store = runtime().keys
    active = store.active().kid
    for key in store.published():
        click.echo(f"{key.kid}\t{'active' if key.kid == active else 'published'}")


@click.group(cls=AppGroup)
def lti() -> None:
    """LTI housekeeping."""


@lti.command("purge")
def lti_purge() -> None:
    """Delete expired logins and launches (run it daily, e.g. from cron)."""
    logins, launches = purge_expired(db.session)
    db.session.commit()
    click.echo(f"Deleted {logins} expired login(s) and {launches} expired launch(es).")
