"""Credentials inside a launch: the holder's switch to share their evidence file, an administrator's
revocation, the announcement of what was just earned, and what the credentials table of the competences and
dashboard pages reads (``credentials_of``, ``achievement_name``, ``credential_urls``). Competences know
nothing of credentials: their pages show that table when this blueprint is registered, and these actions
return to them."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, request
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.wrappers import Response

from lti_tool.certificates import issuing
from lti_tool.certificates.identity import urls
from lti_tool.certificates.models import Credential
from lti_tool.content.runtime import content
from lti_tool.db import db, utcnow
from lti_tool.errors import Message, not_found, refused
from lti_tool.lti.launches import current_launch, here, loaded_launch, require_admin, require_launch

bp = Blueprint("credentials", __name__)

ADMIN_ONLY = Message(
    "Seul un administrateur peut révoquer un certificat.", "Only an administrator can revoke a credential."
)


def credentials_of(learner_id: int | None, context_pk: int) -> list[Credential]:
    """The credentials issued in a course, to one learner or (``None``) to all, oldest first."""
    query = select(Credential).where(Credential.context_pk == context_pk)
    if learner_id is not None:
        query = query.where(Credential.learner_id == learner_id)
    return list(db.session.scalars(query.order_by(Credential.issued_at, Credential.achievement)))


def achievement_names() -> dict[str, str]:
    """The French label of every achievement code: a bloc, or a track's certificate."""
    programme = content().programme
    return {b.code: f"Bloc {b.code} — {b.name.fr}" for b in programme.blocs} | {
        issuing.CERTIFICATE + t.code: f"Certificat d'aptitude — {t.name.fr}" for t in programme.tracks
    }


@bp.app_context_processor
def credentials_table() -> dict[str, Any]:
    """What ``certificates/_credentials.html`` reads, on any page (functions: nothing is computed unless a
    page shows the table)."""

    def launch_credentials(learner_id: int | None) -> list[Credential]:
        return credentials_of(learner_id, current_launch().context_pk)

    names: dict[str, str] = {}

    def achievement_name(code: str) -> str:
        if not names:
            names.update(achievement_names())
        return names.get(code, code)

    return {
        "credentials_of": launch_credentials,
        "achievement_name": achievement_name,
        "credential_urls": urls,
    }


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


@bp.post("/staff/credentials/<credential_id>/revoke")
@require_launch(staff=True)
def revoke(credential_id: str) -> Response:
    """An administrator revokes a credential of their course, with a reason."""
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
