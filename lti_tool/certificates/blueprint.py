"""Public verification, no launch needed: the verifier (``/verify``), each credential's verification page and
its files, and the status lists verifiers fetch. The checks live in ``verification``, the files in
``files``; the framework, criteria and Open Badges 2.0 pages in ``achievements_blueprint``."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, current_app, make_response, render_template, request
from werkzeug.wrappers import Response

from lti_tool.certificates import files, issuing, verification
from lti_tool.certificates.verification import MAX_PASTE, Unparseable, Verdict
from lti_tool.content.runtime import content
from lti_tool.db import db
from lti_tool.errors import NotFound, SocleError
from lti_tool.lti.context import LaunchContext
from lti_tool.lti.launches import current_launch, launch_id_from_request

bp = Blueprint("certificates", __name__)

STATUS_LIST_MAX_AGE = 300


def no_index(response: Response) -> Response:
    """Pages and files that carry a learner's name stay out of search engines."""
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


def json_response(payload: dict[str, Any], mimetype: str, status: int = 200) -> Response:
    """A JSON document any site may fetch."""
    response = Response(json.dumps(payload, ensure_ascii=False, indent=2), status=status, mimetype=mimetype)
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def _page(template: str, status: int = 200, **values: Any) -> Response:
    return no_index(make_response(render_template(template, **values), status))


def _launch() -> LaunchContext | None:
    """The launch of this request when it carries a valid one (the holder's or the staff's), else None."""
    if not launch_id_from_request():
        return None
    try:
        return current_launch()
    except SocleError:
        return None


def _download(file: files.File) -> Response:
    response = Response(file.body, mimetype=file.mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{file.filename}"'
    response.headers["Access-Control-Allow-Origin"] = "*"
    return no_index(response)


@bp.get("/verify")
def verify_form() -> Response:
    """The form where anyone pastes a credential (JSON or JWT) to check it."""
    return _page("certificates/verify_form.html", verdict=None, error=None)


@bp.post("/verify")
def verify_submitted() -> Response:
    """Check a pasted credential with our verifier: valid, tampered, revoked or issued by someone else."""
    # Form encoding may triple the size of a credential: the field itself is limited below.
    request.max_content_length = 4 * MAX_PASTE
    upload = request.files.get("file")
    text = request.form.get("credential", "")
    if upload is not None and upload.filename and not text.strip():
        raw = upload.stream.read(MAX_PASTE + 1)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return _form_error("unparseable", 400)
    if len(text.encode("utf-8")) > MAX_PASTE:
        return _form_error("too_large", 413)
    if not text.strip():
        return _form_error("empty", 400)
    try:
        verdict = verification.verify_pasted(db.session, text)
    except Unparseable:
        return _form_error("unparseable", 400)
    shown = (
        verification.summary(verdict.document)
        if verdict.document and verdict.status in ("valid", "revoked")
        else None
    )
    return _page("certificates/verify_form.html", verdict=verdict, shown=shown, error=None)


def _form_error(code: str, status: int) -> Response:
    return _page("certificates/verify_form.html", status, verdict=None, error=code)


@bp.get("/verify/<credential_id>")
def verify(credential_id: str) -> Response:
    """The public verification page of a credential: valid, revoked or unknown, and what it certifies."""
    credential = verification.registered(db.session, credential_id)
    if credential is None:
        return _page("certificates/verify.html", 404, verdict=Verdict("unknown"), shown=None, links=None)
    verdict = verification.verify_stored(db.session, credential)
    assert verdict.document is not None
    return _page(
        "certificates/verify.html",
        verdict=verdict,
        shown=verification.summary(verdict.document),
        links=files.links(credential, launch_id_from_request(), issuing.urls()),
        evidence_reader=files.evidence_reader(credential, _launch),
    )


@bp.get("/verify/<credential_id>/credential.json")
def credential_json(credential_id: str) -> Response:
    """The signed credential, byte for byte as issued (with its Data Integrity proof)."""
    return _download(files.credential_json(db.session, credential_id))


@bp.get("/verify/<credential_id>/credential.jwt")
def credential_jwt(credential_id: str) -> Response:
    """The same credential as a VC-JWT (EdDSA, ``kid`` the DID URL of the issuer's key)."""
    return _download(files.credential_jwt(db.session, credential_id))


@bp.get("/verify/<credential_id>/certificate.pdf")
def certificate(credential_id: str) -> Response:
    """The PDF certificate (not for a revoked credential: a printout would outlive the revocation)."""
    config = current_app.config
    return _download(
        files.certificate(
            db.session,
            credential_id,
            content(),
            config.get("CERTIFICATE_SIGNATORY_NAME"),
            config.get("CERTIFICATE_SIGNATORY_TITLE"),
        )
    )


@bp.get("/verify/<credential_id>/evidence.pdf")
def evidence_file_pdf(credential_id: str) -> Response:
    """The evidence file frozen when the credential was issued, as a PDF report (the holder, the course's
    staff, or anyone once the holder shared it)."""
    return _download(files.evidence_file(db.session, credential_id, content(), _launch, "pdf"))


@bp.get("/verify/<credential_id>/evidence.json")
def evidence_file_json(credential_id: str) -> Response:
    """The same evidence file as JSON (what a jury's tooling reads), byte for byte as frozen."""
    return _download(files.evidence_file(db.session, credential_id, content(), _launch, "json"))


@bp.get("/credentials/status/<int:number>")
def status_list(number: int) -> Response:
    """The signed BitstringStatusListCredential that verifiers fetch."""
    try:
        document = issuing.status_list_document(db.session, number)
    except NotFound:
        return json_response(
            {"error": "not_found", "message": "This status list does not exist."}, "application/json", 404
        )
    response = json_response(document, "application/json")
    response.headers["Cache-Control"] = f"public, max-age={STATUS_LIST_MAX_AGE}"
    return response
