"""Our verifier: a stored or pasted credential checked our way, and what it says, read for people.

Verification is done our way: the stored credential's Data Integrity proof and its VC-JWT against the
issuer's did:key (a VC-JWT issued before credentials had their own key: the tool's RSA keys, retired ones
included), and its status-list bit. A pasted credential is checked the same way, after cheap checks (issuer,
register, same shape as what was issued) that keep canonicalisation away from documents that could not be
ours.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from lti_tool.certificates import credentials as ob
from lti_tool.certificates import issuing, proofs
from lti_tool.certificates.models import Credential
from lti_tool.db import DbSession
from lti_tool.errors import NotFound
from lti_tool.lti.runtime import runtime

MAX_PASTE = 64 * 1024  # bytes of a pasted credential (ours are a few KiB)
JWT_SHAPE = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")


# -- our checks -------------------------------------------------------------------------------------------
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


def registered(session: DbSession, credential_id: Any) -> Credential | None:
    """The credential we issued under this id (any value a document or a URL gives), or None."""
    if not isinstance(credential_id, str):
        return None
    try:
        return issuing.get(session, credential_id)
    except NotFound:
        return None


def verify_stored(session: DbSession, credential: Credential) -> Verdict:
    """Our checks on a credential we issued: its proof, its JWT, its status-list bit."""
    document: dict[str, Any] = json.loads(credential.document)
    issuer_ok = _issuer_id(document) == _our_issuer()
    if issuing.erased(credential):
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
    credential = registered(session, document.get("id"))
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
    credential = registered(session, document.get("id"))
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
