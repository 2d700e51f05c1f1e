"""``/``: what Socle is, and a way in through the demo platform; ``/health`` for operators."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, render_template, send_from_directory
from sqlalchemy import text

from lti_tool.db import db
from lti_tool.keys import KeyStoreError
from lti_tool.lti.runtime import runtime

bp = Blueprint("home", __name__)


@bp.get("/")
def index() -> str:
    """Front page."""
    return render_template(
        "home.html", demo_enabled=bool(current_app.config.get("DEMO_PLATFORM")), urls=runtime().urls
    )


@bp.get("/favicon.ico")
def favicon() -> Response:
    """The icon browsers ask for at the root (a 404 in every log otherwise)."""
    assert current_app.static_folder is not None
    return send_from_directory(
        current_app.static_folder, "favicon.ico", mimetype="image/vnd.microsoft.icon", max_age=86400
    )


@bp.get("/health")
def health() -> tuple[Response, int]:
    """Database reachable and signing keys loaded: 200, else 503 saying which."""
    checks: dict[str, str] = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as error:  # a health check reports, it does not raise
        checks["database"] = f"unreachable ({type(error).__name__})"
    finally:
        db.session.rollback()
    try:
        checks["keys"] = "ok" if runtime().keys.active().kid else "missing"
    except (KeyStoreError, OSError, ValueError) as error:
        checks["keys"] = f"missing ({type(error).__name__}): run `flask --app lti_tool setup`"
    healthy = all(value == "ok" for value in checks.values())
    return jsonify(status="ok" if healthy else "unhealthy", **checks), 200 if healthy else 503
