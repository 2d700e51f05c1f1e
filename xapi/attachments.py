"""Statements with attachments (xAPI 1.0.3, Data 2.4.11 and Communication 1.5.2) and signed statements (Data
2.6). Explicit SQLAlchemy session in, no Flask.

A POST or PUT of statements may be multipart/mixed: the statements as the first part (application/json),
then one part per attachment content, each with ``Content-Transfer-Encoding: binary`` and an
``X-Experience-API-Hash`` that is the SHA-2 of its bytes and the ``sha2`` of an attachment of the
statements. An attachment without ``fileUrl`` needs its part. A signature attachment (usageType
``…/attachments/signature``, ``application/octet-stream``) is a JWS (RS256, RS384 or RS512) whose payload is
the statement without it; when the JWS names its certificate (``x5c``), the signature is checked against it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from email.message import Message
from email.parser import BytesParser
from typing import Any

import jwt
from cryptography import x509
from sqlalchemy import select

from xapi import validation
from xapi.models import SessionLike, StatementAttachment

SIGNATURE = "http://adlnet.gov/expapi/attachments/signature"
SIGNATURE_ALGORITHMS = ("RS256", "RS384", "RS512")
_HASHES = {56: hashlib.sha224, 64: hashlib.sha256, 96: hashlib.sha384, 128: hashlib.sha512}


class AttachmentError(ValueError):
    """A multipart request, attachment or signature the LRS refuses with 400 and this message."""


@dataclass(frozen=True)
class Part:
    """The content of one attachment, as sent."""

    sha2: str
    content_type: str
    content: bytes


def parse_multipart(content_type: str, body: bytes) -> tuple[Any, list[Part]]:
    """The statements (JSON, the first part) and the attachment parts of a multipart/mixed body."""
    envelope = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1", "replace")
    message = BytesParser().parsebytes(envelope + body)
    payload = message.get_payload() if message.is_multipart() else None
    parts: list[Message] = [p for p in payload if isinstance(p, Message)] if isinstance(payload, list) else []
    if not parts:
        raise AttachmentError("the multipart/mixed body has no parts (is its boundary the header's?)")
    first = parts[0]
    if first.get_content_type() != "application/json":
        raise AttachmentError(
            "the first part of a multipart/mixed body must be the statements (application/json)"
        )
    try:
        statements = json.loads(_bytes_of(first) or b"null")
    except (ValueError, RecursionError) as error:
        raise AttachmentError("the first part is not valid JSON") from error
    found = []
    for index, part in enumerate(parts[1:], start=1):
        declared = (part.get("X-Experience-API-Hash") or "").strip().lower()
        if not declared:
            raise AttachmentError(f"part {index} has no X-Experience-API-Hash header")
        if (part.get("Content-Transfer-Encoding") or "").strip().lower() != "binary":
            raise AttachmentError(f"part {index} needs the header Content-Transfer-Encoding: binary")
        content = _bytes_of(part)
        digest = _HASHES.get(len(declared))
        if digest is None or digest(content).hexdigest() != declared:
            raise AttachmentError(f"part {index}: its X-Experience-API-Hash is not the SHA-2 of its content")
        # One line, as long as the column: the type is sent back in a header of the GET's answer.
        kind = " ".join(str(part.get("Content-Type") or "application/octet-stream").split())[:255]
        found.append(Part(declared, kind, content))
    return statements, found


def _bytes_of(part: Message) -> bytes:
    payload = part.get_payload(decode=True)
    return payload if isinstance(payload, bytes) else b""


def check(statements: Sequence[Any], parts: Sequence[Part]) -> None:
    """Each part is an attachment of the statements, each attachment without fileUrl has its part, and each
    signature attachment is a JWS of its statement. Run before storing (the statements are as sent)."""
    by_hash = {part.sha2: part for part in parts}
    declared = set()
    for index, statement in enumerate(statements):
        where = f"statement[{index}]" if len(statements) > 1 else "statement"
        for attachment in _attachments_of(statement):
            sha2 = str(attachment.get("sha2", "")).lower()
            declared.add(sha2)
            if "fileUrl" not in attachment and sha2 not in by_hash:
                raise AttachmentError(
                    f"{where}: attachment {sha2 or '(no sha2)'} has no fileUrl and no part: send its content"
                    " as a part of a multipart/mixed request"
                )
            if attachment.get("usageType") == SIGNATURE:
                _check_signature(statement, attachment, by_hash.get(sha2), where)
    unknown = sorted(set(by_hash) - declared)
    if unknown:
        raise AttachmentError(f"the part {unknown[0]} is the content of no attachment of the statements")


def _attachments_of(statement: Any) -> list[dict[str, Any]]:
    if not isinstance(statement, dict) or not isinstance(statement.get("attachments"), list):
        return []
    return [a for a in statement["attachments"] if isinstance(a, dict)]


def _check_signature(
    statement: dict[str, Any], attachment: dict[str, Any], part: Part | None, where: str
) -> None:
    if attachment.get("contentType") != "application/octet-stream":
        raise AttachmentError(
            f"{where}: a signature attachment's contentType must be application/octet-stream"
        )
    if part is None:
        raise AttachmentError(f"{where}: its signature must be sent as a part (a JWS), not by fileUrl")
    try:
        token = part.content.decode("ascii").strip()
        header = jwt.get_unverified_header(token)
        algorithm = header.get("alg")
        if algorithm not in SIGNATURE_ALGORITHMS:
            raise AttachmentError(f"{where}: its signature must use RS256, RS384 or RS512, not {algorithm}")
        if header.get("x5c"):
            certificate = x509.load_der_x509_certificate(base64.b64decode(header["x5c"][0]))
            payload = jwt.api_jws.decode(token, key=certificate.public_key(), algorithms=[algorithm])  # type: ignore[arg-type]
        else:
            payload = jwt.api_jws.decode(token, options={"verify_signature": False})
        signed = json.loads(payload)
    except AttachmentError:
        raise
    except (UnicodeDecodeError, jwt.PyJWTError, ValueError, LookupError, TypeError, AttributeError) as error:
        raise AttachmentError(
            f"{where}: its signature is not a valid JWS of a statement ({error})"
        ) from error
    unsigned = dict(statement)
    others = [a for a in _attachments_of(statement) if a is not attachment]
    if others:
        unsigned["attachments"] = others
    else:
        unsigned.pop("attachments", None)
    try:
        same = isinstance(signed, dict) and validation.same_statement(signed, unsigned)
    except validation.StatementError:
        same = False
    if not same:
        raise AttachmentError(f"{where}: its signature's payload is not the statement")


def save(
    session: SessionLike, statement_ids: Sequence[str], statements: Sequence[Any], parts: Sequence[Part]
) -> None:
    """Keep the parts' content for the statements that declare them (once per statement)."""
    if not parts:
        return
    by_hash = {part.sha2: part for part in parts}
    wanted: dict[tuple[str, str], Part] = {}
    for statement_id, statement in zip(statement_ids, statements, strict=True):
        for attachment in _attachments_of(statement):
            sha2 = str(attachment.get("sha2", "")).lower()
            if sha2 in by_hash:
                wanted[(statement_id, sha2)] = by_hash[sha2]
    if not wanted:
        return
    stored = {
        (row[0], row[1])
        for row in session.execute(
            select(StatementAttachment.statement_id, StatementAttachment.sha2).where(
                StatementAttachment.statement_id.in_({key[0] for key in wanted})
            )
        ).all()
    }
    for (statement_id, sha2), part in wanted.items():
        if (statement_id, sha2) not in stored:
            session.add(
                StatementAttachment(
                    statement_id=statement_id, sha2=sha2, content_type=part.content_type, content=part.content
                )
            )
    session.flush()


def of_statements(session: SessionLike, statement_ids: Iterable[str]) -> list[Part]:
    """The attachment contents kept for these statements (each content once)."""
    ids = list(statement_ids)
    if not ids:
        return []
    found: dict[str, Part] = {}
    for row in session.execute(
        select(StatementAttachment).where(StatementAttachment.statement_id.in_(ids))
    ).scalars():
        found.setdefault(row.sha2, Part(row.sha2, row.content_type, row.content))
    return list(found.values())


def multipart(data: Any, parts: Sequence[Part]) -> tuple[bytes, str]:
    """A multipart/mixed answer: the JSON, then each attachment's content; the body and its content type."""
    boundary = uuid.uuid4().hex
    chunks = [
        f"--{boundary}\r\nContent-Type: application/json\r\n\r\n".encode(),
        json.dumps(data, ensure_ascii=False).encode(),
    ]
    for part in parts:
        chunks.append(
            (
                f"\r\n--{boundary}\r\nContent-Type: {part.content_type}\r\n"
                f"Content-Transfer-Encoding: binary\r\nX-Experience-API-Hash: {part.sha2}\r\n\r\n"
            ).encode()
        )
        chunks.append(part.content)
    chunks.append(f"\r\n--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/mixed; boundary={boundary}"
