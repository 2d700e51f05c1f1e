"""Public pages of what Socle certifies, no launch needed: the competence framework and the criteria of each
badge (``/achievements…``), and hosted Open Badges 2.0 (``/ob2…``) for Moodle backpacks."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, render_template, request
from markdown_it import MarkdownIt
from markupsafe import Markup
from werkzeug.wrappers import Response

from lti_tool.certificates import achievements, issuing, ob2, verification
from lti_tool.certificates.blueprint import json_response, no_index
from lti_tool.certificates.documents import badge_png
from lti_tool.competences.services import rules_of
from lti_tool.content.runtime import content
from lti_tool.db import db
from lti_tool.errors import NotFound

bp = Blueprint("achievements", __name__)

_markdown = MarkdownIt("commonmark", {"html": False})


@bp.get("/achievements/framework")
def framework() -> str:
    """The competence framework: competences, blocs, tracks and the mastery rules in force."""
    loaded = content()
    return render_template(
        "certificates/framework.html",
        programme=loaded.programme,
        rules=rules_of(loaded),
        blocs_of=achievements.blocs_of_competences(loaded),
    )


@bp.get("/achievements/<code>")
def achievement(code: str) -> Response | str:
    """The criteria of a bloc or a certificate (its OB 2.0 BadgeClass for ``Accept: application/json``)."""
    loaded = content()
    try:
        ref = achievements.achievement_of(loaded, code)
    except NotFound:
        if _wants_json():
            return _ob2_json({"error": "not_found", "message": "This badge does not exist."}, 404)
        raise
    if _wants_json():
        return _ob2_json(achievements.achievement_document(ref, loaded, issuing.urls()))
    page = achievements.criteria(loaded, ref)
    return render_template(
        "certificates/achievement.html",
        ref=ref,
        track=page.track,
        blocs=page.blocs,
        competences=page.competences,
        rules=rules_of(loaded),
        described=page.described,
        narrative=Markup(_markdown.render(page.described["criteria"])),  # noqa: S704  # markdown-it escapes HTML
        badge_class_url=ob2.url(issuing.urls(), "badges", ref.code),
    )


@bp.get("/achievements/<code>/image.png")
def achievement_image(code: str) -> Response:
    """The badge of a bloc or a certificate as a PNG (what wallets and Moodle backpacks show)."""
    loaded = content()
    ref = achievements.achievement_of(loaded, code)
    return _png(badge_png(ref.code, achievements.described(ref, loaded)["name"]))


@bp.get("/ob2/issuer/image.png")
def issuer_image() -> Response:
    """The issuer's image, a PNG with its name."""
    return _png(badge_png("", current_app.config["CERTIFICATE_ISSUER_NAME"]))


def _png(body: bytes) -> Response:
    response = Response(body, mimetype="image/png")
    response.headers["Cache-Control"] = "public, max-age=86400"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def _wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["text/html", "application/ld+json", "application/json"])
    return best in ("application/ld+json", "application/json")


def _ob2_json(payload: dict[str, Any], status: int = 200) -> Response:
    """JSON-LD by default; plain JSON for a client that asks for JSON but not JSON-LD (OB 2.0, "Setting
    Content-Type")."""
    asked = {value for value, _quality in request.accept_mimetypes}
    plain = "application/json" in asked and "application/ld+json" not in asked
    return json_response(payload, "application/json" if plain else "application/ld+json", status)


@bp.get("/ob2/issuer")
def ob2_issuer() -> Response:
    """The Open Badges 2.0 issuer Profile."""
    config = current_app.config
    issuer = ob2.IssuerDetails(
        config["CERTIFICATE_ISSUER_NAME"],
        config["CERTIFICATE_ISSUER_DESCRIPTION"],
        config.get("CERTIFICATE_ISSUER_EMAIL"),
    )
    return _ob2_json(ob2.issuer_profile(issuer, issuing.urls()))


@bp.get("/ob2/badges/<code>")
def ob2_badge(code: str) -> Response:
    """The Open Badges 2.0 BadgeClass of a bloc or a certificate."""
    loaded = content()
    try:
        ref = achievements.achievement_of(loaded, code)
    except NotFound:
        return _ob2_json({"error": "not_found", "message": "This badge does not exist."}, 404)
    return _ob2_json(ob2.badge_class(ref, loaded, issuing.urls()))


@bp.get("/ob2/badges/<code>/image.svg")
def ob2_badge_image(code: str) -> Response:
    """The badge's image: a generated SVG with its code and name."""
    loaded = content()
    ref = achievements.achievement_of(loaded, code)
    svg = ob2.badge_svg(ref.code, achievements.described(ref, loaded)["name"])
    response = Response(svg, mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "public, max-age=86400"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get("/ob2/assertions/<credential_id>")
def ob2_assertion(credential_id: str) -> Response:
    """The hosted Open Badges 2.0 Assertion of a credential; 410 Gone once revoked."""
    credential = verification.registered(db.session, credential_id)
    if credential is None:
        return _ob2_json({"error": "not_found", "message": "This assertion does not exist."}, 404)
    assertion = ob2.assertion(db.session, credential, issuing.urls())
    return no_index(_ob2_json(assertion, 410 if credential.revoked_at is not None else 200))
