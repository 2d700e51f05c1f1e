"""Where people arrive: ``/``, what Socle is, and a way in through the demo platform; after a launch, the
learner home (``/learner/``) and the staff home (``/staff/``); ``/health`` for operators."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, render_template, send_from_directory
from sqlalchemy import text

from lti_tool.content.runtime import content
from lti_tool.db import db
from lti_tool.diagnostic import services as diagnostic
from lti_tool.keys import KeyStoreError
from lti_tool.learners import services as learners
from lti_tool.learners.models import Context
from lti_tool.lti import placements, roster
from lti_tool.lti.launches import current_launch, require_launch
from lti_tool.lti.runtime import runtime
from lti_tool.scope import Scope
from lti_tool.training import live_sessions, progress

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


@bp.get("/learner/")
@require_launch()
def learner_home() -> str:
    """What the course offers the learner who launched."""
    launch = current_launch()
    scope = Scope.of_launch(launch)
    all_runs = diagnostic.runs(db.session, scope)
    runs = [r for r in all_runs if r.status == "submitted"]
    sessions = live_sessions.sessions_of_context(db.session, launch.context_pk)
    attended = live_sessions.attendance_of_learner(
        db.session, launch.learner_id, [live.id for live in sessions]
    )
    # What the teachers placed in the course; every module only when they chose the whole path.
    offered = placements.offered(db.session, launch.context_pk, [m.id for m in content().modules])
    return render_template(
        "home/learner.html",
        launch=launch,
        modules=[m for m in content().modules if m.id in offered],
        offers_diagnostic="autodiagnostic" in offered,
        progress_by_module=progress.progress_by_module(db.session, scope),
        formats={f.code: f for f in content().programme.activity_formats},
        last_run=runs[0] if runs else None,
        # A level said by its name beside its code (« L2 : Appropriation »), never by its code alone.
        level_names={
            lvl.code: lvl.label
            for lvl in [*content().diagnostic.scoring.levels, *content().diagnostic.practice.levels]
        },
        sessions=sessions,
        attended=attended,
        recommended=set(diagnostic.recommended_by(all_runs)),
    )


@bp.get("/staff/")
@require_launch(staff=True)
def staff_home() -> str:
    """The course as its trainers see it: the roster (from the platform when it offers it), with roles."""
    launch = current_launch()
    context = db.session.get(Context, launch.context_pk)
    roster_error = (
        roster.refresh_if_stale(db.session, db.engine, runtime(), context) if context is not None else None
    )
    return render_template(
        "home/staff.html",
        launch=launch,
        roster=learners.context_roster(db.session, launch.context_pk),
        roster_error=roster_error,
        context=context,
    )
