"""Privacy pages for a platform administrator: find a person of their registration, download everything
Socle holds about them (JSON), erase them after a confirmation. Every id in a URL is checked against the
launch's registration (404 otherwise, as if it did not exist)."""

from __future__ import annotations

import json

from flask import Blueprint, Response, redirect, render_template, request
from werkzeug.wrappers import Response as BaseResponse

from lti_tool.content.runtime import content
from lti_tool.dashboard.scope import StaffScope
from lti_tool.db import db
from lti_tool.errors import Message
from lti_tool.learners.models import Learner
from lti_tool.lti.launches import current_launch, here, require_admin, require_launch
from lti_tool.privacy import access, erasure, persons

bp = Blueprint("privacy", __name__, url_prefix="/admin/privacy")


ADMIN_ONLY = Message(
    "Seul un administrateur de la plateforme peut exporter ou effacer les données d'une personne.",
    "Only a platform administrator can export or erase a person's data.",
)


class OwnAccount(persons.OwnAccount):
    what = Message(
        "Vous ne pouvez pas effacer votre propre compte depuis votre session.",
        "You cannot erase your own account from your own session.",
    )
    todo = Message(
        "Demandez-le à un autre administrateur ou à l'exploitant de Socle.",
        "Ask another administrator or the Socle operator.",
    )


def _scope() -> StaffScope:
    launch = current_launch()
    require_admin(launch, ADMIN_ONLY)
    return StaffScope.of_launch(launch)


def _person(learner_id: int) -> Learner:
    """The person named in the URL: enrolled in this registration, and only in it."""
    scope = _scope()
    person = persons.learner_of_registration(db.session, scope, learner_id)
    persons.only_in(db.session, person, scope.platform_id)
    return person


@bp.get("/")
@require_launch(staff=True)
def index() -> str:
    """The people of this course, or those of the registration matching a search."""
    scope = _scope()
    query = request.args.get("q", "").strip()[:100]
    rows = persons.people(db.session, scope, current_launch().context_pk, query or None)
    return render_template(
        "privacy/index.html",
        rows=rows,
        query=query,
        launch_id=current_launch().launch_id,
        own_id=current_launch().learner_id,
        here=here,
    )


@bp.get("/learners/<int:learner_id>/export.json")
@require_launch(staff=True)
def export(learner_id: int) -> Response:
    """Everything Socle holds about the person, as a JSON file."""
    person = _person(learner_id)
    data = access.export_learner(db.session, person.id)
    response = Response(json.dumps(data, ensure_ascii=False, indent=2), mimetype="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="socle-donnees-{person.id}.json"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/learners/<int:learner_id>/erase", methods=["GET", "POST"])
@require_launch(staff=True)
def erase(learner_id: int) -> BaseResponse | tuple[str, int]:
    """What erasing the person removes, and the erasure itself once their name (or EFFACER) is typed."""
    launch = current_launch()
    person = _person(learner_id)
    if person.id == launch.learner_id:
        raise OwnAccount()
    mismatch = False
    if request.method == "POST":
        if persons.confirms(person, request.form.get("confirm", "")):
            report = erasure.erase_learner(
                db.session, person.id, f"administrateur (LTI sub {launch.sub})", content=content()
            )
            return redirect(
                here(
                    "privacy.index",
                    done="erased",
                    rows=report.rows,
                    statements=report.statements,
                    credentials=len(report.credentials_revoked),
                    lrs=report.forwarded_to,
                ),
                code=303,
            )
        mismatch = True
    page = render_template(
        "privacy/erase.html",
        person=person,
        name=person.formal_name,
        word=persons.CONFIRM_WORD,
        preview=erasure.erasure_preview(db.session, person),
        credentials=erasure.credentials_of(db.session, person),
        mismatch=mismatch,
        here=here,
    )
    return page, 400 if mismatch else 200
