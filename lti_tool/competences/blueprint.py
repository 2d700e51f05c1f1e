"""Competences pages: the learner's "mes compétences" and the facilitators' reviews, recognitions and
revocations. Every id in a URL is checked against the launch's course context."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.wrappers import Response

from lti_tool.certificates import issuing
from lti_tool.certificates.models import Credential
from lti_tool.competences import services
from lti_tool.content.runtime import content
from lti_tool.db import db, utcnow
from lti_tool.errors import InvalidInput, Message, not_found, refused
from lti_tool.learners.services import enrolled_learner
from lti_tool.lti.launches import current_launch, here, loaded_launch, require_admin, require_launch
from lti_tool.scope import Scope
from lti_tool.training import facilitation, rubrics

bp = Blueprint("competences", __name__)


ADMIN_ONLY = Message(
    "Seul un administrateur peut révoquer un certificat.", "Only an administrator can revoke a credential."
)


@bp.app_context_processor
def earned_announcements() -> dict[str, Any]:
    """``earned()`` for every page: what this learner was issued since their last page, said once."""

    def earned() -> list[dict[str, str]]:
        launch = loaded_launch()
        if launch is None or request.endpoint is None or request.method != "GET":
            return []
        fresh = issuing.announce(db.session, launch.learner_id, launch.context_pk, utcnow())
        if not fresh:
            return []
        # Told is recorded with the page that tells it, committed with it: a failed page tells again.
        english = get_locale() is not None and get_locale().language == "en"
        programme = content().programme
        names = {b.code: (b.code, b.name.en if english else b.name.fr) for b in programme.blocs} | {
            issuing.CERTIFICATE + t.code: ("", t.name.en if english else t.name.fr) for t in programme.tracks
        }
        said = []
        for credential in fresh:
            code, name = names.get(credential.achievement, (credential.achievement, ""))
            if credential.achievement.startswith(issuing.CERTIFICATE):
                text = _("Vous avez obtenu le certificat d'aptitude « %(name)s ».", name=name)
            else:
                text = _("Vous avez validé le bloc %(code)s « %(name)s ».", code=code, name=name)
            said.append({"text": text, "id": credential.id})
        return said

    return {"earned": earned}


@bp.context_processor
def names() -> dict[str, Any]:
    """Labels the competences templates share."""
    programme = content().programme
    achievements = {b.code: f"Bloc {b.code} — {b.name.fr}" for b in programme.blocs} | {
        issuing.CERTIFICATE + t.code: f"Certificat d'aptitude — {t.name.fr}" for t in programme.tracks
    }
    # Not current_launch(): this also runs while the error page of a refused request renders, where asking
    # for the launch again would raise again and turn a clear 401/403 into a 500.
    launch = loaded_launch()
    return {
        "track_names": {t.code: t.name.fr for t in programme.tracks},
        "evidence_labels": {
            "quiz": _("Quiz"),
            "completed": _("Module terminé"),
            "attended": _("Séance suivie"),
            "accepted": _("Livrable accepté"),
            "assessed": _("Production évaluée"),
            "waived": _("Acquis reconnus"),
        },
        "achievement_names": achievements,
        "launch_is_admin": launch is not None and launch.is_admin,
    }


def credentials_of(learner_id: int | None, context_pk: int) -> list[Credential]:
    query = select(Credential).where(Credential.context_pk == context_pk)
    if learner_id is not None:
        query = query.where(Credential.learner_id == learner_id)
    return list(db.session.scalars(query.order_by(Credential.issued_at, Credential.achievement)))


@bp.get("/competences/")
@require_launch()
def mine() -> str:
    """Mes compétences: progress per competence, what is still missing, and the credentials earned."""
    launch = current_launch()
    return render_template(
        "competences/mine.html",
        overview=services.overview(db.session, launch.learner_id, launch.context_pk, content()),
        credentials=credentials_of(launch.learner_id, launch.context_pk),
        urls=issuing.urls(),
        here=here,
    )


@bp.post("/competences/credentials/<credential_id>/share")
@require_launch()
def share_evidence(credential_id: str) -> Response:
    """The holder's switch: share their evidence file with anyone who has the verification link, or not."""
    launch = current_launch()
    credential = issuing.get(db.session, credential_id)
    if credential.learner_id != launch.learner_id or credential.context_pk != launch.context_pk:
        raise not_found("Ce certificat", "This credential")
    shared = request.form.get("shared")
    if shared not in ("0", "1"):
        raise refused("bad_choice", "Choisissez de partager ou non.", "Choose to share or not.")
    issuing.share_evidence(db.session, credential, shared == "1")
    done = "shared" if shared == "1" else "unshared"
    return redirect(here("competences.mine", done=done), code=303)


@bp.get("/staff/competences/")
@require_launch(staff=True)
def staff() -> str:
    """Deliverables to review, learners (to recognise prior learning) and the credentials of the course."""
    return _staff_page()


def _staff_page(
    form_error: InvalidInput | None = None,
    failed_id: int | None = None,
    kept: dict[str, list[str]] | None = None,
) -> str:
    """The review page; after a refused decision, that card's form keeps what was typed, with the message."""
    launch = current_launch()
    learners = facilitation.context_learners(db.session, launch.context_pk)
    return render_template(
        "competences/staff.html",
        deliverables=services.deliverables_to_review(db.session, launch.context_pk),
        learners=learners,
        names={learner.id: learner for learner in learners},
        credentials=credentials_of(None, launch.context_pk),
        urls=issuing.urls(),
        modules={m.id: m for m in content().modules},
        form_error=form_error,
        failed_id=failed_id,
        kept=kept or {},
        here=here,
    )


@bp.post("/staff/deliverables/<int:deliverable_id>/review")
@require_launch(staff=True)
def review(deliverable_id: int) -> Response | tuple[str, int]:
    """A facilitator's decision on a deliverable, or their assessment of a production on its grid."""
    decision = request.form.get("decision")
    if decision not in ("accept", "return", "assess"):
        raise refused("bad_decision", "Choisissez accepter ou renvoyer.", "Choose accept or return.")
    levels = None
    if decision == "assess":
        rubric = services.rubric_of(db.session, deliverable_id, current_launch().context_pk, content())
        if rubric is None:
            raise refused(
                "no_rubric",
                "Ce livrable n'a pas de grille : acceptez-le ou renvoyez-le.",
                "This deliverable has no grid: accept or return it.",
            )
        levels = rubrics.parse_levels(rubric, request.form.to_dict(flat=False))
    try:
        services.review_deliverable(
            db.session,
            Scope.of_launch(current_launch()),
            deliverable_id,
            decision == "accept",
            request.form.get("comment", ""),
            content(),
            levels,
        )
    except InvalidInput as error:
        if error.code != "comment_required":
            raise
        # « Renvoyer » without a comment: the page comes back with the levels chosen and the message there.
        db.session.rollback()
        return _staff_page(error, deliverable_id, request.form.to_dict(flat=False)), error.status
    return redirect(here("competences.staff", done="review"), code=303)


@bp.get("/staff/learners/<int:learner_id>/competences")
@require_launch(staff=True)
def learner(learner_id: int) -> str:
    launch = current_launch()
    person = enrolled_learner(db.session, learner_id, launch.context_pk)
    return render_template(
        "competences/learner.html",
        person=person,
        overview=services.overview(db.session, person.id, launch.context_pk, content()),
        credentials=credentials_of(person.id, launch.context_pk),
        modules=content().modules,
        urls=issuing.urls(),
        here=here,
    )


@bp.post("/staff/learners/<int:learner_id>/prior-learning")
@require_launch(staff=True)
def prior_learning(learner_id: int) -> Response:
    launch = current_launch()
    person = enrolled_learner(db.session, learner_id, launch.context_pk)
    module = content().module(request.form.get("module", ""))
    if module is None:
        raise refused("unknown_module", "Choisissez un module de la liste.", "Pick a module from the list.")
    services.recognise_prior_learning(
        db.session, Scope.of_launch(launch), person.id, module, request.form.get("reason", ""), content()
    )
    return redirect(here("competences.learner", learner_id=person.id, done="recognised"), code=303)


@bp.post("/staff/credentials/<credential_id>/revoke")
@require_launch(staff=True)
def revoke(credential_id: str) -> Response:
    launch = current_launch()
    require_admin(launch, ADMIN_ONLY)
    credential = issuing.get(db.session, credential_id)
    if credential.context_pk != launch.context_pk:
        raise not_found("Ce certificat", "This credential")
    issuing.revoke(
        db.session,
        credential.id,
        request.form.get("reason", ""),
        f"administrateur (LTI sub {launch.sub})",
        content(),
    )
    return redirect(here("competences.staff", done="revoked"), code=303)
