"""``flask --app lti_tool platform …`` (registrations and invitations) and ``keys …`` (the tool's signing
keys): the LTI edge's commands."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup

from lti_tool.db import db
from lti_tool.learners import services as learners
from lti_tool.lti import registration
from lti_tool.lti.runtime import runtime


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


DURATION_UNITS = {"m": "minutes", "h": "hours", "d": "days"}
MAX_INVITE_LIFETIME = timedelta(days=30)


def parse_duration(text: str) -> timedelta:
    """``90m``, ``48h``, ``7d`` (a bare number means hours)."""
    text = text.strip().lower()
    unit = text[-1:] if text[-1:] in DURATION_UNITS else "h"
    number = text[:-1] if text[-1:] in DURATION_UNITS else text
    if not number.isascii() or not number.isdigit() or int(number) <= 0:
        raise click.BadParameter(f"{text!r}: write a duration such as 90m, 48h or 7d", param_hint="--expires")
    lifetime = timedelta(**{DURATION_UNITS[unit]: int(number)})
    if lifetime > MAX_INVITE_LIFETIME:
        raise click.BadParameter("an invitation lasts 30 days at most", param_hint="--expires")
    return lifetime


@platform.command("invite")
@click.option("--name", required=True, help='Who the invitation is for (e.g. "Moodle DU"), shown in lists.')
@click.option(
    "--expires", default=None, help="How long it stays usable: 90m, 48h, 7d (default INVITE_TTL_HOURS)."
)
def platform_invite(name: str, expires: str | None) -> None:
    """Invite one platform to register by Dynamic Registration: print the URL its administrator pastes."""
    if not name.strip():
        raise click.BadParameter("give the platform's name", param_hint="--name")
    lifetime = parse_duration(expires) if expires else timedelta(hours=current_app.config["INVITE_TTL_HOURS"])
    created = registration.create_invite(db.session, runtime().urls, name, lifetime)
    db.session.commit()
    click.echo(
        f"Invitation {created.invite.id} for {created.invite.name!r}, usable once until "
        f"{created.invite.expires_at:%Y-%m-%d %H:%M} UTC. Paste this URL as the tool URL in the platform "
        "(Moodle: Site administration > Plugins > Activity modules > External tool > Manage tools):"
    )
    click.echo(created.url)


@platform.command("invites")
def platform_invites() -> None:
    """List invitations: open, used (with the registration made) or expired; never their tokens."""
    rows = registration.list_invites(db.session)
    if not rows:
        click.echo("No invitation. Make one with `flask --app lti_tool platform invite --name NAME`.")
    for row in rows:
        state = registration.invite_state(row)
        made = f"\tplatform={row.platform_id}" if row.platform_id else ""
        click.echo(f"{row.id}\t{row.name}\t{state}\texpires={row.expires_at:%Y-%m-%d %H:%M}Z{made}")


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


def _one_platform(issuer: str, client_id: str) -> Any:
    row = next(
        (p for p in learners.list_platforms(db.session) if p.issuer == issuer and p.client_id == client_id),
        None,
    )
    if row is None:
        raise click.BadParameter(f"no registration {issuer} / {client_id} (see `platform list`)")
    return row


@platform.command("activate")
@click.option("--issuer", required=True)
@click.option("--client-id", required=True)
def platform_activate(issuer: str, client_id: str) -> None:
    """Let this registration launch Socle again."""
    _one_platform(issuer, client_id).is_active = True
    db.session.commit()
    click.echo(f"{issuer} (client {client_id}) is active.")


@platform.command("deactivate")
@click.option("--issuer", required=True)
@click.option("--client-id", required=True)
def platform_deactivate(issuer: str, client_id: str) -> None:
    """Refuse this registration's launches and stop sending it scores; keep its data."""
    _one_platform(issuer, client_id).is_active = False
    db.session.commit()
    click.echo(f"{issuer} (client {client_id}) is deactivated: its launches are refused, its data is kept.")


@platform.command("remove")
@click.option("--issuer", required=True)
@click.option("--client-id", required=True)
@click.option("--yes", is_flag=True, help="Confirm: everything recorded through it is deleted.")
def platform_remove(issuer: str, client_id: str, yes: bool) -> None:
    """Delete this registration and everything recorded through it (learners, progress, launches)."""
    row = _one_platform(issuer, client_id)
    if not yes:
        raise click.UsageError("removing deletes every record made through this registration: add --yes")
    db.session.delete(row)
    db.session.commit()
    click.echo(f"{issuer} (client {client_id}) removed.")


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


def platforms_named(spec: str, param_hint: str = "--platform") -> list[Any]:
    """The registrations an operator names as ``issuer`` (all its clients) or ``issuer|client_id``."""
    issuer, _, client_id = spec.partition("|")
    found = [
        p
        for p in learners.list_platforms(db.session)
        if p.issuer == issuer and (not client_id or p.client_id == client_id)
    ]
    if not found:
        raise click.BadParameter(
            f"no registered platform {spec!r} (see `platform list`)", param_hint=param_hint
        )
    return found
