"""Where a launch lands: the learner home and the staff home."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request
from werkzeug.wrappers import Response

from lti_tool.content.runtime import content
from lti_tool.db import db
from lti_tool.diagnostic import services as diagnostic
from lti_tool.errors import AccessDenied, Message, refused
from lti_tool.learners import services
from lti_tool.learners.models import Context, Deployment, Platform
from lti_tool.lti import ags, nrps, placements
from lti_tool.lti.launches import current_launch, require_launch
from lti_tool.lti.platform_services import PlatformServices, ServiceError
from lti_tool.lti.runtime import runtime
from lti_tool.scope import Scope
from lti_tool.training import live_sessions, progress
from lti_tool.training.blueprint import here

bp = Blueprint("learners", __name__)


class AdminOnly(AccessDenied):
    code = "admin_only"
    what = Message(
        "Cette page est réservée aux administrateurs de la plateforme.",
        "This page is for platform administrators.",
    )
    todo = Message("Lancez Socle avec un rôle d'administrateur.", "Launch Socle with an administrator role.")


# A staff launch refreshes the roster from the platform when it is older than this.
ROSTER_MAX_AGE_SECONDS = 600


@bp.get("/learner/")
@require_launch()
def learner_home() -> str:
    """What the course offers the learner who launched."""
    launch = current_launch()
    scope = Scope.of_launch(launch)
    runs = [r for r in diagnostic.runs(db.session, scope) if r.status == "submitted"]
    sessions = live_sessions.sessions_of_context(db.session, launch.context_pk)
    attended = live_sessions.attendance_of_learner(
        db.session, launch.learner_id, [live.id for live in sessions]
    )
    # What the teachers placed in the course; every module only when they chose the whole path.
    offered = placements.offered(db.session, launch.context_pk, [m.id for m in content().modules])
    return render_template(
        "learners/learner_home.html",
        launch=launch,
        modules=[m for m in content().modules if m.id in offered],
        offers_diagnostic="autodiagnostic" in offered,
        progress_by_module=progress.progress_by_module(db.session, scope),
        formats={f.code: f for f in content().programme.activity_formats},
        last_run=runs[0] if runs else None,
        sessions=sessions,
        attended=attended,
        recommended=set(diagnostic.recommended_modules(db.session, scope)),
    )


@bp.get("/staff/")
@require_launch(staff=True)
def staff_home() -> str:
    """The course as its trainers see it: the roster (from the platform when it offers it), with roles."""
    launch = current_launch()
    roster_error = None
    context = db.session.get(Context, launch.context_pk)
    if context is not None and context.memberships_url and nrps.roster_stale(context, ROSTER_MAX_AGE_SECONDS):
        roster_error = _sync_roster(context)
    roster = services.context_roster(db.session, launch.context_pk)
    return render_template(
        "learners/staff_home.html", launch=launch, roster=roster, roster_error=roster_error, context=context
    )


@bp.post("/staff/roster/refresh")
@require_launch(staff=True)
def refresh_roster() -> Response:
    """Read the course roster from the platform now."""
    context = db.session.get(Context, current_launch().context_pk)
    error = _sync_roster(context) if context is not None else None
    return redirect(here("learners.staff_home", roster_error=error or ""), code=303)


def _sync_roster(context: Context) -> str | None:
    """Sync, committing on success; on failure keep what is known and say why (never a 500)."""
    platform = db.session.get(Platform, context.platform_id)
    deployment = db.session.get(Deployment, context.deployment_pk)
    if platform is None or deployment is None:
        return None
    lti = runtime()
    try:
        nrps.sync_roster(
            db.session, PlatformServices(platform, lti.keys, lti.http, db.engine), context, deployment
        )
        db.session.commit()
        return None
    except ServiceError as error:
        db.session.rollback()
        return str(error)


@bp.get("/staff/grades")
@require_launch(staff=True)
def grades() -> str:
    """Scores sent to the platform's gradebook: delivered, waiting (and why) or refused by the platform."""
    return render_template(
        "learners/grades.html", scores=ags.context_scores(db.session, current_launch().context_pk)
    )


@bp.route("/admin/platforms", methods=["GET", "POST"])
@require_launch(staff=True)
def platforms() -> str | Response:
    """A platform administrator sees the issuer's registrations of Socle and switches on or off only the one
    they launched through: the others (another client id of the same issuer) may be another tenant's."""
    launch = current_launch()
    if not launch.is_admin:
        raise AdminOnly()
    own = [p for p in services.platforms_of_issuer(db.session, launch.issuer, include_inactive=True)]
    if request.method == "POST":
        target = next((p for p in own if str(p.id) == request.form.get("platform")), None)
        if target is None or request.form.get("action") not in ("activate", "deactivate"):
            raise refused(
                "unknown_platform",
                "Cette inscription n'existe pas pour votre plateforme.",
                "This registration does not exist for your platform.",
            )
        if target.id != launch.platform_id:
            raise AccessDenied(
                Message(
                    "Vous ne pouvez activer ou désactiver que l'inscription par laquelle vous avez lancé "
                    "Socle.",
                    "You can switch on or off only the registration you launched Socle through.",
                ),
                Message(
                    "Lancez Socle depuis cette inscription-là, ou demandez-le à l'exploitant de Socle.",
                    "Launch Socle through that registration, or ask the Socle operator.",
                ),
                code="other_registration",
            )
        if request.form["action"] == "deactivate" and request.form.get("confirm") != "yes":
            raise refused(
                "own_registration",
                "Désactiver l'inscription par laquelle vous êtes connecté·e met fin à votre session et aux "
                "lancements depuis cette inscription ; seul l'exploitant de Socle pourra la réactiver.",
                "Deactivating the registration you are signed in through ends your session and every launch "
                "through it; only the Socle operator can switch it on again.",
            )
        target.is_active = request.form["action"] == "activate"
        db.session.commit()
        if not target.is_active:
            # This launch is now refused (inactive registration): say it here rather than on the next page.
            return render_template("learners/platforms.html", platforms=own, current=launch.platform_id)
        return redirect(here("learners.platforms"), code=303)
    return render_template("learners/platforms.html", platforms=own, current=launch.platform_id)
