from __future__ import annotations

import hashlib
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.rsa import generate_private_key
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from jwcrypto import jwk

from lti_tool.certificates import proofs
from lti_tool.certificates.jsonld import UndefinedTerms, canonize, document_loader_with
from tests.unit.certificates import proof_samples as samples

# The eddsa-rdfc-2022 test vector of the W3C vc-di-eddsa specification (TestVectors/keyPair.json and
# TestVectors/eddsa-rdfc-2022/): key pair, unsigned credential, proof options and expected results.
VECTOR_PUBLIC_KEY_MULTIBASE = "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
VECTOR_SECRET_KEY_MULTIBASE = "z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq"
VECTOR_EXAMPLES_CONTEXT = {"@context": {"@vocab": "https://www.w3.org/ns/credentials/examples#"}}
VECTOR_DOCUMENT: dict[str, Any] = {
    "@context": ["https://www.w3.org/ns/credentials/v2", "https://www.w3.org/ns/credentials/examples/v2"],
    "id": "urn:uuid:58172aac-d8ba-11ed-83dd-0b3aef56cc33",
    "type": ["VerifiableCredential", "AlumniCredential"],
    "name": "Alumni Credential",
    "description": "A minimum viable example of an Alumni Credential.",
    "issuer": "https://vc.example/issuers/5678",
    "validFrom": "2023-01-01T00:00:00Z",
    "credentialSubject": {"id": "did:example:abcdefgh", "alumniOf": "The School of Examples"},
}
VECTOR_METHOD = "https://vc.example/issuers/5678#z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
VECTOR_CREATED = "2023-02-24T23:36:38Z"
VECTOR_PROOF_CANONICAL = (
    '_:c14n0 <http://purl.org/dc/terms/created> "2023-02-24T23:36:38Z"'
    "^^<http://www.w3.org/2001/XMLSchema#dateTime> .\n"
    "_:c14n0 <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <https://w3id.org/security#DataIntegrityProof> .\n"
    '_:c14n0 <https://w3id.org/security#cryptosuite> "eddsa-rdfc-2022"'
    "^^<https://w3id.org/security#cryptosuiteString> .\n"
    "_:c14n0 <https://w3id.org/security#proofPurpose> <https://w3id.org/security#assertionMethod> .\n"
    "_:c14n0 <https://w3id.org/security#verificationMethod> "
    "<https://vc.example/issuers/5678#z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2> .\n"
)
VECTOR_COMBINED_HASH = (
    "4c4d3890a157f8d611b13c265c2c22f39aa0a567c7c7dd9ba3e45cd579784eeb"
    "517744132ae165a5349155bef0bb0cf2258fff99dfe1dbd914b938d775a36017"
)
VECTOR_PROOF_VALUE = (
    "z21EVs3eXERqTn4acNHT9viboqgzUaQ3kTmhPT3eA8qrVPE7CrQq78WkzctnMX5W4CrzcKnHw8V6dvy5pgWYCU5e9"
)
VECTOR_LOADER = document_loader_with(
    {"https://www.w3.org/ns/credentials/examples/v2": VECTOR_EXAMPLES_CONTEXT}
)


def vector_key() -> Ed25519PrivateKey:
    secret = proofs.base58btc_decode(VECTOR_SECRET_KEY_MULTIBASE[1:])
    assert secret[:2] == b"\x80\x26"  # multicodec ed25519-priv
    return Ed25519PrivateKey.from_private_bytes(secret[2:])


def vector_signed() -> dict[str, Any]:
    created = datetime.fromisoformat(VECTOR_CREATED)
    return proofs.add_data_integrity_proof(
        VECTOR_DOCUMENT, vector_key(), VECTOR_METHOD, created, loader=VECTOR_LOADER
    )


@pytest.fixture(scope="module")
def issuer_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture(scope="module")
def rsa_key() -> samples.RsaKey:
    return samples.rsa_key()


# -- the W3C test vector -----------------------------------------------------------------------------------


def test_eddsa_rdfc_2022_reproduces_the_w3c_test_vector_byte_for_byte() -> None:
    signed = vector_signed()
    assert signed["proof"] == [
        {
            "type": "DataIntegrityProof",
            "cryptosuite": "eddsa-rdfc-2022",
            "created": VECTOR_CREATED,
            "verificationMethod": VECTOR_METHOD,
            "proofPurpose": "assertionMethod",
            "proofValue": VECTOR_PROOF_VALUE,
        }
    ]
    options = {key: value for key, value in signed["proof"][0].items() if key != "proofValue"}
    options["@context"] = VECTOR_DOCUMENT["@context"]
    assert canonize(options, VECTOR_LOADER) == VECTOR_PROOF_CANONICAL
    combined = (
        hashlib.sha256(canonize(options, VECTOR_LOADER).encode()).digest()
        + hashlib.sha256(canonize(VECTOR_DOCUMENT, VECTOR_LOADER).encode()).digest()
    )
    assert combined.hex() == VECTOR_COMBINED_HASH


def test_w3c_test_vector_verifies_and_its_key_is_the_published_multikey() -> None:
    public = vector_key().public_key()
    assert proofs.public_key_multibase(public) == VECTOR_PUBLIC_KEY_MULTIBASE
    assert proofs.verify_data_integrity(vector_signed(), lambda method: public, loader=VECTOR_LOADER)


# -- keys and did:key --------------------------------------------------------------------------------------


def test_issuer_key_is_created_once_private_and_reloaded(tmp_path: Path) -> None:
    key = proofs.load_or_create_ed25519(tmp_path / "keys")
    pem = tmp_path / "keys" / "ed25519.pem"
    assert pem.stat().st_mode & 0o777 == 0o600
    assert list((tmp_path / "keys").iterdir()) == [pem]  # no temporary file left behind
    again = proofs.load_or_create_ed25519(tmp_path / "keys")
    assert proofs.did_key(again.public_key()) == proofs.did_key(key.public_key())


def test_the_issuer_key_moves_from_the_lti_keys_folder_and_keeps_its_did(tmp_path: Path) -> None:
    """Before credentials had their own folder the key sat beside the LTI keys: it moves, the DID stays."""
    legacy = tmp_path / "keys"
    old = proofs.load_or_create_ed25519(legacy)
    moved = proofs.load_or_create_ed25519(tmp_path / "credential_keys", legacy=legacy)
    assert proofs.did_key(moved.public_key()) == proofs.did_key(old.public_key())
    assert not (legacy / "ed25519.pem").exists()
    assert (tmp_path / "credential_keys" / "ed25519.pem").stat().st_mode & 0o777 == 0o600
    again = proofs.load_or_create_ed25519(tmp_path / "credential_keys", legacy=legacy)
    assert proofs.did_key(again.public_key()) == proofs.did_key(old.public_key())


def test_a_key_file_that_is_not_ed25519_is_refused(tmp_path: Path) -> None:
    rsa_pem = generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()
    )
    (tmp_path / "ed25519.pem").write_bytes(rsa_pem)
    with pytest.raises(ValueError, match="Ed25519"):
        proofs.load_or_create_ed25519(tmp_path)


def test_did_key_encodes_and_resolves_the_public_key() -> None:
    public = vector_key().public_key()
    did = proofs.did_key(public)
    assert did == "did:key:" + VECTOR_PUBLIC_KEY_MULTIBASE
    assert proofs.verification_method(public) == f"{did}#{VECTOR_PUBLIC_KEY_MULTIBASE}"
    assert proofs.resolve_did_key(proofs.verification_method(public)) == public
    assert proofs.resolve_did_key(did) == public
    document = proofs.did_document(public)
    assert document["assertionMethod"] == [proofs.verification_method(public)]
    assert document["verificationMethod"][0]["publicKeyMultibase"] == VECTOR_PUBLIC_KEY_MULTIBASE


@pytest.mark.parametrize(
    "method",
    [
        "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2#z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
        "did:web:socle.example#key-1",
        "did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme",  # secp256k1, not Ed25519
    ],
)
def test_resolve_did_key_refuses_what_is_not_this_ed25519_key(method: str) -> None:
    with pytest.raises(ValueError):
        proofs.resolve_did_key(method)


def test_base58btc_round_trips_leading_zero_bytes() -> None:
    for data in (b"", b"\0", b"\0\0\x01\xff", bytes(range(40))):
        assert proofs.base58btc_decode(proofs.base58btc_encode(data)) == data


# -- Data Integrity ----------------------------------------------------------------------------------------


def test_data_integrity_proof_verifies_with_the_issuer_did_key(issuer_key: Ed25519PrivateKey) -> None:
    signed = samples.sign(samples.credential(issuer_key), issuer_key)
    assert signed["proof"][0]["verificationMethod"].startswith(signed["issuer"]["id"] + "#")
    assert proofs.verify_data_integrity(signed, proofs.resolve_did_key)


@pytest.mark.parametrize("field", samples.TAMPERED_FIELDS)
def test_data_integrity_fails_when_a_certified_fact_is_changed(
    issuer_key: Ed25519PrivateKey, field: str
) -> None:
    signed = samples.sign(samples.credential(issuer_key), issuer_key)
    assert not proofs.verify_data_integrity(samples.tampered(signed, field), proofs.resolve_did_key)


def test_data_integrity_fails_when_an_unsigned_key_is_added(issuer_key: Ed25519PrivateKey) -> None:
    signed = samples.sign(samples.credential(issuer_key), issuer_key)
    # pyld would drop these keys before hashing, so the signature alone would still match.
    assert not proofs.verify_data_integrity({**signed, "note": "valid"}, proofs.resolve_did_key)
    with_proof_extra = {**signed, "proof": [{**signed["proof"][0], "note": "valid"}]}
    assert not proofs.verify_data_integrity(with_proof_extra, proofs.resolve_did_key)


def test_data_integrity_fails_when_signed_by_a_key_the_issuer_does_not_control(
    issuer_key: Ed25519PrivateKey,
) -> None:
    other = Ed25519PrivateKey.generate()
    forged = samples.sign(samples.credential(issuer_key), other)  # issuer says issuer_key, proof is other's
    assert not proofs.verify_data_integrity(forged, proofs.resolve_did_key)


def test_data_integrity_fails_on_a_garbled_or_missing_proof(issuer_key: Ed25519PrivateKey) -> None:
    signed = samples.sign(samples.credential(issuer_key), issuer_key)
    assert not proofs.verify_data_integrity(samples.credential(issuer_key), proofs.resolve_did_key)
    for change in (
        {"proofValue": "znotbase58!"},
        {"proofValue": "u" + signed["proof"][0]["proofValue"][1:]},
        {"cryptosuite": "eddsa-jcs-2022"},
        {"proofPurpose": "authentication"},
        {"verificationMethod": 5},
        {"created": "2026-03-02T09:30:01Z"},
    ):
        assert not proofs.verify_data_integrity(
            {**signed, "proof": [{**signed["proof"][0], **change}]}, proofs.resolve_did_key
        )


def test_signing_refuses_a_credential_with_undefined_terms(issuer_key: Ed25519PrivateKey) -> None:
    document = samples.credential(issuer_key)
    document["credentialSubject"]["grade"] = "A"
    with pytest.raises(UndefinedTerms, match="grade"):
        samples.sign(document, issuer_key)


def test_signing_refuses_a_naive_time(issuer_key: Ed25519PrivateKey) -> None:
    method = proofs.verification_method(issuer_key.public_key())
    with pytest.raises(ValueError, match="timezone"):
        proofs.add_data_integrity_proof(
            samples.credential(issuer_key),
            issuer_key,
            method,
            datetime(2026, 1, 1),  # noqa: DTZ001
        )


# -- VC-JWT ------------------------------------------------------------------------------------------------


def _signed_jwt(document: dict[str, Any], key: Ed25519PrivateKey) -> tuple[dict[str, Any], str]:
    signed = samples.sign(document, key)
    return signed, proofs.sign_vc_jwt(signed, key, proofs.verification_method(key.public_key()))


def test_vc_jwt_is_eddsa_with_the_issuers_did_url_as_kid_and_carries_the_credential_as_issued(
    issuer_key: Ed25519PrivateKey,
) -> None:
    document = samples.credential(issuer_key)
    document["validUntil"] = "2036-03-01T08:00:00Z"
    signed, token = _signed_jwt(document, issuer_key)
    header = jwt.get_unverified_header(token)
    method = proofs.verification_method(issuer_key.public_key())
    assert header == {"alg": "EdDSA", "typ": "JWT", "kid": method}  # no jwk: the key comes from the DID
    assert method.startswith(document["issuer"]["id"] + "#")
    payload = jwt.decode(token, options={"verify_signature": False})
    assert payload["iss"] == document["issuer"]["id"]
    assert payload["jti"] == document["id"]
    assert payload["sub"] == document["credentialSubject"]["id"]
    assert payload["nbf"] == datetime(2026, 3, 1, 8, tzinfo=UTC).timestamp()
    assert payload["exp"] == datetime(2036, 3, 1, 8, tzinfo=UTC).timestamp()
    # OB 3.0 section 8.2: the credential as issued, with its embedded proof.
    assert {k: v for k, v in payload.items() if k not in ("iss", "jti", "sub", "nbf", "exp")} == signed
    assert proofs.verify_vc_jwt(token, proofs.resolve_did_key) == signed


@pytest.mark.parametrize("field", samples.TAMPERED_FIELDS)
def test_vc_jwt_fails_when_a_certified_fact_is_changed(issuer_key: Ed25519PrivateKey, field: str) -> None:
    _, token = _signed_jwt(samples.credential(issuer_key), issuer_key)
    with pytest.raises(proofs.InvalidCredential):
        proofs.verify_vc_jwt(samples.tampered_jwt(token, field), proofs.resolve_did_key)


def _look_alike(issuer_key: Ed25519PrivateKey, *, jwk_header: bool, own_kid: bool) -> str:
    """A token claiming our issuer, signed by someone else's key (given in a jwk header, or as kid)."""
    impostor = Ed25519PrivateKey.generate()
    signed = samples.sign(samples.credential(issuer_key), issuer_key)
    payload = {**signed, "iss": signed["issuer"]["id"], "jti": signed["id"], "nbf": int(time.time()) - 60}
    payload["sub"] = signed["credentialSubject"]["id"]
    kid = proofs.verification_method((impostor if own_kid else issuer_key).public_key())
    headers: dict[str, Any] = {"typ": "JWT", "kid": kid}
    if jwk_header:
        headers["jwk"] = json.loads(jwk.JWK.from_pyca(impostor.public_key()).export_public())
    return jwt.encode(payload, impostor, algorithm="EdDSA", headers=headers)


@pytest.mark.parametrize(
    ("jwk_header", "own_kid", "message"),
    [(True, False, "carries a key"), (False, False, "rejected"), (False, True, "not a verification method")],
)
def test_vc_jwt_refuses_a_look_alike_signed_with_another_key(
    issuer_key: Ed25519PrivateKey, jwk_header: bool, own_kid: bool, message: str
) -> None:
    token = _look_alike(issuer_key, jwk_header=jwk_header, own_kid=own_kid)
    with pytest.raises(proofs.InvalidCredential, match=message):
        proofs.verify_vc_jwt(token, proofs.resolve_did_key)


def test_vc_jwt_fails_when_expired_or_not_yet_valid(issuer_key: Ed25519PrivateKey) -> None:
    expired = {**samples.credential(issuer_key), "validUntil": "2026-03-01T09:00:00Z"}
    future = {**samples.credential(issuer_key), "validFrom": "2999-01-01T00:00:00Z"}
    for document in (expired, future):
        _, token = _signed_jwt(document, issuer_key)
        with pytest.raises(proofs.InvalidCredential):
            proofs.verify_vc_jwt(token, proofs.resolve_did_key)


def test_vc_jwt_fails_when_claims_disagree_with_the_credential(issuer_key: Ed25519PrivateKey) -> None:
    signed = samples.sign(samples.credential(issuer_key), issuer_key)
    payload = {**signed, "iss": signed["issuer"]["id"], "jti": "urn:uuid:other", "nbf": int(time.time()) - 60}
    kid = proofs.verification_method(issuer_key.public_key())
    token = jwt.encode(payload, issuer_key, algorithm="EdDSA", headers={"kid": kid})
    with pytest.raises(proofs.InvalidCredential, match="disagree"):
        proofs.verify_vc_jwt(token, proofs.resolve_did_key)


def test_signing_refuses_a_kid_that_is_not_the_issuers(issuer_key: Ed25519PrivateKey) -> None:
    other = Ed25519PrivateKey.generate()
    signed = samples.sign(samples.credential(issuer_key), issuer_key)
    with pytest.raises(ValueError, match="issuer"):
        proofs.sign_vc_jwt(signed, other, proofs.verification_method(other.public_key()))


def test_a_legacy_rs256_vc_jwt_still_verifies_against_the_key_set(
    issuer_key: Ed25519PrivateKey, rsa_key: samples.RsaKey
) -> None:
    """Credentials issued before they had their own key were RS256 with the tool's key."""
    document = samples.credential(issuer_key)
    payload = {**document, "iss": document["issuer"]["id"], "jti": document["id"], "nbf": 1772352000}
    payload["sub"] = document["credentialSubject"]["id"]
    token = jwt.encode(payload, rsa_key.private_key, algorithm="RS256", headers={"kid": rsa_key.kid})
    assert proofs.verify_legacy_rs256_jwt(token, rsa_key.jwks) == document
    with pytest.raises(proofs.InvalidCredential):
        proofs.verify_legacy_rs256_jwt(token, samples.rsa_key(kid=rsa_key.kid).jwks)
    with pytest.raises(proofs.InvalidCredential):
        proofs.verify_vc_jwt(token, proofs.resolve_did_key)
