"""Proofs for Open Badges 3.0 credentials: Data Integrity ``eddsa-rdfc-2022`` with an Ed25519 did:key, and
VC-JWT (EdDSA, the same key, ``kid`` its DID URL) as in Open Badges 3.0 section 8.2.

The issuer of a credential is the did:key of the Ed25519 key, because offline verifiers require the proof's
verification method to be controlled by the credential's issuer.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
)
from pyld.jsonld import JsonLdError

from lti_tool.certificates.jsonld import DocumentLoader, canonize, check_well_defined, document_loader

ED25519_KEY_FILE = "ed25519.pem"
CRYPTOSUITE = "eddsa-rdfc-2022"
DID_CONTEXTS = ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"]
# Multicodec prefix of an Ed25519 public key (0xed as an unsigned varint).
_ED25519_PUB_PREFIX = b"\xed\x01"
_BASE58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
# Claims the VC-JWT adds to the credential; removed again when the token is read back.
_JWT_CLAIMS = ("iss", "jti", "nbf", "sub", "exp")


class InvalidCredential(ValueError):
    """A VC-JWT that does not verify, or whose claims disagree with the credential it carries."""


# -- keys and did:key --------------------------------------------------------------------------------------


def load_or_create_ed25519(directory: Path, *, legacy: Path | None = None) -> Ed25519PrivateKey:
    """The issuer's Ed25519 key from ``directory/ed25519.pem``, created (mode 0600) at first use; a key
    found in the ``legacy`` folder instead (where it was kept before) is moved there, so that the issuer's
    did:key, and every credential already issued, stays the same."""
    path = directory / ED25519_KEY_FILE
    old = legacy / ED25519_KEY_FILE if legacy is not None else None
    if not path.exists() and old is not None and old.exists():
        if not directory.exists():
            directory.mkdir(parents=True, mode=0o700)
        try:
            os.link(old, path)
        except FileExistsError:
            pass
        old.unlink(missing_ok=True)
    if not path.exists():
        if not directory.exists():
            directory.mkdir(parents=True, mode=0o700)
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
        # Written whole to a private temporary file, then linked into place: a concurrent first use
        # (two workers) keeps the key that got there first and never reads a half-written file.
        descriptor, temporary = tempfile.mkstemp(dir=directory, prefix=".ed25519-")
        try:
            with os.fdopen(descriptor, "wb") as file:
                file.write(pem)
            os.link(temporary, path)
            return key
        except FileExistsError:
            pass
        finally:
            os.unlink(temporary)
    loaded = load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(loaded, Ed25519PrivateKey):
        raise ValueError(f"{path} does not hold an Ed25519 private key")
    return loaded


def base58btc_encode(data: bytes) -> str:
    """Bitcoin base58 (no multibase prefix)."""
    number = int.from_bytes(data, "big")
    encoded = ""
    while number:
        number, remainder = divmod(number, 58)
        encoded = _BASE58_ALPHABET[remainder] + encoded
    leading_zeros = len(data) - len(data.lstrip(b"\0"))
    return "1" * leading_zeros + encoded


def base58btc_decode(text: str) -> bytes:
    """Inverse of ``base58btc_encode``; ValueError on a character outside the alphabet."""
    number = 0
    for char in text:
        digit = _BASE58_ALPHABET.find(char)
        if digit < 0:
            raise ValueError(f"not a base58btc character: {char!r}")
        number = number * 58 + digit
    leading_zeros = len(text) - len(text.lstrip("1"))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * leading_zeros + body


def public_key_multibase(public_key: Ed25519PublicKey) -> str:
    """The key as a Multikey ``publicKeyMultibase`` (``z6Mk…``)."""
    raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return "z" + base58btc_encode(_ED25519_PUB_PREFIX + raw)


def did_key(public_key: Ed25519PublicKey) -> str:
    """``did:key:z6Mk…`` for an Ed25519 public key."""
    return "did:key:" + public_key_multibase(public_key)


def verification_method(public_key: Ed25519PublicKey) -> str:
    """``did:key:z6Mk…#z6Mk…``, the id of the key inside its DID document."""
    return f"{did_key(public_key)}#{public_key_multibase(public_key)}"


def did_document(public_key: Ed25519PublicKey) -> dict[str, Any]:
    """The DID document a did:key resolver derives from the key (the key may assert and authenticate)."""
    did, method = did_key(public_key), verification_method(public_key)
    return {
        "@context": list(DID_CONTEXTS),
        "id": did,
        "verificationMethod": [
            {
                "id": method,
                "type": "Multikey",
                "controller": did,
                "publicKeyMultibase": public_key_multibase(public_key),
            }
        ],
        "authentication": [method],
        "assertionMethod": [method],
        "capabilityDelegation": [method],
        "capabilityInvocation": [method],
    }


def resolve_did_key(verification_method: str) -> Ed25519PublicKey:
    """The Ed25519 key named by a did:key (or one of its verification methods); ValueError otherwise."""
    did, _, fragment = verification_method.partition("#")
    multibase = did.removeprefix("did:key:")
    if multibase == did or not multibase.startswith("z") or (fragment and fragment != multibase):
        raise ValueError(f"not an Ed25519 did:key verification method: {verification_method!r}")
    data = base58btc_decode(multibase[1:])
    if not data.startswith(_ED25519_PUB_PREFIX) or len(data) != 2 + 32:
        raise ValueError(f"not an Ed25519 did:key: {did!r}")
    return Ed25519PublicKey.from_public_bytes(data[2:])


# -- Data Integrity eddsa-rdfc-2022 ------------------------------------------------------------------------


def add_data_integrity_proof(
    document: Mapping[str, Any],
    private_key: Ed25519PrivateKey,
    verification_method: str,
    created: datetime,
    *,
    loader: DocumentLoader = document_loader,
) -> dict[str, Any]:
    """A copy of ``document`` with an ``eddsa-rdfc-2022`` ``DataIntegrityProof`` for assertionMethod, as a
    one-element ``proof`` array (the Open Badges 3.0 JSON schema requires an array).

    Follows the W3C vc-di-eddsa algorithms: RDFC-1.0 of the proof options (with the document's
    ``@context``) and of the document, SHA-256 of each, Ed25519 over proofConfigHash + documentHash.
    Raises ``UndefinedTerms`` before signing anything a JSON-LD processor would not see.
    """
    if "proof" in document:
        raise ValueError("the document already has a proof; proof sets are not supported")
    check_well_defined(document, loader)
    options = {
        "type": "DataIntegrityProof",
        "cryptosuite": CRYPTOSUITE,
        "created": _xsd_datetime(created),
        "verificationMethod": verification_method,
        "proofPurpose": "assertionMethod",
    }
    signature = private_key.sign(_hash_data(document, {**options, "@context": document["@context"]}, loader))
    return {**document, "proof": [{**options, "proofValue": "z" + base58btc_encode(signature)}]}


def verify_data_integrity(
    document: Mapping[str, Any],
    resolve_public_key: Callable[[str], Ed25519PublicKey],
    *,
    loader: DocumentLoader = document_loader,
) -> bool:
    """True when the document's ``eddsa-rdfc-2022`` proof is valid, made by a key its issuer controls, and
    the document has nothing that the proof does not cover. ``resolve_did_key`` fits resolve_public_key.
    """
    try:
        proof = document["proof"]
        # One proof, as a one-element array (what we issue) or an object (credentials issued before).
        if isinstance(proof, list) and len(proof) == 1:
            proof = proof[0]
        if not isinstance(proof, Mapping):
            return False
        if (
            proof.get("type") != "DataIntegrityProof"
            or proof.get("cryptosuite") != CRYPTOSUITE
            or proof.get("proofPurpose") != "assertionMethod"
        ):
            return False
        method, proof_value = proof["verificationMethod"], proof["proofValue"]
        if not isinstance(method, str) or not isinstance(proof_value, str) or not proof_value.startswith("z"):
            return False
        unsecured = {key: value for key, value in document.items() if key != "proof"}
        if method.partition("#")[0] != _issuer_id(unsecured.get("issuer")):
            return False
        options = {key: value for key, value in proof.items() if key != "proofValue"}
        contexts = unsecured["@context"]
        if "@context" in options:
            # vc-di-eddsa: the proof's contexts must open the document's, in the same order.
            proof_contexts = options["@context"]
            if not isinstance(proof_contexts, list) or contexts[: len(proof_contexts)] != proof_contexts:
                return False
        else:
            options["@context"] = contexts
        # Keys that no context defines are left out of the canonical form, so they could be added to a
        # signed credential without breaking the signature: refuse them.
        check_well_defined(unsecured, loader)
        check_well_defined(options, loader)
        signature = base58btc_decode(proof_value[1:])
        resolve_public_key(method).verify(signature, _hash_data(unsecured, options, loader))
    except (InvalidSignature, JsonLdError, LookupError, TypeError, ValueError):
        # UndefinedTerms is a ValueError, UnknownContext and a missing member a LookupError.
        return False
    return True


def _hash_data(
    document: Mapping[str, Any], proof_options: Mapping[str, Any], loader: DocumentLoader
) -> bytes:
    proof_config_hash = hashlib.sha256(canonize(proof_options, loader).encode("utf-8")).digest()
    document_hash = hashlib.sha256(canonize(document, loader).encode("utf-8")).digest()
    return proof_config_hash + document_hash


# -- VC-JWT ------------------------------------------------------------------------------------------------
# Header members that would let a token carry its own key (or fetch one): a verifier that trusted them would
# accept a look-alike signed by anyone. Ours are never issued with them, and are refused when present.
_KEY_CARRYING_HEADERS = ("jwk", "jku", "x5c", "x5u")


def sign_vc_jwt(signed_credential: Mapping[str, Any], private_key: Ed25519PrivateKey, kid: str) -> str:
    """The credential as a VC-JWT (Open Badges 3.0 section 8.2): EdDSA with the issuer's Ed25519 key, header
    ``kid`` the DID URL of its verification method (so the key resolves from the issuer's did:key, offline),
    no ``jwk`` header; payload the credential as issued (with its Data Integrity proof) plus ``iss``,
    ``jti``, ``nbf``, ``sub`` and ``exp`` when it has validUntil."""
    if kid.partition("#")[0] != _issuer_id(signed_credential.get("issuer")):
        raise ValueError("the kid must be a verification method of the credential's issuer")
    clashing = [claim for claim in _JWT_CLAIMS if claim in signed_credential]
    if clashing:
        raise ValueError(f"the credential already has JWT claim names: {', '.join(clashing)}")
    payload = {**signed_credential, **_registered_claims(signed_credential)}
    return jwt.encode(payload, private_key, algorithm="EdDSA", headers={"typ": "JWT", "kid": kid})


def verify_vc_jwt(token: str, resolve_public_key: Callable[[str], Ed25519PublicKey]) -> dict[str, Any]:
    """The credential carried by an EdDSA VC-JWT whose ``kid`` is a verification method of its issuer,
    resolved by ``resolve_public_key`` (``resolve_did_key`` fits); raises ``InvalidCredential`` on a header
    that carries a key, a ``kid`` not of the issuer, a bad signature, an expired or not-yet-valid token, or
    claims that disagree with the credential."""
    try:
        header = jwt.get_unverified_header(token)
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError as error:
        raise InvalidCredential(f"not a JWT: {error}") from error
    if header.get("alg") != "EdDSA" or header.get("typ", "JWT") != "JWT":
        raise InvalidCredential(f"unexpected JWT header: alg={header.get('alg')!r} typ={header.get('typ')!r}")
    carried = [member for member in _KEY_CARRYING_HEADERS if member in header]
    if carried:
        raise InvalidCredential(f"the JWT header carries a key ({', '.join(carried)}), not trusted")
    kid = header.get("kid")
    issuer = _issuer_id(unverified.get("issuer"))
    if not isinstance(kid, str) or issuer is None or kid.partition("#")[0] != issuer:
        raise InvalidCredential(f"the kid {kid!r} is not a verification method of the issuer {issuer!r}")
    try:
        public_key = resolve_public_key(kid)
        payload: dict[str, Any] = jwt.decode(
            token, public_key, algorithms=["EdDSA"], options={"require": ["iss", "jti", "nbf"]}
        )
    except (jwt.InvalidTokenError, ValueError) as error:
        raise InvalidCredential(f"VC-JWT rejected: {error}") from error
    return _credential_in(payload)


def verify_legacy_rs256_jwt(token: str, jwks: Mapping[str, Any]) -> dict[str, Any]:
    """A VC-JWT issued before credentials had their own key: RS256 with a key of the tool's ``jwks`` (by
    ``kid``; retired keys keep their public part). Only for credentials already issued."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError as error:
        raise InvalidCredential(f"not a JWT: {error}") from error
    if header.get("alg") != "RS256" or header.get("typ", "JWT") != "JWT":
        raise InvalidCredential(f"unexpected JWT header: alg={header.get('alg')!r} typ={header.get('typ')!r}")
    matching = [key for key in jwks.get("keys", []) if key.get("kid") == header.get("kid")]
    if len(matching) != 1:
        raise InvalidCredential(f"no single key {header.get('kid')!r} in the key set")
    embedded, published = header.get("jwk"), matching[0]
    if embedded is not None and (embedded.get("n"), embedded.get("e")) != (
        published.get("n"),
        published.get("e"),
    ):
        raise InvalidCredential("the jwk header is not the key the key set publishes under that kid")
    try:
        public_key = jwt.PyJWK(dict(published), algorithm="RS256").key
        payload: dict[str, Any] = jwt.decode(
            token, public_key, algorithms=["RS256"], options={"require": ["iss", "jti", "nbf"]}
        )
    except (jwt.InvalidTokenError, jwt.PyJWKError) as error:
        raise InvalidCredential(f"VC-JWT rejected: {error}") from error
    return _credential_in(payload)


def _credential_in(payload: dict[str, Any]) -> dict[str, Any]:
    """The credential a verified JWT payload carries, once its registered claims agree with it."""
    credential = {key: value for key, value in payload.items() if key not in _JWT_CLAIMS}
    try:
        expected = _registered_claims(credential)
    except (KeyError, TypeError, ValueError) as error:
        raise InvalidCredential(f"the credential in the VC-JWT is malformed: {error}") from error
    actual = {claim: payload[claim] for claim in _JWT_CLAIMS if claim in payload}
    if actual != expected:
        raise InvalidCredential(f"JWT claims {actual} disagree with the credential ({expected})")
    return credential


def _registered_claims(credential: Mapping[str, Any]) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "iss": _issuer_id(credential["issuer"]),
        "jti": credential["id"],
        "nbf": _epoch(credential["validFrom"]),
    }
    subject = credential.get("credentialSubject")
    if isinstance(subject, Mapping) and "id" in subject:
        claims["sub"] = subject["id"]
    if "validUntil" in credential:
        claims["exp"] = _epoch(credential["validUntil"])
    return claims


# -- helpers -----------------------------------------------------------------------------------------------


def _issuer_id(issuer: Any) -> str | None:
    if isinstance(issuer, str):
        return issuer
    if isinstance(issuer, Mapping) and isinstance(issuer.get("id"), str):
        return str(issuer["id"])
    return None


def _xsd_datetime(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("proof times must be timezone-aware")
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _epoch(xsd_datetime: str) -> int:
    moment = datetime.fromisoformat(xsd_datetime)
    if moment.tzinfo is None:
        raise ValueError(f"credential times must carry a time zone: {xsd_datetime!r}")
    return int(moment.timestamp())
