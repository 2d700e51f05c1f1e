"""Statements with attachments over real HTTP (multipart/mixed, xAPI 1.0.3 Data 2.4.11, Communication 1.5.2):
the content kept and returned with attachments=true, every malformed request refused with a 400, and signed
statements (a JWS checked against the statement, and against its certificate when it names one)."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta
from email.parser import BytesParser
from typing import Any

import jwt
import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from flask import Flask

from tests.conftest import LiveServer
from tests.functional.test_xapi_api import Lrs, V, make_client, statement

SIGNATURE = "http://adlnet.gov/expapi/attachments/signature"


@pytest.fixture
def lrs(app: Flask, live_server: LiveServer) -> Lrs:
    return Lrs(live_server.url, make_client(app, "all"))


def attachment(content: bytes, content_type: str = "text/plain", **changes: Any) -> dict[str, Any]:
    return {
        "usageType": "https://socle.example/attachments/evidence",
        "display": {"en": "evidence"},
        "contentType": content_type,
        "length": len(content),
        "sha2": hashlib.sha256(content).hexdigest(),
        **changes,
    }


def multipart(
    statements: Any, parts: list[tuple[bytes, dict[str, str]]], first_type: str = "application/json"
) -> tuple[bytes, str]:
    boundary = "socle-" + uuid.uuid4().hex
    chunks = [f"--{boundary}\r\nContent-Type: {first_type}\r\n\r\n".encode(), json.dumps(statements).encode()]
    for content, headers in parts:
        chunks.append(f"\r\n--{boundary}\r\n".encode())
        chunks.append("".join(f"{k}: {v}\r\n" for k, v in headers.items()).encode() + b"\r\n")
        chunks.append(content)
    chunks.append(f"\r\n--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/mixed; boundary={boundary}"


def part_headers(content: bytes, content_type: str = "text/plain") -> dict[str, str]:
    return {
        "Content-Type": content_type,
        "Content-Transfer-Encoding": "binary",
        "X-Experience-API-Hash": hashlib.sha256(content).hexdigest(),
    }


def send(lrs: Lrs, body: bytes, content_type: str, statement_id: str | None = None) -> requests.Response:
    return requests.request(
        "PUT" if statement_id else "POST",
        lrs.url,
        params={"statementId": statement_id} if statement_id else None,
        data=body,
        auth=lrs.auth,
        timeout=10,
        headers={**V, "Content-Type": content_type},
    )


def parts_of(response: requests.Response) -> list[tuple[dict[str, str], bytes]]:
    envelope = f"Content-Type: {response.headers['Content-Type']}\r\n\r\n".encode()
    message = BytesParser().parsebytes(envelope + response.content)
    assert message.is_multipart()
    found = []
    for part in message.get_payload():  # type: ignore[union-attr]
        assert not isinstance(part, str)
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        found.append((dict(part.items()), payload))
    return found


def test_attachments_are_kept_and_returned_with_attachments_true(lrs: Lrs) -> None:
    text, binary = "une pièce jointe\r\nligne 2".encode(), bytes(range(256)) * 4
    item = statement(attachments=[attachment(text), attachment(binary, "application/octet-stream")])
    body, kind = multipart(
        item, [(text, part_headers(text)), (binary, part_headers(binary, "application/octet-stream"))]
    )
    response = send(lrs, body, kind)
    assert response.status_code == 200, response.text
    assert response.json() == [item["id"]]
    plain = lrs.get(statementId=item["id"])
    assert plain.headers["Content-Type"].startswith("application/json")
    for params in ({"statementId": item["id"], "attachments": "true"}, {"attachments": "true", "limit": "1"}):
        parts = parts_of(lrs.get(**params))
        assert parts[0][0]["Content-Type"] == "application/json"
        contents = {headers["X-Experience-API-Hash"]: content for headers, content in parts[1:]}
        assert contents == {
            hashlib.sha256(text).hexdigest(): text,
            hashlib.sha256(binary).hexdigest(): binary,
        }
        assert all(headers["Content-Transfer-Encoding"] == "binary" for headers, _ in parts[1:])
    # PUT takes a multipart statement too; a resend of the same statement and content is accepted.
    other = statement(attachments=[attachment(text)])
    body, kind = multipart(other, [(text, part_headers(text))])
    assert send(lrs, body, kind, statement_id=other["id"]).status_code == 204
    assert send(lrs, body, kind, statement_id=other["id"]).status_code == 204


def test_an_attachment_is_only_seen_with_its_statement(lrs: Lrs, app: Flask, live_server: LiveServer) -> None:
    secret = b"only for its client"
    item = statement(attachments=[attachment(secret)])
    body, kind = multipart(item, [(secret, part_headers(secret))])
    assert send(lrs, body, kind).status_code == 200
    stranger = Lrs(live_server.url, make_client(app, "all"))
    assert stranger.get(statementId=item["id"], attachments="true").status_code == 404
    assert secret not in stranger.get(attachments="true", limit="0").content


def test_malformed_attachment_requests_are_refused(lrs: Lrs) -> None:
    content = b"contenu"
    good = part_headers(content)
    item = statement(attachments=[attachment(content)])
    cases = {
        "no hash header": multipart(item, [(content, {k: v for k, v in good.items() if "Hash" not in k})]),
        "hash of other bytes": multipart(item, [(b"autre", good)]),
        "no binary encoding": multipart(item, [(content, {**good, "Content-Transfer-Encoding": "base64"})]),
        "no part": multipart(item, []),
        "undeclared part": multipart(statement(), [(content, good)]),
        "first part not JSON": multipart(item, [(content, good)], first_type="text/plain"),
        "a statement that is not JSON": (
            b"--b\r\nContent-Type: application/json\r\n\r\n{oops\r\n--b--",
            "multipart/mixed; boundary=b",
        ),
    }
    for name, (body, kind) in cases.items():
        response = send(lrs, body, kind)
        assert response.status_code == 400, (name, response.text)
    # Sent as JSON, an attachment without fileUrl has no content either.
    assert lrs.post(item).status_code == 400
    assert (
        lrs.post(
            statement(attachments=[attachment(content, fileUrl="https://files.example/c.txt")])
        ).status_code
        == 200
    )
    assert lrs.get(statementId=item["id"]).status_code == 404


def certificate_for(key: rsa.RSAPrivateKey) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "socle-test-signer")])
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )


@pytest.fixture(scope="module")
def signer() -> tuple[rsa.RSAPrivateKey, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    der = certificate_for(key).public_bytes(serialization.Encoding.DER)
    return key, base64.b64encode(der).decode()


def signed(
    item: dict[str, Any],
    key: Any,
    algorithm: str = "RS256",
    x5c: str | None = None,
    content_type: str = "application/octet-stream",
) -> tuple[bytes, str]:
    """The statement with its signature attachment, as multipart (the JWS signs the statement without it)."""
    headers = {"x5c": [x5c]} if x5c else None
    token = jwt.api_jws.encode(json.dumps(item).encode(), key, algorithm=algorithm, headers=headers).encode()
    sent = copy.deepcopy(item)
    sent["attachments"] = [attachment(token, content_type, usageType=SIGNATURE)]
    return multipart(sent, [(token, part_headers(token, content_type))])


def test_signed_statements_are_checked(lrs: Lrs, signer: tuple[rsa.RSAPrivateKey, str]) -> None:
    key, x5c = signer
    for algorithm in ("RS256", "RS384", "RS512"):
        item = statement()
        response = send(lrs, *signed(item, key, algorithm, x5c))
        assert response.status_code == 200, (algorithm, response.text)
        parts = parts_of(lrs.get(statementId=item["id"], attachments="true"))
        assert jwt.get_unverified_header(parts[1][1].decode())["alg"] == algorithm
    # Without a certificate the signature cannot be checked, but its payload still must be the statement.
    assert send(lrs, *signed(statement(), key)).status_code == 200
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    item = statement()
    tampered_body, kind = signed(item, key, x5c=x5c)
    tampered_body = tampered_body.replace(item["actor"]["account"]["name"].encode(), b"someone-else", 1)
    refused = {
        "another algorithm": signed(statement(), "a-shared-secret-of-32-bytes-long!", "HS256"),
        "signed by another key than its certificate's": signed(statement(), other_key, "RS256", x5c),
        "the statement changed after signing": (tampered_body, kind),
        "a signature that is not octet-stream": signed(statement(), key, content_type="text/plain"),
        "a certificate that is not one": signed(
            statement(), key, x5c=base64.b64encode(b"not a cert").decode()
        ),
    }
    for name, (body, content_type) in refused.items():
        response = send(lrs, body, content_type)
        assert response.status_code == 400, (name, response.text)
    not_a_jws = b"not.a.jws"
    sent = statement(attachments=[attachment(not_a_jws, "application/octet-stream", usageType=SIGNATURE)])
    body, kind = multipart(sent, [(not_a_jws, part_headers(not_a_jws, "application/octet-stream"))])
    assert send(lrs, body, kind).status_code == 400
