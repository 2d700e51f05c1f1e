"""``flask --app lti_tool …`` commands: setup, platform, keys, lti purge."""

from __future__ import annotations

import logging
import secrets
import signal
import time
from datetime import timedelta
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from flask_migrate import upgrade
from sqlalchemy import select

from lti_tool import outbound
from lti_tool.config import read_lti_config
from lti_tool.db import db
from lti_tool.learners import services as learners
from lti_tool.lti import ags, registration
from lti_tool.lti.runtime import runtime
from lti_tool.lti.services import purge_expired
from xapi import api as xapi_api
from xapi import forwarding
from xapi.models import Client as XapiClient
from xapi.models import Endpoint as XapiEndpoint

log = logging.getLogger(__name__)


def init_app(app: Flask) -> None:
    app.cli.add_command(setup)
    app.cli.add_command(platform)
    app.cli.add_command(keys)
    app.cli.add_command(lti)
    app.cli.add_command(xapi)
    app.cli.add_command(worker)
    from lti_tool.competences.cli import certificates, competences

    app.cli.add_command(competences)
    app.cli.add_command(certificates)
    from lti_tool.privacy.cli import learners as learners_cli
    from lti_tool.privacy.cli import privacy

    app.cli.add_command(learners_cli)
    app.cli.add_command(privacy)


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


@click.group(cls=AppGroup)
def lti() -> None:
    """LTI housekeeping."""


@lti.command("purge")
def lti_purge() -> None:
    """Delete expired logins and launches (run it daily, e.g. from cron)."""
    logins, launches = purge_expired(db.session)
    db.session.commit()
    click.echo(f"Deleted {logins} expired login(s) and {launches} expired launch(es).")


# -- xAPI: clients of the Statement API, external LRSs, the outbox and its worker
@click.group(cls=AppGroup)
def xapi() -> None:
    """xAPI: Statement API clients, external LRSs, the forwarding outbox."""


@xapi.group("client", cls=AppGroup)
def xapi_client() -> None:
    """Credentials for the Statement API (HTTP Basic)."""


@xapi_client.command("add")
@click.option("--name", required=True, help="Who uses it (e.g. the university's analytics).")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    required=True,
    type=click.Choice(xapi_api.ALL_SCOPES),
    help="Repeat for several.",
)
@click.option(
    "--platform",
    "platforms",
    multiple=True,
    help="Issuer (or issuer|client_id) whose statements it may write, void and see; repeat for several."
    " Without it, the client writes only statements that name no registered platform.",
)
def xapi_client_add(name: str, scopes: tuple[str, ...], platforms: tuple[str, ...]) -> None:
    """Create a client; print its key and secret once (the last line is key:secret)."""
    platform_ids = sorted({p.id for spec in platforms for p in _platforms_named(spec)})
    key, secret = secrets.token_hex(12), secrets.token_urlsafe(32)
    db.session.add(
        XapiClient(
            name=name,
            key=key,
            secret_hash=xapi_api.hash_secret(secret),
            scopes=list(scopes),
            platform_ids=platform_ids,
            is_active=True,
        )
    )
    db.session.commit()
    click.echo(
        f"Client {name!r} created with scopes {', '.join(scopes)}; platforms {platform_ids or 'none'}."
    )
    click.echo("Keep the secret now: it is shown only once.")
    click.echo(f"{key}:{secret}")


def _platforms_named(spec: str) -> list[Any]:
    issuer, _, client_id = spec.partition("|")
    found = [
        p
        for p in learners.list_platforms(db.session)
        if p.issuer == issuer and (not client_id or p.client_id == client_id)
    ]
    if not found:
        raise click.BadParameter(
            f"no registered platform {spec!r} (see `platform list`)", param_hint="--platform"
        )
    return found


@xapi_client.command("list")
def xapi_client_list() -> None:
    """List clients (never their secrets)."""
    for client in db.session.scalars(select(XapiClient).order_by(XapiClient.id)):
        state = "active" if client.is_active else "inactive"
        click.echo(
            f"{client.key}\t{client.name}\t{','.join(client.scopes)}\tplatforms={client.platform_ids}\t{state}"
        )


@xapi.group("endpoint", cls=AppGroup)
def xapi_endpoint() -> None:
    """External LRSs that receive a copy of the statements."""


@xapi_endpoint.command("add")
@click.option("--name", required=True)
@click.option("--url", required=True, help="The LRS's xAPI base URL (statements go to URL/statements).")
@click.option("--username", default=None)
@click.option("--password", default=None)
@click.option("--platform", default=None, help="Only this issuer's statements (default: all).")
def xapi_endpoint_add(
    name: str, url: str, username: str | None, password: str | None, platform: str | None
) -> None:
    """Forward statements stored from now on to an external LRS."""
    if not url.startswith(("http://", "https://")):
        raise click.BadParameter("give the LRS's http(s) URL", param_hint="--url")
    platform_id = _platforms_named(platform)[0].id if platform else None
    endpoint = XapiEndpoint(
        name=name, url=url, username=username, password=password, platform_id=platform_id, is_active=True
    )
    db.session.add(endpoint)
    db.session.commit()
    click.echo(f"Endpoint {endpoint.id} ({name}) added; `flask --app lti_tool worker` delivers to it.")


@xapi_endpoint.command("list")
def xapi_endpoint_list() -> None:
    for endpoint in db.session.scalars(select(XapiEndpoint).order_by(XapiEndpoint.id)):
        state = "active" if endpoint.is_active else "inactive"
        click.echo(
            f"{endpoint.id}\t{endpoint.name}\t{endpoint.url}\tplatform={endpoint.platform_id}\t{state}"
        )


@xapi.command("outbox")
def xapi_outbox() -> None:
    """What is pending, delivered or dead-lettered, per external LRS."""
    rows = forwarding.summary(db.session)
    if not rows:
        click.echo("The outbox is empty.")
    for name, status, count, error in rows:
        click.echo(
            f"{name}\t{status}\t{count}"
            + (f"\tlast error: {error}" if error and status != "delivered" else "")
        )


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
