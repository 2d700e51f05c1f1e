"""Public verification over real HTTP: the verification page (valid, revoked, unknown), pasted credentials
(ours, tampered, foreign, unparseable), downloads, the status list, the framework and criteria pages, and
hosted Open Badges 2.0. The learner follows modules through the demo platform; credentials are issued
with ``issuing.issue`` (earning them from the thresholds is tested in test_competences)."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import time
import uuid
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import Flask
from jwcrypto.jwk import JWK
from openbadgeslib.ob2 import OB2VerificationError, OB2Verifier
from pypdf import PdfReader
from sqlalchemy import event, select

from lti_tool.certificates import credentials as ob
from lti_tool.certificates import issuing, proofs
from lti_tool.certificates.documents import NBSP
from lti_tool.certificates.evidence import evidence_document
from lti_tool.competences import services as competences
from lti_tool.competences.services import rules_of
from lti_tool.content.loader import Content
from lti_tool.db import db
from lti_tool.learners.models import Learner as LearnerRow
from lti_tool.training.models import Deliverable
from tests.conftest import LiveServer
from tests.functional.test_plain_words import outside_details
from tests.functional.test_player import Learner, take_quiz
from tests.helpers import LtiBrowser, Platform, error_code
from tests.verifiers.independent import jose_verify, openbadgeslib_verify
from tests.verifiers.schema import ob3_schema_errors

SESSION_TITLE = "Atelier alliances"
PRIOR_REASON = "Diplôme de fundraising et cinq ans de collecte de fonds."


@pytest.fixture(scope="module")
def server(live_server: LiveServer) -> LiveServer:
    """The suite's Socle (SQLite, or PostgreSQL when the suite runs on it), on loopback."""
    return live_server


@dataclass
class Issued:
    url: str
    app: Flask
    learner_pk: int
    context_pk: int
    email: str
    ids: dict[str, str]  # achievement -> credential id
    learner: Learner  # the holder, with their launch
    facilitator: Learner  # staff of the holder's course


@pytest.fixture(scope="module")
def issued(server: LiveServer) -> Issued:
    """A learner who passed M1's quiz at 8/10, followed M5 (live session attended, canvas assessed)
    and had M3 recognised as prior learning; credentials B1, B2, B3 and the fundraiser certificate."""
    app = server.app
    loaded: Content = app.extensions["socle_content"]
    platform = Platform(app.extensions["socle_demo_platform"], server.url)
    course = {"id": f"course-{time.time_ns()}", "title": "Promotion vérification"}
    learner = Learner(LtiBrowser(server.url, platform), context=course)
    facilitator = Learner(LtiBrowser(server.url, platform), user="instructor", context=course)
    for module_id, correct in (("M1", 8), ("M5", None)):
        module = loaded.module(module_id)
        assert module is not None
        for number in range(1, len(module.pages) + 1):
            assert learner.get(f"/modules/{module.slug}/pages/{number}").status_code == 200
        take_quiz(learner, module, correct=len(module.quiz.questions) if correct is None else correct)
    m5 = loaded.module("M5")
    assert m5 is not None and m5.meta.deliverable is not None
    text = " ".join(["partenariat"] * m5.meta.deliverable.min_words)
    assert learner.post(f"/modules/{m5.slug}/deliverable", {"text": text}).status_code == 303
    with app.app_context():
        row = db.session.scalar(select(LearnerRow).where(LearnerRow.sub == learner.sub))
        staff = db.session.scalar(select(LearnerRow).where(LearnerRow.sub == facilitator.sub))
        assert row is not None and staff is not None
        pk, staff_pk, email = row.id, staff.id, row.email or ""
        db.session.remove()
    created = facilitator.post(
        "/staff/sessions",
        {
            "kind": "atelier",
            "title": SESSION_TITLE,
            "starts_at": "2026-12-03T14:00",
            "duration_minutes": "120",
            "module_id": "M5",
        },
    )
    assert created.status_code == 303, error_code(created)
    assert (
        facilitator.post(created.headers["Location"].split("?")[0], {"present": [str(pk)]}).status_code == 303
    )
    with app.app_context():
        scope = issuing.learner_scope(db.session, pk, _context_of(pk))
        facilitator_scope = issuing.learner_scope(db.session, staff_pk, scope.context_pk)
        deliverable = db.session.scalar(select(Deliverable.id).where(Deliverable.learner_id == pk))
        assert deliverable is not None
        grid = m5.meta.deliverable.rubric
        assert grid is not None
        levels = {c.id: c.required for c in grid.criteria}
        competences.review_deliverable(
            db.session, facilitator_scope, deliverable, True, "Canevas complet.", loaded, levels
        )
        m3 = loaded.module("M3")
        assert m3 is not None
        competences.recognise_prior_learning(db.session, facilitator_scope, pk, m3, PRIOR_REASON, loaded)
        rules = rules_of(loaded)
        ids = {
            achievement: issuing.issue(db.session, scope, loaded, rules, achievement, track).id
            for achievement, track in (
                ("B1", None),
                ("B2", None),
                ("B3", None),
                ("certificate-fundraiser", "fundraiser"),
            )
        }
        db.session.commit()
        context_pk = scope.context_pk
        db.session.remove()
    return Issued(server.url, app, pk, context_pk, email, ids, learner, facilitator)


REVOCATION_REASON = "Délivré par erreur : le jury n'a pas validé le bloc."


@pytest.fixture(scope="module")
def revoked(issued: Issued) -> str:
    """B2, revoked with a reason; the id of the credential."""
    with issued.app.app_context():
        issuing.revoke(
            db.session, issued.ids["B2"], REVOCATION_REASON, "jury", issued.app.extensions["socle_content"]
        )
        db.session.commit()
        db.session.remove()
    return issued.ids["B2"]


def _context_of(learner_pk: int) -> int:
    from lti_tool.learners.models import Enrolment

    value = db.session.scalar(select(Enrolment.context_pk).where(Enrolment.learner_id == learner_pk))
    assert value is not None
    return int(value)


def get(issued: Issued, path: str, **headers: str) -> requests.Response:
    return requests.get(issued.url + path, headers=headers, timeout=10)


def paste(issued: Issued, text: str) -> requests.Response:
    return requests.post(issued.url + "/verify", data={"credential": text}, timeout=10)


def status_of(page: requests.Response) -> str:
    marker = 'data-status="'
    assert marker in page.text, page.text[:500]
    return page.text.split(marker, 1)[1].split('"', 1)[0]


# -- the verification page
def test_the_verification_page_says_valid_and_shows_what_was_certified(issued: Issued) -> None:
    page = get(issued, f"/verify/{issued.ids['B1']}")
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert status_of(page) == "valid"
    assert '<html lang="fr">' in page.text and "<caption>" in page.text
    assert "Bloc B1 — Analyser et mettre en cohérence" in page.text
    assert "Apprenant·e Démonstration" in page.text  # the name in the credential
    assert "Preuve Data Integrity (eddsa-rdfc-2022)" in page.text and "Signature VC-JWT (EdDSA)" in page.text
    # the technical names only in the folded « Détails techniques »; in plain words, the issuer's signature
    visible = outside_details(page.text)
    assert "eddsa-rdfc-2022" not in visible and "did:key" not in visible and "did:key:" in page.text
    assert (
        "signature de l" in visible and "<strong>valide</strong>" in page.text.split("Signature de l", 1)[1]
    )
    for suffix in ("credential.json", "credential.jwt", "certificate.pdf"):
        assert f"/verify/{issued.ids['B1']}/{suffix}" in page.text
    # The evidence file is the holder's: not offered to anyone with the link (see the evidence tests).
    assert "/evidence." not in page.text and 'data-testid="evidence-private"' in page.text
    assert f"/ob2/assertions/{issued.ids['B1']}" in page.text and "sac à badges Moodle" in page.text
    assert page.headers["X-Robots-Tag"].startswith("noindex")


def test_the_verification_page_speaks_english_through_the_language_switch(issued: Issued) -> None:
    page = get(issued, f"/verify/{issued.ids['B1']}?lang=en")
    assert page.status_code == 200 and '<html lang="en">' in page.text
    assert "Credential verification" in page.text and status_of(page) == "valid"
    assert "The evidence file is shown only to the holder and to the course" in page.text


def test_a_revoked_credential_says_so_with_the_reason_and_its_status_bit_is_set(
    issued: Issued, revoked: str
) -> None:
    with issued.app.app_context():
        credential = issuing.get(db.session, revoked)
        number, index = credential.status_list, credential.status_index
        other = issuing.get(db.session, issued.ids["B1"]).status_index
        db.session.remove()
    page = get(issued, f"/verify/{revoked}")
    assert page.status_code == 200 and status_of(page) == "revoked"
    assert REVOCATION_REASON.replace("'", "&#39;") in page.text
    assert f"/verify/{revoked}/certificate.pdf" not in page.text
    listed = get(issued, f"/credentials/status/{number}")
    assert listed.status_code == 200 and listed.headers["Content-Type"].startswith("application/json")
    assert "max-age=300" in listed.headers["Cache-Control"]
    document = listed.json()
    bits = ob.decode_list(document["credentialSubject"]["encodedList"])
    assert ob.is_set(bits, index) and not ob.is_set(bits, other)
    assert document["proof"][0]["cryptosuite"] == "eddsa-rdfc-2022"
    gone = get(issued, f"/ob2/assertions/{revoked}")
    assert gone.status_code == 410
    assert gone.json()["revoked"] is True and gone.json()["revocationReason"] == REVOCATION_REASON
    assert get(issued, f"/verify/{revoked}/certificate.pdf").status_code == 410


def test_the_certificate_that_counted_a_revoked_bloc_is_revoked_with_the_blocs_reason(
    issued: Issued, revoked: str
) -> None:
    certificate = issued.ids["certificate-fundraiser"]
    with issued.app.app_context():
        stored = issuing.get(db.session, certificate)
        number, index, reason = stored.status_list, stored.status_index, stored.revoked_reason
        db.session.remove()
    assert reason == f"Bloc B2 révoqué : {REVOCATION_REASON}"
    page = get(issued, f"/verify/{certificate}")
    assert page.status_code == 200 and status_of(page) == "revoked"
    assert reason.replace("'", "&#39;") in page.text
    document = get(issued, f"/credentials/status/{number}").json()
    assert ob.is_set(ob.decode_list(document["credentialSubject"]["encodedList"]), index)
    assert get(issued, f"/verify/{certificate}/certificate.pdf").status_code == 410
    assert get(issued, f"/ob2/assertions/{certificate}").status_code == 410
    for suffix in ("credential.json", "credential.jwt"):
        pasted = paste(issued, get(issued, f"/verify/{certificate}/{suffix}").text)
        assert status_of(pasted) == "revoked", suffix
    # the blocs not revoked stay valid
    assert status_of(get(issued, f"/verify/{issued.ids['B1']}")) == "valid"


def test_a_stored_credential_altered_in_the_database_shows_invalid(issued: Issued) -> None:
    with issued.app.app_context():
        credential = issuing.get(db.session, issued.ids["B3"])
        document = json.loads(credential.document)
        document["credentialSubject"]["result"][0]["value"] = "100"
        credential.document = json.dumps(document, ensure_ascii=False)
        db.session.commit()
        db.session.remove()
    page = get(issued, f"/verify/{issued.ids['B3']}")
    assert page.status_code == 200 and status_of(page) == "invalid"
    checks = page.text.split('id="checks-title"', 1)[1].split("</section>", 1)[0]
    assert "Preuve Data Integrity" in checks and "<strong>invalide</strong>" in checks


@pytest.mark.parametrize("credential_id", [str(uuid.uuid4()), "not-a-uuid", "urn:uuid:" + str(uuid.uuid4())])
def test_unknown_and_malformed_ids_answer_404_unknown(issued: Issued, credential_id: str) -> None:
    page = get(issued, f"/verify/{credential_id}")
    assert page.status_code == 404 and status_of(page) == "unknown"
    for suffix in ("credential.json", "credential.jwt", "certificate.pdf", "evidence.json"):
        assert get(issued, f"/verify/{credential_id}/{suffix}").status_code == 404
    assertion = get(issued, f"/ob2/assertions/{credential_id}")
    assert assertion.status_code == 404 and assertion.json()["error"] == "not_found"
    assert get(issued, "/credentials/status/999").status_code == 404


# -- pasted credentials
def test_our_own_json_and_jwt_pass_when_pasted(issued: Issued) -> None:
    document = get(issued, f"/verify/{issued.ids['B1']}/credential.json").text
    token = get(issued, f"/verify/{issued.ids['B1']}/credential.jwt").text
    pretty = json.dumps(json.loads(document), indent=4)  # reformatting is not tampering
    for text in (document, pretty, token, f"  {token}\n"):
        page = paste(issued, text)
        assert page.status_code == 200 and status_of(page) == "valid", text[:80]
        assert "Bloc B1 — Analyser et mettre en cohérence" in page.text


def test_a_pasted_revoked_credential_says_revoked(issued: Issued, revoked: str) -> None:
    for suffix in ("credential.json", "credential.jwt"):
        page = paste(issued, get(issued, f"/verify/{revoked}/{suffix}").text)
        assert page.status_code == 200 and status_of(page) == "revoked"


def _tampered_documents(document: dict[str, Any]) -> list[dict[str, Any]]:
    raised = json.loads(json.dumps(document))
    raised["credentialSubject"]["result"][0]["value"] = "100"
    renamed = json.loads(json.dumps(document))
    renamed["credentialSubject"]["identifier"][0]["identityHash"] = "Quelqu'un d'autre"
    unknown_id = json.loads(json.dumps(document))
    unknown_id["id"] = f"urn:uuid:{uuid.uuid4()}"
    no_proof = {key: value for key, value in document.items() if key != "proof"}
    return [raised, renamed, unknown_id, no_proof]


def test_a_tampered_pasted_credential_fails(issued: Issued) -> None:
    document = get(issued, f"/verify/{issued.ids['B1']}/credential.json").json()
    for number, tampered in enumerate(_tampered_documents(document)):
        page = paste(issued, json.dumps(tampered, ensure_ascii=False))
        assert page.status_code == 200 and status_of(page) == "tampered"
        if number < 2:  # a changed value: the proof itself is checked, and fails
            checks = page.text.split('id="checks-title"', 1)[1].split("</section>", 1)[0]
            assert "Preuve Data Integrity" in checks and "<strong>invalide</strong>" in checks
    token = get(issued, f"/verify/{issued.ids['B1']}/credential.jwt").text
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["name"] = "Certificat d'aptitude — tout validé"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    page = paste(issued, f"{header}.{forged}.{signature}")
    assert page.status_code == 200 and status_of(page) == "tampered"


def test_a_credential_from_another_issuer_is_foreign(issued: Issued) -> None:
    key = Ed25519PrivateKey.generate()
    other = proofs.did_key(key.public_key())
    document = get(issued, f"/verify/{issued.ids['B1']}/credential.json").json()
    unsigned = {k: v for k, v in document.items() if k != "proof"}
    unsigned["issuer"] = {**unsigned["issuer"], "id": other, "url": "https://other.example"}
    signed = proofs.add_data_integrity_proof(
        unsigned, key, proofs.verification_method(key.public_key()), datetime.now(UTC)
    )
    assert proofs.verify_data_integrity(signed, proofs.resolve_did_key)  # a genuine credential, not ours
    page = paste(issued, json.dumps(signed))
    assert page.status_code == 200 and status_of(page) == "foreign"


@pytest.mark.parametrize(
    "text", ["bonjour", "[1, 2, 3]", '{"issuer": ', "a.b", "aaaa.bbbb.cccc", "x" * 10 + "." + "y" * 10 + ".!"]
)
def test_unparseable_pasted_text_is_400(issued: Issued, text: str) -> None:
    page = paste(issued, text)
    assert page.status_code == 400 and error_code(page) == "unparseable"


def test_pasted_text_is_limited_to_64_kib(issued: Issued) -> None:
    page = paste(issued, "{" + " " * (64 * 1024) + "}")
    assert page.status_code == 413 and error_code(page) == "too_large"
    assert (
        requests.post(issued.url + "/verify", data={"credential": "x" * 300_000}, timeout=10).status_code
        == 413
    )


def test_a_credential_file_can_be_uploaded(issued: Issued) -> None:
    document = get(issued, f"/verify/{issued.ids['B1']}/credential.json").content
    page = requests.post(issued.url + "/verify", files={"file": ("badge.json", document)}, timeout=10)
    assert page.status_code == 200 and status_of(page) == "valid"


def test_the_verification_form_is_public(issued: Issued) -> None:
    page = get(issued, "/verify")
    assert page.status_code == 200 and '<textarea id="credential" name="credential"' in page.text


# -- downloads
def test_downloads_have_the_right_content_types(issued: Issued) -> None:
    base = f"/verify/{issued.ids['B1']}"  # the certificate follows B2, revoked by the tests above
    expected = {
        "credential.json": "application/json",
        "credential.jwt": "application/jwt",
        "certificate.pdf": "application/pdf",
        "evidence.pdf": "application/pdf",
        "evidence.json": "application/json",
    }
    for suffix, media_type in expected.items():
        response = issued.learner.get(f"{base}/{suffix}")  # the holder
        assert response.status_code == 200, suffix
        assert response.headers["Content-Type"].split(";")[0] == media_type, suffix
        assert response.headers["Content-Disposition"].startswith("attachment; filename="), suffix
    with issued.app.app_context():
        stored = issuing.get(db.session, issued.ids["B1"])
        assert get(issued, f"{base}/credential.json").content == stored.document.encode("utf-8")
        assert get(issued, f"{base}/credential.jwt").text == stored.jwt
        db.session.remove()
    assert get(issued, f"{base}/certificate.pdf").content.startswith(b"%PDF-")


def test_the_vc_jwt_still_verifies_after_the_lti_keys_are_rotated_and_retired(issued: Issued) -> None:
    """The credentials have their own key: rotating and retiring the LTI keys changes nothing for them."""
    runner = issued.app.test_cli_runner()
    assert runner.invoke(args=["keys", "rotate"]).exit_code == 0
    retired = runner.invoke(args=["keys", "retire"])
    assert retired.exit_code == 0 and "Retired 1" in retired.output, retired.output
    config = issued.app.config
    assert (Path(config["CREDENTIAL_KEYS_DIR"]) / "ed25519.pem").exists()
    assert not (Path(config["KEYS_DIR"]) / "ed25519.pem").exists()
    token = get(issued, f"/verify/{issued.ids['B1']}/credential.jwt").text
    header = jwt.get_unverified_header(token)
    document = get(issued, f"/verify/{issued.ids['B1']}/credential.json").json()
    assert header == {"alg": "EdDSA", "typ": "JWT", "kid": document["proof"][0]["verificationMethod"]}
    assert header["kid"].startswith(document["issuer"]["id"] + "#z6Mk")
    verdict = jose_verify(token)
    assert verdict.ok, verdict.details
    # OB 3.0 section 8.2: the payload is the credential as issued, with its Data Integrity proof.
    assert {
        k: v for k, v in verdict.details["payload"].items() if k not in ("iss", "jti", "sub", "nbf")
    } == document
    assert openbadgeslib_verify(token).ok
    assert status_of(get(issued, f"/verify/{issued.ids['B1']}")) == "valid"
    assert status_of(paste(issued, token)) == "valid"


def test_a_credential_issued_before_still_verifies_proof_object_and_rs256_jwt(issued: Issued) -> None:
    """Credentials issued by the previous version: a proof object, a VC-JWT RS256 with the tool's key."""
    from lti_tool.lti.runtime import runtime

    app = issued.app
    with app.test_request_context():
        scope = issuing.learner_scope(db.session, issued.learner_pk, issued.context_pk)
        loaded = app.extensions["socle_content"]
        credential = issuing.issue(db.session, scope, loaded, rules_of(loaded), "B4", None)
        signed = json.loads(credential.document)
        legacy = {**signed, "proof": signed["proof"][0]}
        unsecured = {k: v for k, v in signed.items() if k != "proof"}
        rsa = runtime().keys.active()
        claims = {
            "iss": signed["issuer"]["id"],
            "jti": signed["id"],
            "sub": signed["credentialSubject"]["id"],
        }
        payload = {**unsecured, **claims, "nbf": int(datetime.fromisoformat(signed["validFrom"]).timestamp())}
        headers = {"typ": "JWT", "kid": rsa.kid, "jwk": rsa.public_jwk}
        token = jwt.encode(payload, rsa.private_key, algorithm="RS256", headers=headers)
        credential.document, credential.jwt = json.dumps(legacy, ensure_ascii=False), token
        credential_id = credential.id
        db.session.commit()
        db.session.remove()
    page = get(issued, f"/verify/{credential_id}")
    assert status_of(page) == "valid", page.text
    for text in (json.dumps(legacy), token):
        assert status_of(paste(issued, text)) == "valid"
    forged = jwt.encode(payload, Ed25519PrivateKey.generate(), algorithm="EdDSA", headers={"kid": rsa.kid})
    assert status_of(paste(issued, forged)) == "tampered"


def test_a_pasted_look_alike_jwt_with_its_own_jwk_header_is_refused(issued: Issued) -> None:
    token = get(issued, f"/verify/{issued.ids['B1']}/credential.jwt").text
    header = jwt.get_unverified_header(token)
    payload = jwt.decode(token, options={"verify_signature": False})
    impostor = Ed25519PrivateKey.generate()
    own_jwk = json.loads(JWK.from_pyca(impostor.public_key()).export_public())
    look_alike = jwt.encode(payload, impostor, algorithm="EdDSA", headers={**header, "jwk": own_jwk})
    assert jose_verify(look_alike, embedded_jwk=True).ok  # a verifier trusting the header would accept it
    assert not jose_verify(look_alike).ok
    page = paste(issued, look_alike)
    assert page.status_code == 200 and status_of(page) == "tampered"


def test_every_issued_credential_conforms_to_the_official_ob3_schema(issued: Issued) -> None:
    for achievement, credential_id in issued.ids.items():
        document = get(issued, f"/verify/{credential_id}/credential.json").json()
        assert ob3_schema_errors(document) == [], achievement
        token = get(issued, f"/verify/{credential_id}/credential.jwt").text
        payload = jwt.decode(token, options={"verify_signature": False})
        assert ob3_schema_errors(payload) == [], achievement


def test_the_evidence_file_traces_each_competence_to_its_statements(issued: Issued) -> None:
    data = issued.learner.get(f"/verify/{issued.ids['B1']}/evidence.json").json()
    assert data["format"] == "socle-evidence" and data["learner"]["name"] == "Apprenant·e Démonstration"
    by_code = {c["code"]: c for c in data["competences"]}
    assert sorted(by_code) == [f"C{i}" for i in range(1, 10)]  # the fundraiser track
    c1 = [item["what"] for item in by_code["C1"]["evidence"]]
    assert f"Quiz M1 réussi — 80{NBSP}%" in c1 and "Module M1 terminé" in c1
    c6 = [item["what"] for item in by_code["C6"]["evidence"]]
    assert f"Présence à la séance « {SESSION_TITLE} »" in c6
    assert any(what.startswith("Production « Canevas de partenariat » évaluée sur sa grille") for what in c6)
    # M3 recognised from prior learning; C3 also waits for the B2 resource plan (M4) to be assessed
    assert by_code["C3"]["status"] == "en cours"
    assert [item["what"] for item in by_code["C3"]["evidence"]] == [
        f"Acquis antérieurs reconnus pour M3 : {PRIOR_REASON}"
    ]
    assert by_code["C1"]["status"] == "en cours" and by_code["C1"]["required"] == 70
    assert all(item["statement_id"] for c in data["competences"] for item in c["evidence"])
    assert data["hours"] == 4.0  # M1 (90 min) and M5 (150 min) completed
    assert [s["title"] for s in data["sessions_attended"]] == [SESSION_TITLE]
    # Frozen when B1 was issued (first): it lists B1; the certificate's (issued last) lists them all.
    assert [c["id"] for c in data["credentials"]] == [issued.ids["B1"]]
    last = issued.learner.get(f"/verify/{issued.ids['certificate-fundraiser']}/evidence.json").json()
    assert {c["id"] for c in last["credentials"]} == set(issued.ids.values())


def test_the_evidence_file_is_frozen_at_issue_and_the_credential_names_its_digest(issued: Issued) -> None:
    credential_id = issued.ids["B1"]
    document = get(issued, f"/verify/{credential_id}/credential.json").json()
    (entry,) = document["evidence"]
    assert entry["id"] == f"{issued.url}/verify/{credential_id}/evidence.json"
    frozen = issued.learner.get(f"/verify/{credential_id}/evidence.json").content
    digest = "sha256-" + base64.b64encode(hashlib.sha256(frozen).digest()).decode()
    assert entry["digestSRI"] == digest  # inside the signed credential: a jury can check the file
    data = json.loads(frozen)
    assert data["generated_at"] == document["validFrom"]
    # Later activity changes the learner's file, not the one frozen with the credential.
    m2 = issued.app.extensions["socle_content"].module("M2")
    assert issued.learner.get(f"/modules/{m2.slug}/pages/1").status_code == 200
    assert issued.learner.get(f"/verify/{credential_id}/evidence.json").content == frozen
    assert issued.facilitator.get(f"/verify/{credential_id}/evidence.json").content == frozen
    with issued.app.app_context():
        stored = issuing.get(db.session, credential_id)
        assert stored.evidence is not None and stored.evidence.encode("utf-8") == frozen
        db.session.remove()
    # The PDF says the same: rendered from the frozen file.
    pdf = issued.learner.get(f"/verify/{credential_id}/evidence.pdf")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert data["competences"][0]["evidence"][0]["what"].split()[0] in text


def test_the_evidence_file_is_the_holders_and_the_courses_staffs_unless_the_holder_shares_it(
    issued: Issued, server: LiveServer
) -> None:
    credential_id = issued.ids["B1"]
    for suffix in ("evidence.json", "evidence.pdf"):
        refused = get(issued, f"/verify/{credential_id}/{suffix}")
        assert refused.status_code == 403 and error_code(refused) == "evidence_private", suffix
        assert "non réussi" not in refused.text and "Quiz" not in refused.text
        assert issued.learner.get(f"/verify/{credential_id}/{suffix}").status_code == 200, suffix
        assert issued.facilitator.get(f"/verify/{credential_id}/{suffix}").status_code == 200, suffix
    # Someone launched from another course is anyone else.
    platform = Platform(server.app.extensions["socle_demo_platform"], server.url)
    other_course = {"id": f"course-{time.time_ns()}", "title": "Une autre promotion"}
    stranger = Learner(LtiBrowser(server.url, platform), user="instructor", context=other_course)
    assert stranger.get(f"/verify/{credential_id}/evidence.json").status_code == 403
    # The holder's page offers the links, with their launch; the public page does not.
    mine = issued.learner.get(f"/verify/{credential_id}")
    assert 'data-testid="evidence-json"' in mine.text and f"launch={issued.learner.launch}" in mine.text
    # The holder shares it from « Mes compétences »: recorded, then anyone with the link sees it.
    page = issued.learner.get("/competences/")
    assert 'data-testid="share-B1"' in page.text
    share = f"/competences/credentials/{credential_id}/share"
    assert issued.facilitator.post(share, {"shared": "1"}).status_code == 404  # only the holder decides
    assert issued.learner.post(share, {"shared": "maybe"}).status_code == 400
    assert issued.learner.post(share, {"shared": "1"}).status_code == 303
    with issued.app.app_context():
        shared_at = issuing.get(db.session, credential_id).evidence_shared_at
        db.session.remove()
    assert shared_at is not None
    assert get(issued, f"/verify/{credential_id}/evidence.json").status_code == 200
    public = get(issued, f"/verify/{credential_id}")
    assert 'data-testid="evidence-json"' in public.text and "launch=" not in public.text
    # ... and can take it back.
    assert issued.learner.post(share, {"shared": "0"}).status_code == 303
    assert get(issued, f"/verify/{credential_id}/evidence.json").status_code == 403


def test_the_evidence_file_takes_a_handful_of_queries(issued: Issued) -> None:
    statements: list[str] = []
    with issued.app.app_context():

        def count(*args: Any) -> None:
            statements.append(str(args[2]))

        event.listen(db.engine, "before_cursor_execute", count)
        try:
            document = evidence_document(
                db.session, issued.learner_pk, issued.context_pk, issued.app.extensions["socle_content"]
            )
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        db.session.remove()
    assert sum(len(c.items) for c in document.competences) >= 8
    assert len(statements) <= 14, statements


# -- framework and criteria
def test_the_framework_page_anchors_each_competence_and_states_the_rules(issued: Issued) -> None:
    page = get(issued, "/achievements/framework")
    assert page.status_code == 200
    for code in [*(f"C{i}" for i in range(1, 10)), *(f"B{i}" for i in range(1, 5))]:
        assert f'id="{code}"' in page.text
    version = issued.app.extensions["socle_content"].thresholds.version
    assert f"Règles de maîtrise (version {version})" in page.text and "<caption>" in page.text


def test_criteria_pages_for_blocs_and_certificates_and_404_otherwise(issued: Issued) -> None:
    for code in ("B1", "B4", "certificate-fundraiser", "certificate-grantmaker"):
        page = get(issued, f"/achievements/{code}")
        assert page.status_code == 200 and "Critères d'attribution" in page.text, code
    assert "B2" not in get(issued, "/achievements/certificate-grantmaker").text.split("<h2")[1]
    for code in ("B9", "certificate-nobody", "framework2"):
        assert get(issued, f"/achievements/{code}").status_code == 404
    for code in ("B1", "certificate-fundraiser"):
        url = f"{issued.url}/achievements/{code}"
        achievement = get(issued, f"/achievements/{code}", Accept="application/json")
        assert achievement.status_code == 200
        assert achievement.headers["Content-Type"].startswith("application/json")
        assert achievement.json()["id"] == url and achievement.json()["type"] == ["Achievement"]


def test_issuer_and_achievements_carry_what_wallets_and_backpacks_show(issued: Issued) -> None:
    from PIL import Image

    document = get(issued, f"/verify/{issued.ids['certificate-fundraiser']}/credential.json").json()
    issuer = document["issuer"]
    config = issued.app.config
    assert issuer["name"] == config["CERTIFICATE_ISSUER_NAME"] and issuer["url"] == issued.url
    assert issuer["email"] == config["CERTIFICATE_ISSUER_EMAIL"] and "@" in issuer["email"]
    assert issuer["description"] == config["CERTIFICATE_ISSUER_DESCRIPTION"]
    achievement = document["credentialSubject"]["achievement"]
    for image, title in (
        (issuer["image"], issuer["name"]),
        (achievement["image"], achievement["name"]),
    ):
        assert image["type"] == "Image"
        png = get(issued, urlsplit(image["id"]).path)
        assert png.status_code == 200 and png.headers["Content-Type"] == "image/png"
        picture = Image.open(io.BytesIO(png.content))
        assert picture.format == "PNG" and picture.size[0] == picture.size[1]
        assert picture.text["Title"] == title  # type: ignore[attr-defined]
    # Fetching the achievement's id as JSON gives that achievement, under the same id.
    fetched = get(issued, urlsplit(achievement["id"]).path, Accept="application/json").json()
    assert fetched["id"] == achievement["id"] and fetched["name"] == achievement["name"]
    assert fetched["@context"] == document["@context"] and fetched["image"] == achievement["image"]
    assert ob3_schema_errors(document) == []


# -- Open Badges 2.0
OB2 = "https://w3id.org/openbadges/v2"


def test_ob2_issuer_and_badge_classes_have_the_required_fields(issued: Issued) -> None:
    issuer = get(issued, "/ob2/issuer")
    assert issuer.status_code == 200 and issuer.headers["Content-Type"].startswith("application/ld+json")
    profile = issuer.json()
    assert profile["@context"] == OB2 and profile["type"] == "Issuer"
    assert profile["id"] == issued.url + "/ob2/issuer" and profile["name"] and profile["url"] == issued.url
    for code in ("B1", "certificate-fundraiser"):
        badge = get(issued, f"/ob2/badges/{code}", Accept="application/json")
        assert badge.headers["Content-Type"].startswith("application/json")
        data = badge.json()
        assert data["@context"] == OB2 and data["type"] == "BadgeClass"
        assert data["id"] == f"{issued.url}/ob2/badges/{code}"
        assert data["name"] and data["description"] and data["issuer"] == profile["id"]
        assert data["criteria"]["id"] == f"{issued.url}/achievements/{code}" and data["criteria"]["narrative"]
        assert data["alignment"] and all(a["targetName"] and a["targetUrl"] for a in data["alignment"])
        assert get(issued, urlsplit(data["criteria"]["id"]).path).status_code == 200
        image = get(issued, urlsplit(data["image"]).path)  # Moodle's backpack takes PNG badges
        assert image.status_code == 200 and image.headers["Content-Type"] == "image/png"
        assert image.content.startswith(b"\x89PNG\r\n\x1a\n")
        svg = get(issued, f"/ob2/badges/{code}/image.svg")
        root = ElementTree.fromstring(svg.content)  # noqa: S314  # our own image, just served
        assert root.tag == "{http://www.w3.org/2000/svg}svg" and root.get("width") == root.get("height")
    assert profile["email"] == issued.app.config["CERTIFICATE_ISSUER_EMAIL"] and profile["description"]
    assert get(issued, urlsplit(profile["image"]).path).headers["Content-Type"] == "image/png"
    assert get(issued, "/ob2/badges/B9").status_code == 404


def test_the_ob2_assertion_is_hosted_with_a_hashed_email(issued: Issued) -> None:
    url = f"{issued.url}/ob2/assertions/{issued.ids['B1']}"
    response = requests.get(url, timeout=10)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("application/ld+json")
    assertion = response.json()
    assert assertion["@context"] == OB2 and assertion["type"] == "Assertion" and assertion["id"] == url
    recipient = assertion["recipient"]
    assert recipient["type"] == "email" and recipient["hashed"] is True and issued.email
    digest = hashlib.sha256((issued.email.lower() + recipient["salt"]).encode()).hexdigest()
    assert recipient["identity"] == "sha256$" + digest
    assert assertion["badge"] == f"{issued.url}/ob2/badges/B1"
    assert get(issued, urlsplit(assertion["badge"]).path).json()["type"] == "BadgeClass"
    assert assertion["verification"] == {"type": "hosted"}
    assert datetime.fromisoformat(assertion["issuedOn"]).tzinfo is not None
    assert assertion["evidence"]["id"].endswith(f"/verify/{issued.ids['B1']}/evidence.json")
    # Hosted verification: the assertion, its badge and the issuer share one origin.
    origins = {urlsplit(u).netloc for u in (assertion["id"], assertion["badge"], issued.url + "/ob2/issuer")}
    assert len(origins) == 1
    assert (
        requests.get(url, headers={"Accept": "application/json"}, timeout=10)
        .headers["Content-Type"]
        .startswith("application/json")
    )


def test_an_independent_ob2_verifier_accepts_the_hosted_assertion_until_revoked(
    issued: Issued, revoked: str
) -> None:
    def download(url: str) -> bytes:
        assert url.startswith(issued.url)  # loopback only
        response = requests.get(url, timeout=10)
        response.raise_for_status()
        return response.content

    verifier = OB2Verifier(download=download)
    assertion = get(issued, f"/ob2/assertions/{issued.ids['B1']}").json()
    checked = verifier.verify_hosted(assertion, expected_recipient=issued.email)
    assert checked.id == assertion["id"]
    with pytest.raises(OB2VerificationError):
        verifier.verify_hosted(assertion, expected_recipient="someone.else@example.org")
    gone = {
        **assertion,
        "id": f"{issued.url}/ob2/assertions/{revoked}",
        "badge": f"{issued.url}/ob2/badges/B2",
    }
    with pytest.raises(OB2VerificationError):
        verifier.verify_hosted(gone)


def test_verification_needs_no_launch_and_no_cookie(issued: Issued) -> None:
    session = requests.Session()
    page = session.get(f"{issued.url}/verify/{issued.ids['B1']}", timeout=10)
    assert page.status_code == 200 and not session.cookies
