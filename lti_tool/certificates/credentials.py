"""The Open Badges 3.0 documents Socle issues, as plain JSON (unsigned): the credential of a bloc or of
a certificate, and the revocation status-list credential. No Flask, no database: the caller gives the
facts and the URLs."""

from __future__ import annotations

import base64
import gzip
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

VC_V2 = "https://www.w3.org/ns/credentials/v2"
OB_V3 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
MIN_STATUS_LIST_SIZE = 131_072  # 16 KiB: the Bitstring Status List minimum, for group privacy


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class Issuer:
    id: str  # the did:key of the Ed25519 key that signs
    name: str
    url: str
    email: str | None = None
    description: str | None = None
    image: str | None = None  # URL of a PNG

    def profile(self) -> dict[str, Any]:
        """The issuer as a Profile, what a wallet or a backpack shows."""
        profile: dict[str, Any] = {"id": self.id, "type": ["Profile"], "name": self.name, "url": self.url}
        if self.email:
            profile["email"] = self.email
        if self.description:
            profile["description"] = self.description
        if self.image:
            profile["image"] = {"id": self.image, "type": "Image", "caption": self.name}
        return profile


@dataclass(frozen=True)
class Target:
    """A competence or bloc the achievement is aligned to, with the learner's result against it."""

    code: str
    name: str
    kind: str  # competence | bloc
    required: int | None  # percent, for a competence with a quiz threshold
    value: int | None  # the learner's percent
    status: str  # Completed (met) — recognised prior learning is met too


@dataclass(frozen=True)
class Award:
    credential_id: str  # urn:uuid:…
    achievement_code: str  # B1 | certificate-fundraiser
    achievement_type: str  # Competency | Certificate
    name: str
    description: str
    criteria: str  # Markdown narrative of the rules
    subject_id: str  # urn:uuid:… stable per learner
    subject_name: str | None
    targets: tuple[Target, ...]
    issued_at: datetime
    rules_version: int


@dataclass(frozen=True)
class Urls:
    base: str  # the public URL of Socle

    def achievement(self, code: str) -> str:
        return f"{self.base}/achievements/{code}"

    def achievement_image(self, code: str) -> str:
        return f"{self.base}/achievements/{code}/image.png"

    def issuer_image(self) -> str:
        return f"{self.base}/ob2/issuer/image.png"

    def framework(self, code: str) -> str:
        return f"{self.base}/achievements/framework#{code}"

    def verify(self, credential_uuid: str) -> str:
        return f"{self.base}/verify/{credential_uuid}"

    def evidence(self, credential_uuid: str) -> str:
        return f"{self.base}/verify/{credential_uuid}/evidence.json"

    def status_list(self, number: int) -> str:
        return f"{self.base}/credentials/status/{number}"


def open_badge(
    award: Award,
    issuer: Issuer,
    urls: Urls,
    status_list: int,
    status_index: int,
    evidence_digest: str | None = None,
) -> dict[str, Any]:
    """The OpenBadgeCredential of an award (to be signed). ``evidence_digest``: the Subresource Integrity
    digest (``sha256-…``) of the evidence file frozen at issue, so that anyone can tell it has not changed."""
    uuid_part = award.credential_id.removeprefix("urn:uuid:")
    achievement_url = urls.achievement(award.achievement_code)
    achievement = achievement_json(
        award.achievement_code,
        award.achievement_type,
        award.name,
        award.description,
        award.criteria,
        award.targets,
        award.rules_version,
        urls,
    )
    results: list[dict[str, Any]] = [
        {
            "type": ["Result"],
            "resultDescription": f"{achievement_url}#result-{t.code}",
            "value": str(t.value),
            "status": t.status,
        }
        for t in award.targets
        if t.required is not None and t.value is not None
    ]
    subject: dict[str, Any] = {
        "id": award.subject_id,
        "type": ["AchievementSubject"],
        "achievement": achievement,
    }
    if award.subject_name:
        subject["identifier"] = [
            {
                "type": "IdentityObject",
                "identityHash": award.subject_name,
                "identityType": "name",
                "hashed": False,
            }
        ]
    if results:
        subject["result"] = results
    status_url = urls.status_list(status_list)
    return {
        "@context": [VC_V2, OB_V3],
        "id": award.credential_id,
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": award.name,
        "issuer": issuer.profile(),
        "validFrom": iso(award.issued_at),
        "credentialSubject": subject,
        "evidence": [_evidence(urls.evidence(uuid_part), evidence_digest)],
        "credentialStatus": {
            "id": f"{status_url}#{status_index}",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": str(status_index),
            "statusListCredential": status_url,
        },
    }


def achievement_json(
    code: str,
    achievement_type: str,
    name: str,
    description: str,
    criteria: str,
    targets: tuple[Target, ...],
    rules_version: int,
    urls: Urls,
) -> dict[str, Any]:
    """The Achievement a credential certifies (also served, with its contexts, at its own ``id``)."""
    achievement_url = urls.achievement(code)
    descriptions = [
        {
            "id": f"{achievement_url}#result-{t.code}",
            "type": ["ResultDescription"],
            "name": f"{t.code} · {t.name}",
            "resultType": "Percent",
            "requiredValue": str(t.required),
            "valueMin": "0",
            "valueMax": "100",
        }
        for t in targets
        if t.required is not None
    ]
    achievement: dict[str, Any] = {
        "id": achievement_url,
        "type": ["Achievement"],
        "achievementType": achievement_type,
        "name": name,
        "description": description,
        "criteria": {"id": achievement_url, "narrative": criteria},
        "image": {"id": urls.achievement_image(code), "type": "Image", "caption": name},
        "inLanguage": "fr",
        "version": str(rules_version),
        "alignment": [
            {
                "type": ["Alignment"],
                "targetName": f"{t.code} · {t.name}",
                "targetUrl": urls.framework(t.code),
                "targetCode": t.code,
                "targetType": "ext:Competence" if t.kind == "competence" else "ext:BlocDeCompetences",
            }
            for t in targets
        ],
    }
    if descriptions:
        achievement["resultDescription"] = descriptions
    return achievement


def _evidence(url: str, digest: str | None) -> dict[str, Any]:
    evidence: dict[str, Any] = {
        "id": url,
        "type": ["Evidence"],
        "name": "Dossier de preuves",
        "description": "Chaque compétence reliée aux traces xAPI qui la fondent.",
    }
    if digest is not None:
        evidence["description"] += (
            " Dossier figé à la délivrance : son empreinte SHA-256 (digestSRI) permet de vérifier qu'il n'a"
            " pas changé."
        )
        evidence["digestSRI"] = digest  # VC Data Model 2.0, section 5.3 (integrity of related resources)
    return evidence


def sri_digest(body: bytes) -> str:
    """The Subresource Integrity digest of a file: ``sha256-`` and the base64 of its SHA-256."""
    return "sha256-" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")


def encoded_list(size: int, revoked: Iterable[int]) -> str:
    """The bitstring, GZIP-compressed and multibase base64url encoded (``u`` prefix); bit 0 is the most
    significant bit of the first byte."""
    bits = bytearray(size // 8)
    for index in revoked:
        bits[index // 8] |= 0x80 >> (index % 8)
    packed = gzip.compress(bytes(bits), mtime=0)
    return "u" + base64.urlsafe_b64encode(packed).decode().rstrip("=")


def decode_list(encoded: str) -> bytes:
    if not encoded.startswith("u"):
        raise ValueError("encodedList must be multibase base64url (u…)")
    raw = encoded[1:]
    return gzip.decompress(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))


def is_set(bitstring: bytes, index: int) -> bool:
    return bool(bitstring[index // 8] & (0x80 >> (index % 8)))


def status_list_credential(
    issuer: Issuer, url: str, size: int, revoked: Iterable[int], valid_from: datetime
) -> dict[str, Any]:
    """The BitstringStatusListCredential that verifiers fetch (to be signed)."""
    return {
        "@context": [VC_V2],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer.id,
        "validFrom": iso(valid_from),
        "credentialSubject": {
            "id": f"{url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": "revocation",
            "encodedList": encoded_list(size, revoked),
        },
    }
