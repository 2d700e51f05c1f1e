"""LTI 1.3 routes: ``/lti/login``, ``/lti/launch``, ``/lti/jwks``."""

from __future__ import annotations

import secrets
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, make_response, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from lti_tool import events
from lti_tool.content.runtime import content
from lti_tool.db import db
from lti_tool.errors import Message, PlatformError
from lti_tool.lti.context import LaunchContext
from lti_tool.lti.launch import StrictMessageLaunch
from lti_tool.lti.launches import BROWSER_COOKIE
from lti_tool.lti.login import StrictOIDCLogin
from lti_tool.lti.runtime import runtime
from lti_tool.lti.services import record_launch

bp = Blueprint("lti", __name__, url_prefix="/lti")

BROWSER_COOKIE_MAX_AGE = 400 * 24 * 3600


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response:
    """OIDC login initiation: check the platform's request and send the browser to its authorization."""
    lti = runtime()
    response = StrictOIDCLogin(db.session, lti.keys, lti.urls, lti.login_ttl_seconds).start()
    db.session.commit()
    return response


@bp.post("/launch")
def launch() -> BaseResponse:
    """Validate the id_token strictly, record the launch, and send the person to their home."""
    if request.form.get("error") and not request.form.get("id_token"):
        raise PlatformError(
            Message(
                "La plateforme a refusé la connexion : "
                + request.form.get("error_description", request.form["error"])[:500],
                "The platform refused the login: "
                + request.form.get("error_description", request.form["error"])[:500],
            ),
            Message(
                "Relancez l'activité ; si cela persiste, signalez ce message à l'administrateur "
                "de la plateforme.",
                "Launch again; if it persists, report this message to the platform administrator.",
            ),
            code="platform_error:" + request.form["error"][:64],
        )
    lti = runtime()
    validated = StrictMessageLaunch(
        db.session, db.engine, lti.keys, lti.http, lti.settings
    ).validate_strictly()
    browser_id = request.cookies.get(BROWSER_COOKIE) or secrets.token_urlsafe(24)
    context = record_launch(db.session, validated, browser_id=browser_id, ttl_seconds=lti.launch_ttl_seconds)
    endpoint, values = landing(context)
    events.record_event(
        db.session,
        events.Scope.of_launch(context),
        events.LAUNCHED,
        content_version=content().version,
        module=content().module(values["key"]) if "key" in values else None,
        payload={"activity": "diagnostic" if endpoint.startswith("diagnostic.") else endpoint.split(".")[0]},
    )
    db.session.commit()
    # Render the landing page in this response (no redirect round trip); the page then replaces its
    # address with the GET URL of the same page, so a reload never re-posts the one-time token.
    g.launch = context
    g.page_url = url_for(endpoint, launch=context.launch_id, **values)
    response = make_response(current_app.view_functions[endpoint](**values))
    response.headers["Cache-Control"] = "no-store"
    secure = request.is_secure
    response.set_cookie(
        BROWSER_COOKIE,
        browser_id,
        max_age=BROWSER_COOKIE_MAX_AGE,
        secure=secure,
        httponly=True,
        samesite="None" if secure else "Lax",
    )
    return response


def landing(context: LaunchContext) -> tuple[str, dict[str, Any]]:
    """Where a launch lands: the content its resource link names (custom ``module`` or ``activity``),
    else the learner's or the staff home."""
    module = content().module(context.custom.get("module", "")) if context.custom.get("module") else None
    if module is not None:
        return "training.module", {"key": module.slug}
    if context.custom.get("activity") in ("autodiagnostic", "diagnostic"):
        return "diagnostic.index", {}
    return ("learners.staff_home" if context.is_staff else "learners.learner_home"), {}


@bp.get("/jwks")
def jwks() -> Response:
    """The tool's public keys: the active one and those kept published after a rotation."""
    response = jsonify(runtime().keys.public_jwks())
    response.cache_control.public = True
    response.cache_control.max_age = 300
    return response
