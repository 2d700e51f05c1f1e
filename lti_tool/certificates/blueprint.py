"""Public certificate pages, no launch needed: verification (``/verify…``), downloads, the status lists, the
competence framework and criteria pages (``/achievements…``), and hosted Open Badges 2.0 (``/ob2…``) for
Moodle backpacks.

Verification is done our way: the stored credential's Data Integrity proof and its VC-JWT against the
issuer's did:key (a VC-JWT issued before credentials had their own key: the tool's RSA keys, retired ones
included), and its status-list bit. A pasted credential is checked the same way,
after cheap checks (issuer, register, same shape as what was issued) that keep canonicalisation away from
documents that could not be ours.
"""

from __future__ import annotations

import hashlib
import json
import re
import textwrap
from dataclasses import dataclass, replace
from datetime import datetime
from html import escape
from typing import Any
from urllib.parse import urlencode

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from flask import Blueprint, current_app, make_response, render_template, request
from markdown_it import MarkdownIt
from markupsafe import Markup
from werkzeug.wrappers import Response

from lti_tool.certificates import credentials as ob
from lti_tool.certificates import issuing, proofs
from lti_tool.certificates.documents import (
    badge_png,
    certificate_pdf,
    evidence_from_json,
    evidence_json,
    evidence_pdf,
)
from lti_tool.certificates.evidence import certificate_document, evidence_document
from lti_tool.certificates.models import Credential
from lti_tool.competences.rules import empty_facts
from lti_tool.competences.services import rules_of
from lti_tool.content.runtime import content
from lti_tool.db import DbSession, db
from lti_tool.errors import AccessDenied, Message, NotFound, SocleError, not_found
from lti_tool.learners.models import Learner
from lti_tool.lti.launches import LAUNCH_PARAM, current_launch, launch_id_from_request
from lti_tool.lti.runtime import runtime

bp = Blueprint("certificates", __name__)

OB2_CONTEXT = "https://w3id.org/openbadges/v2"
MAX_PASTE = 64 * 1024  # bytes of a pasted credential (ours are a few KiB)
JWT_SHAPE = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")
STATUS_LIST_MAX_AGE = 300
_markdown = MarkdownIt("commonmark", {"html": False})


# -- verification -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Verdict:
    """What our verifier says of a credential, and why (None: not checked)."""

    status: str  # valid | revoked | invalid | tampered | foreign | unknown
    issuer_ok: bool | None = None
    registered: bool | None = None
    as_issued: bool | None = None  # a pasted credential equals the one issued under its id
    proof_ok: bool | None = None
    jwt_ok: bool | None = None
    revoked_in_list: bool | None = None
    credential: Credential | None = None
    document: dict[str, Any] | None = None
    form: str | None = None  # json | jwt, for a pasted credential


class Unparseable(ValueError):
    """Pasted text that is neither a JSON object nor a JWT."""


def _our_issuer() -> str:
    return issuing.signer().issuer.id


def _issuer_id(document: dict[str, Any]) -> str | None:
    issuer = document.get("issuer")
    if isinstance(issuer, dict):
        issuer = issuer.get("id")
    return issuer if isinstance(issuer, str) else None


def _resolve_ours(method: str) -> Ed25519PublicKey:
    """Our did:key only: a proof made with any other key is not ours."""
    if method.partition("#")[0] != _our_issuer():
        raise ValueError("not the issuer's key")
    return proofs.resolve_did_key(method)


def _proof_ok(document: dict[str, Any]) -> bool:
    try:
        return proofs.verify_data_integrity(document, _resolve_ours)
    except RecursionError:
        return False


def _jwt_credential(token: str) -> dict[str, Any]:
    """The credential a VC-JWT carries, verified against the issuer's key; ``InvalidCredential`` otherwise."""
    try:
        legacy = jwt.get_unverified_header(token).get("alg") == "RS256"
    except jwt.InvalidTokenError as error:
        raise proofs.InvalidCredential(f"not a JWT: {error}") from error
    if legacy:  # issued before credentials had their own key; they carry no proof
        return proofs.verify_legacy_rs256_jwt(token, runtime().keys.verification_jwks())
    return proofs.verify_vc_jwt(token, _resolve_ours)


def _jwt_ok(token: str, document: dict[str, Any]) -> bool:
    """The VC-JWT carries this very credential: as issued, with its proof (without it, for the old ones)."""
    try:
        carried = _jwt_credential(token)
    except proofs.InvalidCredential:
        return False
    if "proof" not in carried:
        document = {key: value for key, value in document.items() if key != "proof"}
    return carried == document


def _list_bit(session: DbSession, number: int, index: int) -> bool | None:
    """The revocation bit of an entry, read from the signed status-list credential we serve."""
    try:
        document = issuing.status_list_document(session, number)
    except NotFound:
        return None
    bits = ob.decode_list(document["credentialSubject"]["encodedList"])
    return ob.is_set(bits, index) if 0 <= index < len(bits) * 8 else None


def _status_entry(document: dict[str, Any]) -> tuple[int, int] | None:
    """The (list, index) of a credential's status entry, when it points at one of our lists."""
    status = document.get("credentialStatus")
    if not isinstance(status, dict):
        return None
    url, index = status.get("statusListCredential"), str(status.get("statusListIndex", ""))
    prefix = issuing.urls().status_list(0).removesuffix("0")
    if not isinstance(url, str) or not url.startswith(prefix):
        return None
    number = url.removeprefix(prefix)
    # A pasted credential says anything: only short ASCII numbers ("²" passes isdigit, not int) can be ours.
    if not all(part.isascii() and part.isdigit() and len(part) <= 9 for part in (number, index)):
        return None
    return int(number), int(index)


def _registered(session: DbSession, credential_id: Any) -> Credential | None:
    if not isinstance(credential_id, str):
        return None
    try:
        return issuing.get(session, credential_id)
    except NotFound:
        return None


def erased(credential: Credential) -> bool:
    """The holder was erased at their request: the signed documents are gone, the revocation stays."""
    return not credential.jwt


class Erased(SocleError):
    status = 410
    code = "erased"
    what = Message(
        "Ce certificat a été révoqué et ses documents effacés à la demande de la personne.",
        "This credential was revoked and its documents erased at the holder's request.",
    )
    todo = Message(
        "Sa page de vérification indique qu'il est révoqué ; il n'y a plus rien à télécharger.",
        "Its verification page says it is revoked; there is nothing left to download.",
    )


def evidence_private() -> AccessDenied:
    """A fresh refusal each time (a module-level instance raised again would chain its tracebacks)."""
    return AccessDenied(
        Message(
            "Le dossier de preuves de ce certificat n'est pas public.",
            "The evidence file of this credential is not public.",
        ),
        Message(
            "La personne titulaire et l'équipe pédagogique du cours le consultent depuis Socle ; la personne "
            "peut choisir de le partager, dans « Mes compétences », avec qui a le lien de vérification.",
            "The holder and the course's staff see it from Socle; the holder may choose, in « Mes "
            "compétences », to share it with anyone who has the verification link.",
        ),
        code="evidence_private",
    )


def evidence_reader(credential: Credential) -> str | None:
    """Who may read the credential's evidence file in this request: ``shared`` (the holder chose to share
    it), ``holder`` or ``staff`` (a launch in the credential's course), None (anyone else)."""
    if credential.evidence_shared_at is not None:
        return "shared"
    if not launch_id_from_request():
        return None
    try:
        launch = current_launch()
    except SocleError:
        return None
    if launch.context_pk != credential.context_pk:
        return None
    if launch.learner_id == credential.learner_id:
        return "holder"
    return "staff" if launch.is_staff else None


def verify_stored(session: DbSession, credential: Credential) -> Verdict:
    """Our checks on a credential we issued: its proof, its JWT, its status-list bit."""
    document: dict[str, Any] = json.loads(credential.document)
    issuer_ok = _issuer_id(document) == _our_issuer()
    if erased(credential):
        # Nothing signed is left to check: only the revocation, which the status list still carries.
        bit = _list_bit(session, credential.status_list, credential.status_index)
        return Verdict("revoked", issuer_ok, True, None, None, None, bit, credential, document)
    proof_ok = issuer_ok and _proof_ok(document)
    jwt_ok = _jwt_ok(credential.jwt, document)
    bit = _list_bit(session, credential.status_list, credential.status_index)
    if credential.revoked_at is not None or bit:
        status = "revoked"
    else:
        status = "valid" if proof_ok and jwt_ok and bit is False else "invalid"
    return Verdict(status, issuer_ok, True, None, proof_ok, jwt_ok, bit, credential, document)


def verify_pasted(session: DbSession, text: str) -> Verdict:
    """Our checks on a credential someone pasted, as JSON (with its proof) or as a VC-JWT."""
    text = text.strip().lstrip("\ufeff")
    if text.startswith("{"):
        try:
            document = json.loads(text)
        except (ValueError, RecursionError) as error:
            raise Unparseable("not JSON") from error
        if not isinstance(document, dict):
            raise Unparseable("not a JSON object")
        return _verify_json(session, document)
    if JWT_SHAPE.match(text):
        try:
            jwt.get_unverified_header(text)
            payload = jwt.decode(text, options={"verify_signature": False})
        except (jwt.InvalidTokenError, RecursionError) as error:
            raise Unparseable("not a JWT") from error
        return _verify_jwt(session, text, payload)
    raise Unparseable("neither JSON nor a JWT")


def _verify_json(session: DbSession, document: dict[str, Any]) -> Verdict:
    if _issuer_id(document) != _our_issuer():
        return Verdict("foreign", issuer_ok=False, form="json")
    credential = _registered(session, document.get("id"))
    if credential is None:  # we keep every credential we issue: one we do not know was not issued by us
        return Verdict("tampered", issuer_ok=True, registered=False, form="json")
    issued = json.loads(credential.document)
    as_issued = document == issued
    # Canonicalisation can be made very costly by crafted structures (blank nodes): only a document shaped
    # like the one we issued (same keys and list lengths, no blank node label) reaches it.
    if not as_issued and not _same_shape(document, issued):
        return Verdict("tampered", issuer_ok=True, registered=True, as_issued=False, form="json")
    checked = Verdict("valid", True, True, as_issued, _proof_ok(document), form="json")
    if not checked.proof_ok:
        return replace(checked, status="tampered")
    return _with_status(session, document, credential, checked)


def _same_shape(pasted: Any, issued: Any) -> bool:
    if isinstance(issued, dict):
        return (
            isinstance(pasted, dict)
            and pasted.keys() == issued.keys()
            and all(_same_shape(pasted[key], issued[key]) for key in issued)
        )
    if isinstance(issued, list):
        return (
            isinstance(pasted, list) and len(pasted) == len(issued) and all(map(_same_shape, pasted, issued))
        )
    return not isinstance(pasted, dict | list) and not (isinstance(pasted, str) and pasted.startswith("_:"))


def _verify_jwt(session: DbSession, token: str, payload: dict[str, Any]) -> Verdict:
    if payload.get("iss") != _our_issuer() or _issuer_id(payload) != _our_issuer():
        return Verdict("foreign", issuer_ok=False, form="jwt")
    try:
        document = _jwt_credential(token)
    except proofs.InvalidCredential:
        return Verdict("tampered", issuer_ok=True, jwt_ok=False, form="jwt")
    credential = _registered(session, document.get("id"))
    return _with_status(
        session,
        document,
        credential,
        Verdict("valid", issuer_ok=True, registered=credential is not None, jwt_ok=True, form="jwt"),
    )


def _with_status(
    session: DbSession, document: dict[str, Any], credential: Credential | None, checked: Verdict
) -> Verdict:
    entry = _status_entry(document)
    bit = _list_bit(session, *entry) if entry is not None else None
    if bit or (credential is not None and credential.revoked_at is not None):
        status = "revoked"
    else:
        status = "valid" if bit is False and credential is not None else "unknown"
    return replace(checked, status=status, revoked_in_list=bit, credential=credential, document=document)


# -- what a credential says, for the page -------------------------------------------------------------------
@dataclass(frozen=True)
class TargetView:
    code: str
    name: str
    kind: str  # bloc | competence
    value: str | None
    required: str | None


@dataclass(frozen=True)
class Summary:
    """The signed credential, read for people (tolerant of missing parts)."""

    id: str
    name: str
    achievement_type: str
    description: str
    criteria_url: str | None
    holder: str | None
    subject_id: str | None
    valid_from: datetime | None
    issuer_name: str
    issuer_url: str | None
    issuer_id: str | None
    targets: list[TargetView]


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value] if value is not None else []


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def summary(document: dict[str, Any]) -> Summary:
    subject = _dict(document.get("credentialSubject"))
    achievement = _dict(subject.get("achievement"))
    issuer = _dict(document.get("issuer"))
    required = {
        _str(d.get("id")) or "": _str(d.get("requiredValue"))
        for d in map(_dict, _list(achievement.get("resultDescription")))
    }
    values = {
        _str(r.get("resultDescription")) or "": _str(r.get("value"))
        for r in map(_dict, _list(subject.get("result")))
    }
    targets = []
    for alignment in map(_dict, _list(achievement.get("alignment"))):
        code = _str(alignment.get("targetCode")) or ""
        name = (_str(alignment.get("targetName")) or code).removeprefix(f"{code} · ")
        kind = "bloc" if alignment.get("targetType") == "ext:BlocDeCompetences" else "competence"
        key = f"{_str(achievement.get('id')) or ''}#result-{code}"
        targets.append(TargetView(code, name, kind, values.get(key), required.get(key)))
    holder = next(
        (
            _str(identifier.get("identityHash"))
            for identifier in map(_dict, _list(subject.get("identifier")))
            if identifier.get("identityType") == "name" and identifier.get("hashed") is False
        ),
        None,
    )
    try:
        valid_from: datetime | None = datetime.fromisoformat(str(document.get("validFrom")))
    except ValueError:
        valid_from = None
    return Summary(
        id=(_str(document.get("id")) or "").removeprefix("urn:uuid:"),
        name=_str(document.get("name")) or _str(achievement.get("name")) or "",
        achievement_type=_str(achievement.get("achievementType")) or "",
        description=_str(achievement.get("description")) or "",
        criteria_url=_str(_dict(achievement.get("criteria")).get("id")),
        holder=holder,
        subject_id=_str(subject.get("id")),
        valid_from=valid_from if valid_from is not None and valid_from.tzinfo is not None else None,
        issuer_name=_str(issuer.get("name")) or "",
        issuer_url=_str(issuer.get("url")),
        issuer_id=_issuer_id(document),
        targets=targets,
    )


# -- verification pages -------------------------------------------------------------------------------------
def _no_index(response: Response) -> Response:
    """Pages and files that carry a learner's name stay out of search engines."""
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _page(template: str, status: int = 200, **values: Any) -> Response:
    return _no_index(make_response(render_template(template, **values), status))


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
        verdict = verify_pasted(db.session, text)
    except Unparseable:
        return _form_error("unparseable", 400)
    shown = summary(verdict.document) if verdict.document and verdict.status in ("valid", "revoked") else None
    return _page("certificates/verify_form.html", verdict=verdict, shown=shown, error=None)


def _form_error(code: str, status: int) -> Response:
    return _page("certificates/verify_form.html", status, verdict=None, error=code)


@bp.get("/verify/<credential_id>")
def verify(credential_id: str) -> Response:
    """The public verification page of a credential: valid, revoked or unknown, and what it certifies."""
    credential = _registered(db.session, credential_id)
    if credential is None:
        return _page("certificates/verify.html", 404, verdict=Verdict("unknown"), shown=None, links=None)
    verdict = verify_stored(db.session, credential)
    assert verdict.document is not None
    return _page(
        "certificates/verify.html",
        verdict=verdict,
        shown=summary(verdict.document),
        links=_links(credential),
        evidence_reader=evidence_reader(credential),
    )


def _links(credential: Credential) -> dict[str, str]:
    base = issuing.urls().verify(credential.id)
    # The holder's and the staff's launch travels with the evidence links (the file is not public).
    launch = launch_id_from_request()
    private = (
        f"?{urlencode({LAUNCH_PARAM: launch})}" if launch and credential.evidence_shared_at is None else ""
    )
    return {
        "json": base + "/credential.json",
        "jwt": base + "/credential.jwt",
        "certificate": base + "/certificate.pdf",
        "evidence_pdf": base + "/evidence.pdf" + private,
        "evidence_json": base + "/evidence.json" + private,
        "ob2": _ob2_url("assertions", credential.id),
        "status_list": issuing.urls().status_list(credential.status_list),
    }


def _download(body: str | bytes, mimetype: str, filename: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Access-Control-Allow-Origin"] = "*"
    return _no_index(response)


@bp.get("/verify/<credential_id>/credential.json")
def credential_json(credential_id: str) -> Response:
    """The signed credential, byte for byte as issued (with its Data Integrity proof)."""
    credential = issuing.get(db.session, credential_id)
    if erased(credential):
        raise Erased()
    return _download(
        credential.document.encode("utf-8"), "application/json", f"credential-{credential.id}.json"
    )


@bp.get("/verify/<credential_id>/credential.jwt")
def credential_jwt(credential_id: str) -> Response:
    """The same credential as a VC-JWT (EdDSA, ``kid`` the DID URL of the issuer's key)."""
    credential = issuing.get(db.session, credential_id)
    if erased(credential):
        raise Erased()
    return _download(credential.jwt, "application/jwt", f"credential-{credential.id}.jwt")


@bp.get("/verify/<credential_id>/certificate.pdf")
def certificate(credential_id: str) -> Response:
    """The PDF certificate (not for a revoked credential: a printout would outlive the revocation)."""
    credential = issuing.get(db.session, credential_id)
    if erased(credential):
        raise Erased()
    if credential.revoked_at is not None:
        gone = SocleError(
            Message("Ce certificat a été révoqué.", "This credential has been revoked."),
            Message(
                "Sa page de vérification donne la date et le motif de la révocation.",
                "Its verification page gives the date and reason of the revocation.",
            ),
            code="revoked",
            status=410,
        )
        gone.title = Message("Certificat révoqué", "Credential revoked")
        raise gone
    document = replace(
        certificate_document(db.session, credential, content()),
        signatory_name=current_app.config.get("CERTIFICATE_SIGNATORY_NAME"),
        signatory_title=current_app.config.get("CERTIFICATE_SIGNATORY_TITLE"),
    )
    pdf = certificate_pdf(document)
    return _download(pdf, "application/pdf", f"certificat-{credential.id}.pdf")


@bp.get("/verify/<credential_id>/evidence.pdf")
def evidence_file_pdf(credential_id: str) -> Response:
    """The evidence file frozen when the credential was issued, as a PDF report (the holder, the course's
    staff, or anyone once the holder shared it)."""
    credential = issuing.get(db.session, credential_id)
    if erased(credential):
        raise Erased()
    if evidence_reader(credential) is None:
        raise evidence_private()
    if credential.evidence is not None:  # frozen at issue
        document = evidence_from_json(json.loads(credential.evidence))
    else:  # issued before evidence files were frozen
        document = evidence_document(db.session, credential.learner_id, credential.context_pk, content())
    return _download(evidence_pdf(document), "application/pdf", f"dossier-de-preuves-{credential.id}.pdf")


@bp.get("/verify/<credential_id>/evidence.json")
def evidence_file_json(credential_id: str) -> Response:
    """The same evidence file as JSON (what a jury's tooling reads), byte for byte as frozen."""
    credential = issuing.get(db.session, credential_id)
    if erased(credential):
        raise Erased()
    if evidence_reader(credential) is None:
        raise evidence_private()
    if credential.evidence is not None:  # frozen at issue: byte for byte what the credential's digest names
        body = credential.evidence
    else:  # issued before evidence files were frozen
        document = evidence_document(db.session, credential.learner_id, credential.context_pk, content())
        body = json.dumps(evidence_json(document), ensure_ascii=False, indent=2)
    return _download(body.encode("utf-8"), "application/json", f"dossier-de-preuves-{credential.id}.json")


@bp.get("/credentials/status/<int:number>")
def status_list(number: int) -> Response:
    """The signed BitstringStatusListCredential that verifiers fetch."""
    try:
        document = issuing.status_list_document(db.session, number)
    except NotFound:
        return _json(
            {"error": "not_found", "message": "This status list does not exist."}, "application/json", 404
        )
    response = _json(document, "application/json")
    response.headers["Cache-Control"] = f"public, max-age={STATUS_LIST_MAX_AGE}"
    return response


def _json(payload: dict[str, Any], mimetype: str, status: int = 200) -> Response:
    response = Response(json.dumps(payload, ensure_ascii=False, indent=2), status=status, mimetype=mimetype)
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


# -- framework and criteria ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class AchievementRef:
    code: str
    kind: str  # bloc | certificate
    track: str | None  # the track of a certificate


def achievement_of(code: str) -> AchievementRef:
    """A bloc (``B1``) or a track's certificate (``certificate-fundraiser``); 404 for anything else."""
    programme = content().programme
    if any(bloc.code == code for bloc in programme.blocs):
        return AchievementRef(code, "bloc", None)
    track = code.removeprefix(issuing.CERTIFICATE)
    if code.startswith(issuing.CERTIFICATE) and any(t.code == track for t in programme.tracks):
        return AchievementRef(code, "certificate", track)
    raise not_found("Ce badge", "This badge")


def _described(ref: AchievementRef) -> dict[str, Any]:
    loaded = content()
    return issuing.describe(ref.code, ref.track, loaded, rules_of(loaded), empty_facts())


@bp.get("/achievements/framework")
def framework() -> str:
    """The competence framework: competences, blocs, tracks and the mastery rules in force."""
    loaded = content()
    programme = loaded.programme
    return render_template(
        "certificates/framework.html",
        programme=programme,
        rules=rules_of(loaded),
        blocs_of={
            c.code: [b for b in programme.blocs if c.code in b.competences] for c in programme.competences
        },
    )


@bp.get("/achievements/<code>")
def achievement(code: str) -> Response | str:
    """The criteria of a bloc or a certificate (its OB 2.0 BadgeClass for ``Accept: application/json``)."""
    try:
        ref = achievement_of(code)
    except NotFound:
        if _wants_json():
            return _ob2_json({"error": "not_found", "message": "This badge does not exist."}, 404)
        raise
    if _wants_json():
        return _ob2_json(_achievement_document(ref))
    loaded = content()
    programme = loaded.programme
    described = _described(ref)
    if ref.kind == "bloc":
        blocs = [b for b in programme.blocs if b.code == ref.code]
        track = None
    else:
        track = next(t for t in programme.tracks if t.code == ref.track)
        blocs = [b for b in programme.blocs if b.code in track.blocs]
    return render_template(
        "certificates/achievement.html",
        ref=ref,
        track=track,
        blocs=blocs,
        competences={c.code: c for c in programme.competences},
        rules=rules_of(loaded),
        described=described,
        narrative=Markup(_markdown.render(described["criteria"])),  # noqa: S704  # markdown-it escapes HTML
        badge_class_url=_ob2_url("badges", ref.code),
    )


def _achievement_document(ref: AchievementRef) -> dict[str, Any]:
    """The Open Badges 3.0 Achievement at its own ``id`` (what a wallet fetches), with its contexts."""
    described = _described(ref)
    document = ob.achievement_json(
        described["achievement_code"],
        described["achievement_type"],
        described["name"],
        described["description"],
        described["criteria"],
        described["targets"],
        rules_of(content()).version,
        issuing.urls(),
    )
    return {"@context": [ob.VC_V2, ob.OB_V3], **document}


@bp.get("/achievements/<code>/image.png")
def achievement_image(code: str) -> Response:
    """The badge of a bloc or a certificate as a PNG (what wallets and Moodle backpacks show)."""
    ref = achievement_of(code)
    return _png(badge_png(ref.code, _described(ref)["name"]))


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


# -- Open Badges 2.0, hosted ---------------------------------------------------------------------------------
def _ob2_url(*parts: str) -> str:
    return "/".join([issuing.urls().base, "ob2", *parts])


def _ob2_json(payload: dict[str, Any], status: int = 200) -> Response:
    """JSON-LD by default; plain JSON for a client that asks for JSON but not JSON-LD (OB 2.0, "Setting
    Content-Type")."""
    asked = {value for value, _quality in request.accept_mimetypes}
    plain = "application/json" in asked and "application/ld+json" not in asked
    return _json(payload, "application/json" if plain else "application/ld+json", status)


def _issuer_profile() -> dict[str, Any]:
    config = current_app.config
    profile: dict[str, Any] = {
        "@context": OB2_CONTEXT,
        "id": _ob2_url("issuer"),
        "type": "Issuer",
        "name": config["CERTIFICATE_ISSUER_NAME"],
        "url": issuing.urls().base,
        "description": config["CERTIFICATE_ISSUER_DESCRIPTION"],
        "image": issuing.urls().issuer_image(),
    }
    email = config.get("CERTIFICATE_ISSUER_EMAIL")
    if email:
        profile["email"] = email
    return profile


def _badge_class(ref: AchievementRef) -> dict[str, Any]:
    described = _described(ref)
    programme = content().programme
    descriptions = {c.code: c.description.fr for c in programme.competences}
    descriptions |= {b.code: b.assessment.fr for b in programme.blocs}
    urls = issuing.urls()
    return {
        "@context": OB2_CONTEXT,
        "id": _ob2_url("badges", ref.code),
        "type": "BadgeClass",
        "name": described["name"],
        "description": described["description"],
        "image": urls.achievement_image(ref.code),
        "criteria": {"id": urls.achievement(ref.code), "narrative": described["criteria"]},
        "issuer": _ob2_url("issuer"),
        "alignment": [
            {
                "targetName": f"{target.code} · {target.name}",
                "targetUrl": urls.framework(target.code),
                "targetCode": target.code,
                "targetDescription": descriptions.get(target.code, target.name),
                "targetFramework": programme.title.fr,
            }
            for target in described["targets"]
        ],
        "tags": ["certificat d'aptitude", "bloc de compétences" if ref.kind == "bloc" else "certificat"],
    }


@bp.get("/ob2/issuer")
def ob2_issuer() -> Response:
    """The Open Badges 2.0 issuer Profile."""
    return _ob2_json(_issuer_profile())


@bp.get("/ob2/badges/<code>")
def ob2_badge(code: str) -> Response:
    """The Open Badges 2.0 BadgeClass of a bloc or a certificate."""
    try:
        ref = achievement_of(code)
    except NotFound:
        return _ob2_json({"error": "not_found", "message": "This badge does not exist."}, 404)
    return _ob2_json(_badge_class(ref))


@bp.get("/ob2/badges/<code>/image.svg")
def ob2_badge_image(code: str) -> Response:
    """The badge's image: a generated SVG with its code and name."""
    ref = achievement_of(code)
    response = Response(badge_svg(ref.code, _described(ref)["name"]), mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "public, max-age=86400"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def badge_svg(code: str, name: str) -> str:
    """A square badge: a disc with the code, the name wrapped beneath it."""
    label = "CERTIFICAT" if code.startswith(issuing.CERTIFICATE) else code
    title = name.split(" — ", 1)[-1]
    lines = textwrap.wrap(title, 22)[:3]
    if len(textwrap.wrap(title, 22)) > 3:
        lines[-1] = lines[-1][:20] + "…"
    text = "".join(
        f'<text x="100" y="{128 + 14 * i}" font-size="12" text-anchor="middle">{escape(line)}</text>'
        for i, line in enumerate(lines)
    )
    size = 34 if len(label) <= 3 else 18
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="200" viewBox="0 0 200 200" role="img" '
        f'aria-labelledby="t"><title id="t">{escape(name)}</title>'
        '<circle cx="100" cy="100" r="96" fill="#1f4e79"/>'
        '<circle cx="100" cy="100" r="86" fill="none" stroke="#ffffff" stroke-width="3"/>'
        f'<text x="100" y="96" font-size="{size}" font-weight="700" text-anchor="middle" fill="#ffffff" '
        f'font-family="DejaVu Sans, Arial, sans-serif">{escape(label)}</text>'
        f'<g font-family="DejaVu Sans, Arial, sans-serif" fill="#ffffff">{text}</g></svg>'
    )


def _recipient(credential: Credential, learner: Learner | None) -> dict[str, Any]:
    """The hashed e-mail when the platform gave it (what backpacks match); else the opaque subject id.

    The salt is derived from the credential id: stable, so a backpack's copy keeps matching the hosted one.
    """
    email = (learner.email or "").strip().lower() if learner is not None else ""
    if email:
        salt = hashlib.sha256(f"ob2-salt|{credential.id}".encode()).hexdigest()[:16]
        identity = "sha256$" + hashlib.sha256((email + salt).encode()).hexdigest()
        return {"type": "email", "hashed": True, "salt": salt, "identity": identity}
    subject = json.loads(credential.document).get("credentialSubject", {}).get("id")
    return {"type": "url", "hashed": False, "identity": subject}


@bp.get("/ob2/assertions/<credential_id>")
def ob2_assertion(credential_id: str) -> Response:
    """The hosted Open Badges 2.0 Assertion of a credential; 410 Gone once revoked."""
    credential = _registered(db.session, credential_id)
    if credential is None:
        return _ob2_json({"error": "not_found", "message": "This assertion does not exist."}, 404)
    assertion: dict[str, Any] = {
        "@context": OB2_CONTEXT,
        "id": _ob2_url("assertions", credential.id),
        "type": "Assertion",
    }
    if credential.revoked_at is not None:
        assertion |= {"revoked": True, "revocationReason": credential.revoked_reason or ""}
        return _no_index(_ob2_json(assertion, 410))
    learner = db.session.get(Learner, credential.learner_id)
    assertion |= {
        "recipient": _recipient(credential, learner),
        "badge": _ob2_url("badges", credential.achievement),
        "verification": {"type": "hosted"},
        "issuedOn": ob.iso(credential.issued_at),
        "evidence": {
            "id": issuing.urls().evidence(credential.id),
            "name": "Dossier de preuves",
            "description": "Chaque compétence reliée aux traces xAPI qui la fondent.",
        },
    }
    return _no_index(_ob2_json(assertion))
