"""Issuing and revoking credentials: one valid per learner, context and achievement, safe under concurrent
requests, signed twice with the issuer's Ed25519 key (Data Integrity eddsa-rdfc-2022 and VC-JWT EdDSA),
recorded as xAPI statements; a bloc's revocation revokes the certificate that counted it.

Certificates build on competences, never the reverse: ``init_app`` subscribes to mastery's announcement
(``competences.mastery.met``), and a bloc met issues what it earns there."""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import Flask, current_app
from sqlalchemy import bindparam, func, select, update

from lti_tool import events
from lti_tool.certificates import credentials as ob
from lti_tool.certificates import proofs
from lti_tool.certificates.documents import evidence_json
from lti_tool.certificates.evidence import evidence_document
from lti_tool.certificates.identity import subject_id, urls
from lti_tool.certificates.models import Credential, StatusList
from lti_tool.competences import mastery
from lti_tool.competences.models import CompetenceState
from lti_tool.competences.rules import Rules
from lti_tool.competences.services import facts_of, track_of
from lti_tool.content.loader import Content
from lti_tool.db import DbSession, insert_once, utcnow
from lti_tool.errors import AlreadyRecorded, Message, not_found, refused
from lti_tool.learners.models import Context, Deployment, Learner
from lti_tool.scope import Scope
from lti_tool.training.facilitation import latest_resource_link
from xapi.builder import statement_id

CERTIFICATE = "certificate-"  # the achievement code of a track's certificate: certificate-fundraiser


# -- keys and URLs ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Signer:
    ed25519: Ed25519PrivateKey
    issuer: ob.Issuer
    verification_method: str


_signer_lock = threading.Lock()


def signer() -> Signer:
    """The issuer's Ed25519 key (created in its own folder at first use, apart from the LTI keys) and its
    did:key identity."""
    app = current_app
    cached: Signer | None = app.extensions.get("socle_signer")
    if cached is None:
        with _signer_lock:
            key = proofs.load_or_create_ed25519(
                Path(app.config["CREDENTIAL_KEYS_DIR"]), legacy=Path(app.config["KEYS_DIR"])
            )
            public = key.public_key()
            config = app.config
            issuer = ob.Issuer(
                proofs.did_key(public),
                config["CERTIFICATE_ISSUER_NAME"],
                config["BASE_URL"],
                email=config.get("CERTIFICATE_ISSUER_EMAIL"),
                description=config.get("CERTIFICATE_ISSUER_DESCRIPTION"),
                image=ob.Urls(config["BASE_URL"].rstrip("/")).issuer_image(),
            )
            cached = Signer(key, issuer, proofs.verification_method(public))
            app.extensions["socle_signer"] = cached
    return cached


def sign(document: dict[str, Any], moment: datetime) -> tuple[dict[str, Any], str]:
    """The document with its Data Integrity proof, and that signed document as a VC-JWT (EdDSA, the same
    key: both proofs resolve from the issuer's did:key)."""
    own = signer()
    signed = proofs.add_data_integrity_proof(document, own.ed25519, own.verification_method, moment)
    return signed, proofs.sign_vc_jwt(signed, own.ed25519, own.verification_method)


# -- who and where -----------------------------------------------------------------------------------------
def learner_scope(session: DbSession, learner_id: int, context_pk: int) -> Scope:
    """The scope of a learner's own records in a context, for actions taken outside their launch."""
    learner = session.get(Learner, learner_id)
    context = session.get(Context, context_pk)
    if learner is None or context is None:
        raise not_found("Cette personne", "This person")
    deployment = session.get(Deployment, context.deployment_pk)
    return Scope(
        platform_id=context.platform_id,
        context_pk=context.id,
        learner_id=learner.id,
        issuer=learner.issuer,
        sub=learner.sub,
        deployment_id=deployment.deployment_id if deployment else "",
        lti_context_id=context.lti_context_id,
        context_title=context.title,
        resource_link_id=latest_resource_link(session, learner.id, context.id),
    )


# -- awarding ----------------------------------------------------------------------------------------------
def init_app(app: Flask) -> None:
    """Subscribe this app's certificates to mastery: a bloc met issues what it earns."""
    mastery.met.connect(_award_when_blocs_met, sender=app)


def _award_when_blocs_met(_app: Flask, *, announcement: mastery.MasteryMet) -> None:
    """A bloc became met: issue it, and the track's certificate if it completes the track (``award``)."""
    if announcement.blocs:
        award(announcement.session, announcement.scope, announcement.content, announcement.rules)


def award(session: DbSession, scope: Scope, content: Content, rules: Rules) -> list[Credential]:
    """Issue what the learner's met blocs earn and not yet issued: each bloc, then the track's certificate
    once every bloc of the track holds a valid credential.

    An achievement whose credential was revoked is issued again only when it was met again after the
    revocation (a bloc: its state became met again; the certificate: one of its blocs did): a revocation
    by a jury is not undone by the next unrelated event.
    """
    met_at = met_times(session, scope.learner_id, scope.context_pk)
    issued = []
    valid: set[str] = set()
    for bloc in sorted(code for code in met_at if code in rules.blocs):
        if _may_issue(session, scope, bloc, met_at[bloc]):
            issued.append(issue(session, scope, content, rules, bloc, None))
            valid.add(bloc)
    track = track_of(session, scope.learner_id, scope.context_pk, content)
    blocs = rules.tracks.get(track, [])
    if rules.certificate_met(track, set(met_at)) and all(
        bloc in valid or existing(session, scope.learner_id, scope.context_pk, bloc) is not None
        for bloc in blocs
    ):
        latest = max((at for bloc in blocs if (at := met_at[bloc]) is not None), default=None)
        if _may_issue(session, scope, CERTIFICATE + track, latest):
            issued.append(issue(session, scope, content, rules, CERTIFICATE + track, track))
    return issued


def _may_issue(session: DbSession, scope: Scope, achievement: str, met_at: datetime | None) -> bool:
    """Not revoked since it was (last) met: never issued, issued and valid, or met again after revocation."""
    if existing(session, scope.learner_id, scope.context_pk, achievement) is not None:
        return True  # issue() returns it
    last_revoked = session.scalar(
        select(func.max(Credential.revoked_at)).where(
            Credential.learner_id == scope.learner_id,
            Credential.context_pk == scope.context_pk,
            Credential.achievement == achievement,
        )
    )
    return last_revoked is None or (met_at is not None and met_at > last_revoked)


def met_times(session: DbSession, learner_id: int, context_pk: int) -> dict[str, datetime | None]:
    """The competences and blocs the learner meets, with when they became met."""
    return {
        code: at
        for code, at in session.execute(
            select(CompetenceState.code, CompetenceState.met_at).where(
                CompetenceState.learner_id == learner_id,
                CompetenceState.context_pk == context_pk,
                CompetenceState.is_met.is_(True),
            )
        )
    }


# The partial unique index a credential's insert is checked against: one valid credential per achievement.
_ONE_VALID = Credential.revoked_at.is_(None)


def announce(session: DbSession, learner_id: int, context_pk: int, now: datetime) -> list[Credential]:
    """The valid credentials this learner was not yet told about in this course, marked as told now."""
    fresh = list(session.scalars(_UNANNOUNCED, {"learner_id": learner_id, "context_pk": context_pk}))
    for credential in fresh:
        credential.announced_at = now
    session.flush()
    return fresh


# Built once: every page of a launch asks it.
_UNANNOUNCED = (
    select(Credential)
    .where(
        Credential.learner_id == bindparam("learner_id"),
        Credential.context_pk == bindparam("context_pk"),
        Credential.revoked_at.is_(None),
        Credential.announced_at.is_(None),
    )
    .order_by(Credential.issued_at, Credential.achievement)
)


def existing(session: DbSession, learner_id: int, context_pk: int, achievement: str) -> Credential | None:
    """The valid (not revoked) credential of an achievement, if any."""
    return session.scalar(
        select(Credential).where(
            Credential.learner_id == learner_id,
            Credential.context_pk == context_pk,
            Credential.achievement == achievement,
            Credential.revoked_at.is_(None),
        )
    )


def issue(
    session: DbSession, scope: Scope, content: Content, rules: Rules, achievement: str, track: str | None
) -> Credential:
    """Issue one credential, or return the one already issued (also when a concurrent request won)."""
    found = existing(session, scope.learner_id, scope.context_pk, achievement)
    if found is not None:
        return found
    # The credential says the second (validFrom); the row keeps the instant, so that "until it was issued"
    # counts the module completed by the request that issued it (earlier in that same second).
    issued_at = utcnow()
    now = issued_at.replace(microsecond=0)
    learner = session.get(Learner, scope.learner_id)
    assert learner is not None
    award_ = describe(achievement, track, content, rules, facts_of(session, learner.id, scope.context_pk))
    credential_uuid = str(uuid.uuid4())
    details = ob.Award(
        credential_id="urn:uuid:" + credential_uuid,
        subject_id=subject_id(learner.issuer, learner.sub),
        subject_name=learner.formal_name,
        issued_at=now,
        rules_version=rules.version,
        **award_,
    )
    status_list, status_index = allocate_status(session)
    this = (details.name, credential_uuid, urls().verify(credential_uuid))
    evidence = frozen_evidence(session, learner.id, scope.context_pk, content, now, this)
    document = ob.open_badge(
        details,
        signer().issuer,
        urls(),
        status_list,
        status_index,
        ob.sri_digest(evidence.encode("utf-8")),
    )
    signed, token = sign(document, now)
    inserted = insert_once(
        session,
        Credential,
        {
            "id": credential_uuid,
            "platform_id": scope.platform_id,
            "context_pk": scope.context_pk,
            "learner_id": scope.learner_id,
            "achievement": achievement,
            "track": track,
            "rules_version": rules.version,
            "content_version": content.version,
            "issued_at": issued_at,
            "document": json.dumps(signed, ensure_ascii=False),
            "jwt": token,
            "evidence": evidence,
            "status_list": status_list,
            "status_index": status_index,
        },
        unique=("learner_id", "context_pk", "achievement"),
        where=_ONE_VALID,
    )
    if inserted is None:  # a concurrent request issued it first: theirs stands
        found = existing(session, scope.learner_id, scope.context_pk, achievement)
        assert found is not None
        return found
    event = events.record_event(
        session,
        scope,
        events.CREDENTIAL_EARNED,
        content_version=content.version,
        at=now,
        payload={
            "credential_id": credential_uuid,
            "achievement": achievement,
            "name": details.name,
            "verify_url": urls().verify(credential_uuid),
            "rules_version": rules.version,
        },
    )
    credential = session.get(Credential, credential_uuid)
    assert credential is not None
    credential.earned_statement_id = statement_id(event.id, 0)
    return credential


def frozen_evidence(
    session: DbSession,
    learner_id: int,
    context_pk: int,
    content: Content,
    at: datetime,
    this: tuple[str, str, str],
) -> str:
    """The learner's evidence file (JSON) as it stands at issue, the exact text served from then on; it
    lists the credentials issued until then, ``this`` one (name, id, verification URL) last."""
    document = evidence_document(session, learner_id, context_pk, content)
    document = replace(document, generated_at=at, credentials=[*document.credentials, this])
    return json.dumps(evidence_json(document), ensure_ascii=False, indent=2)


def describe(
    achievement: str, track: str | None, content: Content, rules: Rules, facts: dict[str, Any]
) -> dict[str, Any]:
    """Name, type, description, criteria and targets of an achievement, from the framework and rules."""
    programme = content.programme
    competences = {c.code: c for c in programme.competences}
    blocs = {b.code: b for b in programme.blocs}
    if achievement in blocs:
        bloc = blocs[achievement]
        codes = list(bloc.competences)
        targets = [_target(code, competences[code].name.fr, rules, facts) for code in codes]
        name = f"Bloc {bloc.code} — {bloc.name.fr}"
        description = (
            f"Bloc de compétences du certificat d'aptitude « {programme.title.fr} ». "
            f"Modalité d'évaluation : {bloc.assessment.fr}."
        )
        kind = "Competency"
    else:
        track_row = next(t for t in programme.tracks if t.code == track)
        codes = [c for b in track_row.blocs for c in blocs[b].competences]
        targets = [ob.Target(b, blocs[b].name.fr, "bloc", None, None, "Completed") for b in track_row.blocs]
        targets += [_target(code, competences[code].name.fr, rules, facts) for code in codes]
        name = f"Certificat d'aptitude — {track_row.name.fr}"
        description = (
            f"Certificat d'aptitude du programme « {programme.title.fr} » : "
            f"blocs {', '.join(track_row.blocs)} validés."
        )
        kind = "Certificate"
    return {
        "achievement_code": achievement,
        "achievement_type": kind,
        "name": name,
        "description": description,
        "criteria": criteria(codes, content, rules),
        "targets": tuple(targets),
    }


def _target(code: str, name: str, rules: Rules, facts: dict[str, Any]) -> ob.Target:
    evaluation = rules.evaluate(code, facts)
    recognised = evaluation.score is None
    return ob.Target(
        code,
        name,
        "competence",
        None if recognised else round(evaluation.required * 100),
        None if recognised else round(evaluation.score * 100) if evaluation.score is not None else None,
        "Completed",
    )


def criteria(codes: list[str], content: Content, rules: Rules) -> str:
    """The rules behind an achievement, as Markdown (the credential's criteria narrative)."""
    names = {c.code: c.name.fr for c in content.programme.competences}
    lines = [f"Règles de maîtrise, version {rules.version} :", ""]
    for code in codes:
        rule = rules.rules[code]
        parts = [f"score pondéré des quiz {', '.join(rule.quiz_modules)} ≥ {rule.min_score} %"]
        if rule.completed:
            parts.append(f"modules terminés : {', '.join(rule.completed)}")
        if rule.attended:
            parts.append(f"séance en direct suivie : {', '.join(rule.attended)}")
        if rule.accepted:
            parts.append(f"livrable accepté : {', '.join(rule.accepted)}")
        if rule.assessed:
            parts.append(f"production évaluée, chaque critère au niveau requis : {', '.join(rule.assessed)}")
        lines.append(f"- **{code} · {names[code]}** : " + " ; ".join(parts) + ".")
    lines += ["", "Un module reconnu au titre des acquis antérieurs compte comme satisfait."]
    return "\n".join(lines)


# -- status lists and revocation --------------------------------------------------------------------------
def allocate_status(session: DbSession) -> tuple[int, int]:
    """The next free entry of the current status list (a new list when it is full)."""
    size = max(int(current_app.config["STATUS_LIST_SIZE"]), ob.MIN_STATUS_LIST_SIZE)
    for _ in range(3):
        current = session.scalar(
            select(StatusList).where(StatusList.next_index < StatusList.size).order_by(StatusList.id).limit(1)
        )
        if current is None:
            current = StatusList(size=size, next_index=0)
            session.add(current)
            session.flush()
        # One UPDATE takes the entry: concurrent issuers never get the same one.
        taken = session.execute(
            update(StatusList)
            .where(StatusList.id == current.id, StatusList.next_index < StatusList.size)
            .values(next_index=StatusList.next_index + 1)
            .returning(StatusList.next_index)
        ).scalar_one_or_none()
        if taken is not None:
            return current.id, taken - 1
    raise RuntimeError("no status list entry could be allocated")


def revoke(session: DbSession, credential_id: str, reason: str, by: str, content: Content) -> Credential:
    """Revoke a credential with a reason: the status list, the verification page and an xAPI statement.

    A bloc's revocation revokes too the valid certificate that counts it, with a reason naming the bloc:
    a credential that rests on others follows them.
    """
    credential = get(session, credential_id)
    reason = reason.strip()
    if not 5 <= len(reason) <= 2000:
        raise refused(
            "reason_required",
            "Donnez la raison de la révocation (5 à 2 000 caractères).",
            "Give the reason for the revocation (5 to 2,000 characters).",
        )
    if credential.revoked_at is not None:
        raise AlreadyRecorded(
            Message("Ce certificat est déjà révoqué.", "This credential is already revoked."),
            Message("Rien n'a changé.", "Nothing changed."),
        )
    credential.revoked_at = utcnow()
    credential.revoked_reason = reason
    credential.revoked_by = by[:255]
    if credential.earned_statement_id:
        events.record_event(
            session,
            learner_scope(session, credential.learner_id, credential.context_pk),
            events.CREDENTIAL_REVOKED,
            content_version=content.version,
            at=credential.revoked_at,
            payload={
                "credential_id": credential.id,
                "earned_statement_id": credential.earned_statement_id,
                "reason": reason,
            },
        )
    session.flush()
    for certificate in _certificates_counting(session, credential, content):
        cascaded = f"Bloc {credential.achievement} révoqué : {reason}"[:2000]
        revoke(session, certificate.id, cascaded, by, content)
    return credential


def _certificates_counting(session: DbSession, bloc: Credential, content: Content) -> list[Credential]:
    """The learner's valid certificates (in the bloc's course) whose track counts this bloc."""
    if bloc.achievement.startswith(CERTIFICATE):
        return []
    tracks = [t.code for t in content.programme.tracks if bloc.achievement in t.blocs]
    return list(
        session.scalars(
            select(Credential).where(
                Credential.learner_id == bloc.learner_id,
                Credential.context_pk == bloc.context_pk,
                Credential.achievement.in_([CERTIFICATE + track for track in tracks]),
                Credential.revoked_at.is_(None),
            )
        )
    )


def share_evidence(session: DbSession, credential: Credential, shared: bool) -> None:
    """Record the holder's choice: their evidence file shown to anyone with the verification link, or only
    to them and the course's staff (the time of the choice is kept)."""
    if erased(credential):
        raise not_found("Ce certificat", "This credential")
    if shared != (credential.evidence_shared_at is not None):
        credential.evidence_shared_at = utcnow() if shared else None
        session.flush()


def erased(credential: Credential) -> bool:
    """The holder was erased at their request: the signed documents are gone, the revocation stays."""
    return not credential.jwt


def get(session: DbSession, credential_id: str) -> Credential:
    try:
        key = str(uuid.UUID(credential_id.removeprefix("urn:uuid:")))
    except ValueError:
        raise not_found("Ce certificat", "This credential") from None
    credential = session.get(Credential, key)
    if credential is None:
        raise not_found("Ce certificat", "This credential")
    return credential


_status_cache: dict[tuple[str, int], tuple[tuple[int, Any], dict[str, Any]]] = {}


def status_list_document(session: DbSession, number: int) -> dict[str, Any]:
    """The signed status-list credential (signed again only when a revocation changed it)."""
    status = session.get(StatusList, number)
    if status is None:
        raise not_found("Cette liste de statuts", "This status list")
    revoked = list(
        session.scalars(
            select(Credential.status_index).where(
                Credential.status_list == number, Credential.revoked_at.is_not(None)
            )
        )
    )
    latest = session.scalar(select(func.max(Credential.revoked_at)).where(Credential.status_list == number))
    version = (len(revoked), latest)
    key = (current_app.config["BASE_URL"], number)
    cached = _status_cache.get(key)
    if cached is not None and cached[0] == version:
        return cached[1]
    moment = (latest or status.created_at).replace(microsecond=0)
    document = ob.status_list_credential(
        signer().issuer, urls().status_list(number), status.size, revoked, moment
    )
    own = signer()
    signed = proofs.add_data_integrity_proof(document, own.ed25519, own.verification_method, moment)
    _status_cache[key] = (version, signed)
    return signed
