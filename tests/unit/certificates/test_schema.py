"""Socle's Open Badges 3.0 credentials against the official 1EdTech JSON schema (vendored in
tests/verifiers/schema), with python-jsonschema and with verifier-core's own schema check (ajv), offline. A
schema failure is a failure in both."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from lti_tool.certificates import credentials as ob
from lti_tool.certificates import proofs
from tests.verifiers.independent import dcc_verify
from tests.verifiers.schema import ob3_schema_errors

ISSUED_AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def issuer_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def _award(**changes: Any) -> ob.Award:
    values: dict[str, Any] = {
        "credential_id": "urn:uuid:0b7e8f5c-3c1a-4f0e-9a63-6a1f1c2d3e4f",
        "achievement_code": "B1",
        "achievement_type": "Competency",
        "name": "Bloc B1 — Analyser et mettre en cohérence",
        "description": "Bloc de compétences du certificat d'aptitude.",
        "criteria": "- **C1** : score pondéré ≥ 70 %.",
        "subject_id": "urn:uuid:5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a",
        "subject_name": "Élise Dupré",
        "targets": (
            ob.Target("C1", "Diagnostiquer", "competence", 70, 83, "Completed"),
            ob.Target("C2", "Prioriser", "competence", None, None, "Completed"),
        ),
        "issued_at": ISSUED_AT,
        "rules_version": 3,
    }
    return ob.Award(**(values | changes))


def _issuer(key: Ed25519PrivateKey) -> ob.Issuer:
    return ob.Issuer(proofs.did_key(key.public_key()), "Socle (test)", "https://socle.example")


DIGEST = ob.sri_digest(b'{"format": "socle-evidence"}')


def signed_badge(key: Ed25519PrivateKey, award: ob.Award | None = None) -> dict[str, Any]:
    document = ob.open_badge(award or _award(), _issuer(key), ob.Urls("https://socle.example"), 1, 7, DIGEST)
    method = proofs.verification_method(key.public_key())
    return proofs.add_data_integrity_proof(document, key, method, ISSUED_AT)


def test_a_signed_bloc_credential_conforms_to_the_official_ob3_schema(issuer_key: Ed25519PrivateKey) -> None:
    signed = signed_badge(issuer_key)
    assert isinstance(signed["proof"], list) and len(signed["proof"]) == 1
    assert signed["evidence"][0]["digestSRI"] == DIGEST  # signed, so a verifier can trust it
    assert ob3_schema_errors(signed) == []


def test_a_signed_certificate_without_a_name_conforms_to_the_official_ob3_schema(
    issuer_key: Ed25519PrivateKey,
) -> None:
    award = _award(
        achievement_code="certificate-fundraiser",
        achievement_type="Certificate",
        subject_name=None,
        targets=(ob.Target("B1", "Analyser", "bloc", None, None, "Completed"),),
    )
    assert ob3_schema_errors(signed_badge(issuer_key, award)) == []


def test_the_schema_check_refuses_a_proof_given_as_an_object(issuer_key: Ed25519PrivateKey) -> None:
    signed = signed_badge(issuer_key)
    single = {**signed, "proof": signed["proof"][0]}
    assert any(error.startswith("/proof ") for error in ob3_schema_errors(single)), ob3_schema_errors(single)
    # Our own verifier still reads the credentials issued before proofs became arrays.
    assert proofs.verify_data_integrity(single, proofs.resolve_did_key)


def test_verifier_core_runs_the_official_schema_offline_and_fails_on_a_schema_error(
    issuer_key: Ed25519PrivateKey,
) -> None:
    # Without a status entry: its list is not served here, and the schema is what this test is about.
    document = ob.open_badge(_award(), _issuer(issuer_key), ob.Urls("https://socle.example"), 1, 7, DIGEST)
    del document["credentialStatus"]
    method = proofs.verification_method(issuer_key.public_key())
    no_status = proofs.add_data_integrity_proof(document, issuer_key, method, ISSUED_AT)
    verdict = dcc_verify(no_status)
    assert verdict.details["schema"] == {"valid": True, "errors": []}, verdict.details
    assert verdict.ok, verdict.details
    single = {**no_status, "proof": no_status["proof"][0]}
    refused = dcc_verify(single)
    assert not refused.ok
    assert refused.details["schema"]["valid"] is False
    assert any("/proof" in error for error in refused.details["schema"]["errors"]), refused.details
