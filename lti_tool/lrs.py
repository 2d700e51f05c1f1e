"""The LRS (``xapi.api.LrsApi``, werkzeug only) mounted in Socle at ``/xapi/…``, and its command group
(``xapi.cli``, click only) under ``flask --app lti_tool xapi``.

Each of its resources becomes a rule of the app's URL map (the ``xapi`` blueprint: the route fuzzer walks
them, Flask answers an unknown path or method with Socle's JSON error as for any other route); the view
hands Flask's request, a werkzeug request, to ``LrsApi.dispatch`` inside the app context, so the request's
database session, its one commit point (``lti_tool.db``), the security headers and the error handlers work
as for every other view.
"""

from __future__ import annotations

from typing import Any

import click
from flask import Blueprint, Flask, request
from flask.cli import with_appcontext
from werkzeug.wrappers import Response

from lti_tool.db import db
from lti_tool.learners import services as learners_services
from lti_tool.lti.cli import platforms_named
from xapi import cli as xapi_cli
from xapi.api import LrsApi


def init_app(app: Flask) -> LrsApi:
    lrs = LrsApi(
        lambda: db.session,
        db.session.commit,
        lambda: learners_services.platform_issuers(db.session),
        app.config["BASE_URL"],
    )
    bp = Blueprint("xapi", __name__)

    def view(**_: Any) -> Response:
        return lrs.dispatch(request)

    for rule in lrs.url_map.iter_rules():
        # OPTIONS is among the rule's methods and answered by the LRS, after its version and client checks.
        bp.add_url_rule(
            rule.rule,
            endpoint=rule.endpoint,
            view_func=view,
            methods=sorted(rule.methods or ()),
            provide_automatic_options=False,
        )

    @bp.after_request
    def api_headers(response: Response) -> Response:
        # An answer that is not the LRS's own (Socle's 413 or 500 page) still carries the xAPI headers.
        if "X-Experience-API-Version" not in response.headers:
            lrs.finish(request, response)
        return response

    app.register_blueprint(bp)
    return lrs


def cli() -> click.Group:
    """The ``xapi`` commands, each run inside the app context (as a Flask ``AppGroup`` runs its commands),
    where ``db.session`` works; ``--platform`` names registrations as the ``platform`` commands do."""
    group = xapi_cli.create_cli(lambda: db.session, lambda spec: [p.id for p in platforms_named(spec)])
    _with_appcontext(group)
    return group


def _with_appcontext(command: click.Command) -> None:
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _with_appcontext(sub)
    elif command.callback is not None:
        command.callback = with_appcontext(command.callback)
