"""A sample Open Badges 3.0 credential and status list, signed with throwaway keys, for the proof tests."""

from __future__ import annotations

import base64
import copy
import gzip
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwcrypto import jwk

from lti_tool.certificates import proofs

BASE = "https://socle.example"
STATUS_LIST_URL = f"{BASE}/credentials/status/1"
STATUS_INDEX = 7
SIGNED_AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


@dataclass(frozen=True)
class RsaKey:
    kid: str
    private_key: rsa.RSAPrivateKey
    public_jwk: dict[str, Any]

    @property
    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.public_jwk]}


def rsa_key(kid: str = "socle-test-key") -> RsaKey:
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = jwk.JWK.from_pyca(private_key.public_key()).export_public(as_dict=True)
    public.update({"kid": kid, "alg": "RS256", "use": "sig"})
    return RsaKey(kid=kid, private_key=private_key, public_jwk=public)


def credential(issuer_key: Ed25519PrivateKey, *, with_status: bool = True) -> dict[str, Any]:
    """An unsigned OpenBadgeCredential shaped like Socle's (bloc, competence threshold, evidence)."""
    did = proofs.did_key(issuer_key.public_key())
    achievement = f"{BASE}/achievements/B1"
    document: dict[str, Any] = {
        "@context": [
            "https://www.w3.org/ns/credentials/v2",
            "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
        ],
        "id": "urn:uuid:0b7e8f5c-3c1a-4f0e-9a63-6a1f1c2d3e4f",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": "Bloc 1 · Construire une stratégie de collecte",
        "issuer": {"id": did, "type": ["Profile"], "name": "Socle (test)", "url": BASE},
        "validFrom": "2026-03-01T08:00:00Z",
        "credentialSubject": {
            "id": "urn:uuid:5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a",
            "type": ["AchievementSubject"],
            "achievement": {
                "id": achievement,
                "type": ["Achievement"],
                "achievementType": "Competency",
                "name": "Bloc 1 · Construire une stratégie de collecte",
                "description": "Le bloc 1 du certificat, validé compétence par compétence.",
                "criteria": {"id": achievement, "narrative": "Au moins **70 %** à chaque quiz du bloc."},
                "alignment": [
                    {
                        "type": ["Alignment"],
                        "targetName": "C1 · Diagnostiquer",
                        "targetUrl": f"{BASE}/achievements/framework#C1",
                        "targetCode": "C1",
                        "targetType": "ext:Competence",
                    }
                ],
                "resultDescription": [
                    {
                        "id": f"{achievement}#result-C1",
                        "type": ["ResultDescription"],
                        "name": "C1 · Diagnostiquer",
                        "resultType": "Percent",
                        "requiredValue": "70",
                    }
                ],
            },
            "result": [{"type": ["Result"], "resultDescription": f"{achievement}#result-C1", "value": "82"}],
        },
        "evidence": [
            {"id": f"{BASE}/verify/0b7e8f5c/evidence.json", "type": ["Evidence"], "name": "Dossier"}
        ],
    }
    if with_status:
        document["credentialStatus"] = {
            "id": f"{STATUS_LIST_URL}#{STATUS_INDEX}",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": str(STATUS_INDEX),
            "statusListCredential": STATUS_LIST_URL,
        }
    return document


def status_list(issuer_key: Ed25519PrivateKey, revoked: set[int]) -> dict[str, Any]:
    """A signed BitstringStatusListCredential (16 KiB list) with the given indexes set."""
    bits = bytearray(16 * 1024)
    for index in revoked:
        bits[index // 8] |= 0x80 >> (index % 8)
    encoded = "u" + base64.urlsafe_b64encode(gzip.compress(bytes(bits), mtime=0)).decode().rstrip("=")
    document = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": STATUS_LIST_URL,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": proofs.did_key(issuer_key.public_key()),
        "validFrom": "2026-03-01T08:00:00Z",
        "credentialSubject": {
            "id": f"{STATUS_LIST_URL}#list",
            "type": "BitstringStatusList",
            "statusPurpose": "revocation",
            "encodedList": encoded,
        },
    }
    public = issuer_key.public_key()
    return proofs.add_data_integrity_proof(
        document, issuer_key, proofs.verification_method(public), SIGNED_AT
    )


def sign(document: dict[str, Any], issuer_key: Ed25519PrivateKey) -> dict[str, Any]:
    method = proofs.verification_method(issuer_key.public_key())
    return proofs.add_data_integrity_proof(document, issuer_key, method, SIGNED_AT)


def tampered(document: dict[str, Any], field: str) -> dict[str, Any]:
    """A copy with one certified fact changed: ``name``, ``subject`` (its id) or ``result`` (the score)."""
    changed = copy.deepcopy(document)
    if field == "name":
        changed["name"] = "Certificat complet"
    elif field == "subject":
        changed["credentialSubject"]["id"] = "urn:uuid:00000000-0000-4000-8000-000000000000"
    elif field == "result":
        changed["credentialSubject"]["result"][0]["value"] = "99"
    else:
        raise ValueError(field)
    return changed


TAMPERED_FIELDS = ("name", "subject", "result")


def tampered_jwt(token: str, field: str) -> str:
    """The token with its payload changed as ``tampered`` does, the original signature kept."""
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    changed = tampered(claims, field)
    if field == "subject":
        changed["sub"] = changed["credentialSubject"][
            "id"
        ]  # keep the claims consistent: only the signature is wrong
    encoded = base64.urlsafe_b64encode(json.dumps(changed).encode()).decode().rstrip("=")
    return f"{header}.{encoded}.{signature}"
