"""The ``xapi`` command group (``flask --app lti_tool xapi …`` in Socle): Statement API clients, external
LRSs, the forwarding outbox. Plain click: the host attaches the group to its own command line.

Like ``api.LrsApi``, the host application hands in what only it knows: its database session and how an
operator's ``--platform`` names its registrations, and it runs the commands where that session works (Socle:
inside the app context). The host commits nothing for these commands: each one that writes commits once,
at its end.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

import click
from sqlalchemy import select

from xapi import api, forwarding
from xapi.models import Client, Endpoint


def create_cli(session: Callable[[], Any], platform_ids: Callable[[str], list[int]]) -> click.Group:
    """The ``xapi`` command group. ``session()`` is the host's session; ``platform_ids(spec)`` the ids of
    the registrations ``spec`` names (it raises ``click.BadParameter`` when it names none)."""

    @click.group()
    def xapi() -> None:
        """xAPI: Statement API clients, external LRSs, the forwarding outbox."""

    @xapi.group("client")
    def xapi_client() -> None:
        """Credentials for the Statement API (HTTP Basic)."""

    @xapi_client.command("add")
    @click.option("--name", required=True, help="Who uses it (e.g. the university's analytics).")
    @click.option(
        "--scope",
        "scopes",
        multiple=True,
        required=True,
        type=click.Choice(api.ALL_SCOPES),
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
        ids = sorted({pk for spec in platforms for pk in platform_ids(spec)})
        key, secret = secrets.token_hex(12), secrets.token_urlsafe(32)
        db = session()
        db.add(
            Client(
                name=name,
                key=key,
                secret_hash=api.hash_secret(secret),
                scopes=list(scopes),
                platform_ids=ids,
                is_active=True,
            )
        )
        db.commit()
        click.echo(f"Client {name!r} created with scopes {', '.join(scopes)}; platforms {ids or 'none'}.")
        click.echo("Keep the secret now: it is shown only once.")
        click.echo(f"{key}:{secret}")

    @xapi_client.command("list")
    def xapi_client_list() -> None:
        """List clients (never their secrets)."""
        for client in session().scalars(select(Client).order_by(Client.id)):
            state = "active" if client.is_active else "inactive"
            click.echo(
                f"{client.key}\t{client.name}\t{','.join(client.scopes)}\tplatforms={client.platform_ids}"
                f"\t{state}"
            )

    @xapi.group("endpoint")
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
        platform_id = platform_ids(platform)[0] if platform else None
        endpoint = Endpoint(
            name=name, url=url, username=username, password=password, platform_id=platform_id, is_active=True
        )
        db = session()
        db.add(endpoint)
        db.commit()
        click.echo(f"Endpoint {endpoint.id} ({name}) added; `flask --app lti_tool worker` delivers to it.")

    @xapi_endpoint.command("list")
    def xapi_endpoint_list() -> None:
        for endpoint in session().scalars(select(Endpoint).order_by(Endpoint.id)):
            state = "active" if endpoint.is_active else "inactive"
            click.echo(
                f"{endpoint.id}\t{endpoint.name}\t{endpoint.url}\tplatform={endpoint.platform_id}\t{state}"
            )

    @xapi.command("outbox")
    def xapi_outbox() -> None:
        """What is pending, delivered or dead-lettered, per external LRS."""
        rows = forwarding.summary(session())
        if not rows:
            click.echo("The outbox is empty.")
        for name, status, count, error in rows:
            click.echo(
                f"{name}\t{status}\t{count}"
                + (f"\tlast error: {error}" if error and status != "delivered" else "")
            )

    return xapi
