from __future__ import annotations

import copy
import hashlib
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from lti_tool.certificates import jsonld
from lti_tool.certificates.jsonld import UndefinedTerms, UnknownContext, check_well_defined, document_loader
from tests.unit.certificates import proof_samples as samples


@pytest.fixture(scope="module")
def credential() -> dict:
    return samples.credential(Ed25519PrivateKey.generate())


def test_every_indexed_context_is_shipped_and_is_a_json_ld_context() -> None:
    index = json.loads((jsonld.CONTEXTS_DIR / "index.json").read_text())
    assert "https://www.w3.org/ns/credentials/v2" in index
    assert "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json" in index
    assert "https://w3id.org/security/multikey/v1" in index
    for url in index:
        loaded = document_loader(url)
        assert loaded["documentUrl"] == url
        assert isinstance(loaded["document"]["@context"], dict)


def test_vc_v2_context_is_the_published_one() -> None:
    # The bytes of @digitalbazaar/credentials-context 3.2.0 (see contexts/README.md).
    data = (jsonld.CONTEXTS_DIR / "credentials-v2.jsonld").read_bytes()
    assert (
        hashlib.sha256(data).hexdigest() == "8a9f494a89ecc51db093e90e84713e07e84d6d9204364a9b3c7868b21751236f"
    )


def test_loader_never_fetches_an_unknown_context() -> None:
    with pytest.raises(UnknownContext, match="never fetched"):
        document_loader("https://www.w3.org/2018/credentials/v1")


def test_canonicalising_a_document_with_an_unknown_context_names_it(credential: dict) -> None:
    document = {
        **credential,
        "@context": [*credential["@context"], "https://w3id.org/security/suites/ed25519-2020/v1"],
    }
    with pytest.raises(UnknownContext, match="ed25519-2020"):
        jsonld.canonize(document)
    with pytest.raises(UnknownContext, match="ed25519-2020"):
        check_well_defined(document)


def test_a_well_formed_open_badge_passes_the_guard(credential: dict) -> None:
    check_well_defined(credential)
    assert "example.org/base" not in jsonld.canonize(credential)


def test_guard_catches_an_extra_undefined_key_at_any_depth(credential: dict) -> None:
    top = {**credential, "grade": "A"}
    with pytest.raises(UndefinedTerms, match="'grade'") as caught:
        check_well_defined(top)
    assert caught.value.terms == ("key 'grade'",)
    nested = copy.deepcopy(credential)
    nested["credentialSubject"]["achievement"]["criteria"]["threshold"] = 70
    with pytest.raises(UndefinedTerms, match="credentialSubject.achievement.criteria.threshold"):
        check_well_defined(nested)


def test_guard_catches_an_undefined_type(credential: dict) -> None:
    document = copy.deepcopy(credential)
    document["credentialSubject"]["achievement"]["type"] = ["Achievement", "DiplomeUniversitaire"]
    with pytest.raises(UndefinedTerms, match="DiplomeUniversitaire"):
        check_well_defined(document)


def test_guard_catches_a_relative_iri(credential: dict) -> None:
    document = {**credential, "id": "credentials/42"}
    with pytest.raises(UndefinedTerms, match="credentials/42"):
        check_well_defined(document)


def test_guard_catches_a_value_its_term_cannot_carry(credential: dict) -> None:
    # `url` is typed xsd:anyURI; an object there is not what the context describes.
    document = copy.deepcopy(credential)
    document["issuer"]["url"] = {"href": samples.BASE}
    with pytest.raises(UndefinedTerms):
        check_well_defined(document)


def test_guard_requires_a_context() -> None:
    with pytest.raises(UndefinedTerms, match="@context"):
        check_well_defined({"id": "urn:uuid:1", "type": ["VerifiableCredential"]})
