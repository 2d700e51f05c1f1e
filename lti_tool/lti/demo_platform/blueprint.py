"""The demo platform's pages and endpoints, under ``/demo`` (registered only when DEMO_PLATFORM is on)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, Response, abort, current_app, jsonify, redirect, render_template, request

from lti_tool.keys import KeyStore
from lti_tool.learners.services import PlatformSpec
from lti_tool.lti.demo_platform.platform import (
    CLIENT_ID,
    COURSE,
    DEPLOYMENT_ID,
    USERS,
    DemoAuthError,
    DemoPlatform,
    DemoTool,
)
from lti_tool.lti.urls import ToolUrls

bp = Blueprint("demo", __name__, url_prefix="/demo")


def build_platform(app: Flask) -> DemoPlatform:
    """The demo platform for this app: it knows Socle itself, plus any DEMO_EXTRA_TOOLS."""
    urls = ToolUrls(app.config["BASE_URL"])
    tools = [
        DemoTool(
            client_id=CLIENT_ID,
            deployment_id=DEPLOYMENT_ID,
            login_url=urls.login,
            redirect_uris=[urls.launch],
            target_link_uri=urls.launch,
        )
    ]
    for extra in app.config.get("DEMO_EXTRA_TOOLS") or []:
        tools.append(
            DemoTool(
                client_id=extra["client_id"],
                deployment_id=extra["deployment_id"],
                login_url=extra["login_url"],
                redirect_uris=list(extra["redirect_uris"]),
                target_link_uri=extra["target_link_uri"],
            )
        )
    keys = KeyStore(Path(app.instance_path) / "demo_platform_keys")
    return DemoPlatform(base_url=app.config["BASE_URL"] + "/demo", keys=keys, tools=tools)


def registration_spec(platform: DemoPlatform) -> PlatformSpec:
    """How Socle registers the demo platform (what `flask setup` writes to the database)."""
    return PlatformSpec(
        issuer=platform.issuer,
        client_id=CLIENT_ID,
        auth_login_url=platform.auth_url,
        auth_token_url=platform.token_url,
        key_set_url=platform.jwks_url,
        deployment_ids=[DEPLOYMENT_ID],
        name="Plateforme de démonstration",
        source="demo",
    )


def init_app(app: Flask) -> None:
    app.extensions["socle_demo_platform"] = build_platform(app)
    app.register_blueprint(bp)


def demo() -> DemoPlatform:
    platform: DemoPlatform = current_app.extensions["socle_demo_platform"]
    return platform


@bp.get("/")
def index() -> str:
    """The demo platform's front page: one course, three people to launch as."""
    return render_template("demo/index.html", course=COURSE, users=USERS.values())


@bp.get("/course")
def course() -> str:
    """The course page, with Socle embedded in an iframe as an LMS would show it."""
    user = USERS.get(request.args.get("as", "learner"))
    if user is None:
        abort(404)
    return render_template("demo/course.html", course=COURSE, user=user, users=USERS.values())


@bp.get("/start")
def start() -> Response:
    """The platform starts a launch: third-party initiated login at the tool."""
    user = USERS.get(request.args.get("as", "learner"))
    tool = demo().tool(request.args.get("client_id", CLIENT_ID))
    if user is None or tool is None:
        abort(404)
    return redirect(demo().login_initiation_url(tool, user))  # type: ignore[return-value]


@bp.route("/auth", methods=["GET", "POST"])
def auth() -> Any:
    """OIDC authorization endpoint: answer with an auto-submitted form carrying the signed id_token."""
    params = request.values.to_dict()
    try:
        redirect_uri, fields = demo().authorize(params)
    except DemoAuthError as error:
        return render_template("demo/auth_error.html", error=error), 400
    return render_template("demo/autopost.html", action=redirect_uri, fields=fields)


@bp.get("/jwks")
def jwks() -> Response:
    """The demo platform's public keys."""
    return jsonify(demo().keys.public_jwks())
