"""The LTI Advantage faces staff see: refreshing the roster (NRPS), the scores sent to the gradebook (AGS),
and a platform administrator's registrations of Socle. The homes are in ``lti_tool.home``."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request
from werkzeug.wrappers import Response

from lti_tool.db import db
from lti_tool.learners import services
from lti_tool.learners.models import Context
from lti_tool.lti import ags, platform_switch, roster
from lti_tool.lti.launches import current_launch, here, require_admin, require_launch
from lti_tool.lti.runtime import runtime

bp = Blueprint("advantage", __name__)


@bp.post("/staff/roster/refresh")
@require_launch(staff=True)
def refresh_roster() -> Response:
    """Read the course roster from the platform now."""
    context = db.session.get(Context, current_launch().context_pk)
    error = roster.refresh(db.session, db.engine, runtime(), context) if context is not None else None
    return redirect(here("home.staff_home", roster_error=error or ""), code=303)


@bp.get("/staff/grades")
@require_launch(staff=True)
def grades() -> str:
    """Scores sent to the platform's gradebook: delivered, waiting (and why) or refused by the platform."""
    return render_template(
        "lti/grades.html", scores=ags.context_scores(db.session, current_launch().context_pk)
    )


@bp.route("/admin/platforms", methods=["GET", "POST"])
@require_launch(staff=True)
def platforms() -> str | Response:
    """A platform administrator sees the issuer's registrations of Socle and switches on or off only the one
    they launched through: the others (another client id of the same issuer) may be another tenant's."""
    launch = current_launch()
    require_admin(launch)
    own = services.platforms_of_issuer(db.session, launch.issuer, include_inactive=True)
    if request.method == "POST":
        target = platform_switch.switch(
            db.session,
            launch,
            own,
            request.form.get("platform"),
            request.form.get("action"),
            confirmed=request.form.get("confirm") == "yes",
        )
        if not target.is_active:
            # This launch is now refused (inactive registration): say it here rather than on the next page.
            return render_template("lti/platforms.html", platforms=own, current=launch.platform_id)
        return redirect(here("advantage.platforms"), code=303)
    return render_template("lti/platforms.html", platforms=own, current=launch.platform_id)
