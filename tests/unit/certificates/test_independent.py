"""Socle's credentials against verifiers that share no code with it: the Digital Credentials Consortium's
verifier-core (Node.js; Data Integrity only) and openbadgeslib (Python; Data Integrity and VC-JWT)."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from lti_tool.certificates import proofs
from tests.unit.certificates import proof_samples as samples
from tests.verifiers.independent import dcc_verify, openbadgeslib_verify


@pytest.fixture(scope="module")
def issuer_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture(scope="module")
def rsa_key() -> samples.RsaKey:
    return samples.rsa_key()


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


def test_openbadgeslib_accepts_our_vc_jwt(issuer_key: Ed25519PrivateKey, rsa_key: samples.RsaKey) -> None:
    document = samples.credential(issuer_key, with_status=False)
    token = proofs.sign_vc_jwt(document, rsa_key.kid, rsa_key.private_key, rsa_key.public_jwk)
    by_header = openbadgeslib_verify(token)
    assert by_header.ok, by_header.details
    by_key_set = openbadgeslib_verify(token, jwks=rsa_key.jwks)
    assert by_key_set.ok, by_key_set.details


@pytest.mark.parametrize("field", samples.TAMPERED_FIELDS)
def test_openbadgeslib_rejects_a_tampered_vc_jwt(
    issuer_key: Ed25519PrivateKey, rsa_key: samples.RsaKey, field: str
) -> None:
    document = samples.credential(issuer_key, with_status=False)
    token = proofs.sign_vc_jwt(document, rsa_key.kid, rsa_key.private_key, rsa_key.public_jwk)
    verdict = openbadgeslib_verify(samples.tampered_jwt(token, field), jwks=rsa_key.jwks)
    assert not verdict.ok
    assert "signature" in verdict.details["error"].lower(), verdict.details
