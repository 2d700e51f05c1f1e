"""Socle's credentials against verifiers that share no code with it: the Digital Credentials Consortium's
verifier-core (Node.js; Data Integrity only) and openbadgeslib (Python; Data Integrity and VC-JWT)."""

from __future__ import annotations

import json
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwcrypto import jwk

from lti_tool.certificates import proofs
from tests.unit.certificates import proof_samples as samples
from tests.verifiers.independent import dcc_verify, jose_verify, openbadgeslib_verify


@pytest.fixture(scope="module")
def issuer_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture(scope="module")
def signed(issuer_key: Ed25519PrivateKey) -> dict[str, Any]:
    return samples.sign(samples.credential(issuer_key), issuer_key)


@pytest.fixture(scope="module")
def status_list(issuer_key: Ed25519PrivateKey) -> dict[str, Any]:
    return samples.status_list(issuer_key, revoked={3})


@pytest.fixture(scope="module")
def revoked_list(issuer_key: Ed25519PrivateKey) -> dict[str, Any]:
    return samples.status_list(issuer_key, revoked={3, samples.STATUS_INDEX})


# -- Data Integrity ----------------------------------------------------------------------------------------


def test_dcc_verifier_accepts_our_data_integrity_credential(signed: dict, status_list: dict) -> None:
    verdict = dcc_verify(signed, status_list)
    assert verdict.ok, verdict.details
    assert verdict.revoked is False
    assert verdict.details["servedFetches"] == [samples.STATUS_LIST_URL]


def test_openbadgeslib_accepts_our_data_integrity_credential(signed: dict, status_list: dict) -> None:
    verdict = openbadgeslib_verify(signed, status_list=status_list)
    assert verdict.ok, verdict.details
    assert verdict.revoked is False


def test_both_verifiers_see_a_revoked_credential(signed: dict, revoked_list: dict) -> None:
    dcc = dcc_verify(signed, revoked_list)
    assert (dcc.ok, dcc.revoked) == (False, True), dcc.details
    obl = openbadgeslib_verify(signed, status_list=revoked_list)
    assert (obl.ok, obl.revoked) == (False, True), obl.details


def test_dcc_verifier_cannot_decide_the_status_without_the_list(signed: dict) -> None:
    verdict = dcc_verify(signed)
    assert not verdict.ok and verdict.revoked is None
    assert samples.STATUS_LIST_URL in verdict.details["refusedFetches"]


@pytest.mark.parametrize("field", samples.TAMPERED_FIELDS)
def test_both_verifiers_reject_a_tampered_data_integrity_credential(
    signed: dict, status_list: dict, field: str
) -> None:
    tampered = samples.tampered(signed, field)
    dcc = dcc_verify(tampered, status_list)
    assert not dcc.ok and dcc.details["errors"], dcc.details
    obl = openbadgeslib_verify(tampered, status_list=status_list)
    assert not obl.ok and "signature" in obl.details["error"], obl.details


def test_both_verifiers_reject_an_added_unsigned_key(signed: dict, status_list: dict) -> None:
    # What pyld would silently leave out of the proof: the strict JSON-LD processors refuse it.
    added = {**signed, "grade": "A"}
    assert not dcc_verify(added, status_list).ok
    assert not openbadgeslib_verify(added, status_list=status_list).ok
    assert not proofs.verify_data_integrity(added, proofs.resolve_did_key)


def test_both_verifiers_reject_a_proof_by_a_key_the_issuer_does_not_control(
    issuer_key: Ed25519PrivateKey, status_list: dict
) -> None:
    forged = samples.sign(samples.credential(issuer_key), Ed25519PrivateKey.generate())
    assert not dcc_verify(forged, status_list).ok
    assert not openbadgeslib_verify(forged, status_list=status_list).ok


# -- VC-JWT (verifier-core verifies Data Integrity only) ---------------------------------------------------


def _vc_jwt(issuer_key: Ed25519PrivateKey) -> str:
    signed = samples.sign(samples.credential(issuer_key, with_status=False), issuer_key)
    return proofs.sign_vc_jwt(signed, issuer_key, proofs.verification_method(issuer_key.public_key()))


def test_openbadgeslib_and_jose_accept_our_vc_jwt_with_the_key_of_the_issuers_did(
    issuer_key: Ed25519PrivateKey,
) -> None:
    token = _vc_jwt(issuer_key)
    by_did = openbadgeslib_verify(token)
    assert by_did.ok, by_did.details
    verdict = jose_verify(token)
    assert verdict.ok, verdict.details
    assert verdict.details["header"] == jwt.get_unverified_header(token)


@pytest.mark.parametrize("field", samples.TAMPERED_FIELDS)
def test_openbadgeslib_and_jose_reject_a_tampered_vc_jwt(issuer_key: Ed25519PrivateKey, field: str) -> None:
    tampered = samples.tampered_jwt(_vc_jwt(issuer_key), field)
    verdict = openbadgeslib_verify(tampered)
    assert not verdict.ok
    assert "signature" in verdict.details["error"].lower(), verdict.details
    jose = jose_verify(tampered)
    assert not jose.ok and "signature" in jose.details["error"].lower(), jose.details


def test_a_look_alike_with_its_own_jwk_header_fools_only_a_header_trusting_verifier(
    issuer_key: Ed25519PrivateKey,
) -> None:
    """Someone copies a credential of ours, signs it with their own key and puts that key in the header."""
    impostor = Ed25519PrivateKey.generate()
    signed = samples.sign(samples.credential(issuer_key, with_status=False), issuer_key)
    claims = {"iss": signed["issuer"]["id"], "jti": signed["id"], "sub": signed["credentialSubject"]["id"]}
    payload = {**signed, **claims, "nbf": 1772352000}
    headers = {
        "typ": "JWT",
        "kid": proofs.verification_method(issuer_key.public_key()),
        "jwk": json.loads(jwk.JWK.from_pyca(impostor.public_key()).export_public()),
    }
    look_alike = jwt.encode(payload, impostor, algorithm="EdDSA", headers=headers)
    assert jose_verify(look_alike, embedded_jwk=True).ok  # the threat is real
    assert not jose_verify(look_alike).ok
    assert not openbadgeslib_verify(look_alike).ok
    with pytest.raises(proofs.InvalidCredential):
        proofs.verify_vc_jwt(look_alike, proofs.resolve_did_key)
