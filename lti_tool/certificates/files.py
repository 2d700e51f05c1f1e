"""The files behind a verification page: the signed credential (JSON, VC-JWT), the PDF certificate and the
evidence file, and who may read the evidence file."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from urllib.parse import urlencode

from lti_tool.certificates import credentials as ob
from lti_tool.certificates import issuing, ob2
from lti_tool.certificates.documents import certificate_pdf, evidence_from_json, evidence_json, evidence_pdf
from lti_tool.certificates.evidence import certificate_document, evidence_document
from lti_tool.certificates.models import Credential
from lti_tool.content.loader import Content
from lti_tool.db import DbSession
from lti_tool.errors import AccessDenied, Message, SocleError
from lti_tool.lti.context import LaunchContext
from lti_tool.lti.launches import LAUNCH_PARAM


@dataclass(frozen=True)
class File:
    """A file to download: its bytes, its media type and the name it is saved under."""

    body: str | bytes
    mimetype: str
    filename: str


class Erased(SocleError):
    status = 410
    code = "erased"
    what = Message(
        "Ce certificat a été révoqué et ses documents effacés à la demande de la personne.",
        "This credential was revoked and its documents erased at the holder's request.",
    )
    todo = Message(
        "Sa page de vérification indique qu'il est révoqué ; il n'y a plus rien à télécharger.",
        "Its verification page says it is revoked; there is nothing left to download.",
    )


def evidence_private() -> AccessDenied:
    """A fresh refusal each time (a module-level instance raised again would chain its tracebacks)."""
    return AccessDenied(
        Message(
            "Le dossier de preuves de ce certificat n'est pas public.",
            "The evidence file of this credential is not public.",
        ),
        Message(
            "La personne titulaire et l'équipe pédagogique du cours le consultent depuis Socle ; la personne "
            "peut choisir de le partager, dans « Mes compétences », avec qui a le lien de vérification.",
            "The holder and the course's staff see it from Socle; the holder may choose, in « Mes "
            "compétences », to share it with anyone who has the verification link.",
        ),
        code="evidence_private",
    )


def revoked() -> SocleError:
    """The refusal of a printout of a revoked credential."""
    gone = SocleError(
        Message("Ce certificat a été révoqué.", "This credential has been revoked."),
        Message(
            "Sa page de vérification donne la date et le motif de la révocation.",
            "Its verification page gives the date and reason of the revocation.",
        ),
        code="revoked",
        status=410,
    )
    gone.title = Message("Certificat révoqué", "Credential revoked")
    return gone


def evidence_reader(credential: Credential, launch: Callable[[], LaunchContext | None]) -> str | None:
    """Who may read the credential's evidence file: ``shared`` (the holder chose to share it), ``holder`` or
    ``staff`` (a launch in the credential's course), None (anyone else).

    ``launch`` finds the request's launch, if any; it is called only when the file is not shared (finding a
    launch slides its expiry)."""
    if credential.evidence_shared_at is not None:
        return "shared"
    found = launch()
    if found is None or found.context_pk != credential.context_pk:
        return None
    if found.learner_id == credential.learner_id:
        return "holder"
    return "staff" if found.is_staff else None


def links(credential: Credential, launch_id: str | None, urls: ob.Urls) -> dict[str, str]:
    """The files of a verification page; the holder's and the staff's launch travels with the evidence
    links (the file is not public until the holder shares it)."""
    base = urls.verify(credential.id)
    private = (
        f"?{urlencode({LAUNCH_PARAM: launch_id})}"
        if launch_id and credential.evidence_shared_at is None
        else ""
    )
    return {
        "json": base + "/credential.json",
        "jwt": base + "/credential.jwt",
        "certificate": base + "/certificate.pdf",
        "evidence_pdf": base + "/evidence.pdf" + private,
        "evidence_json": base + "/evidence.json" + private,
        "ob2": ob2.url(urls, "assertions", credential.id),
        "status_list": urls.status_list(credential.status_list),
    }


def _signed(session: DbSession, credential_id: str) -> Credential:
    """A credential whose signed documents are still there (404 when unknown, 410 once erased)."""
    credential = issuing.get(session, credential_id)
    if issuing.erased(credential):
        raise Erased()
    return credential


def credential_json(session: DbSession, credential_id: str) -> File:
    """The signed credential, byte for byte as issued (with its Data Integrity proof)."""
    credential = _signed(session, credential_id)
    return File(credential.document.encode("utf-8"), "application/json", f"credential-{credential.id}.json")


def credential_jwt(session: DbSession, credential_id: str) -> File:
    """The same credential as a VC-JWT."""
    credential = _signed(session, credential_id)
    return File(credential.jwt, "application/jwt", f"credential-{credential.id}.jwt")


def certificate(
    session: DbSession,
    credential_id: str,
    content: Content,
    signatory_name: str | None,
    signatory_title: str | None,
) -> File:
    """The PDF certificate (not for a revoked credential: a printout would outlive the revocation)."""
    credential = _signed(session, credential_id)
    if credential.revoked_at is not None:
        raise revoked()
    document = replace(
        certificate_document(session, credential, content),
        signatory_name=signatory_name,
        signatory_title=signatory_title,
    )
    return File(certificate_pdf(document), "application/pdf", f"certificat-{credential.id}.pdf")


def evidence_file(
    session: DbSession,
    credential_id: str,
    content: Content,
    launch: Callable[[], LaunchContext | None],
    form: str,
) -> File:
    """The evidence file frozen when the credential was issued, as a PDF report (``form="pdf"``) or as JSON,
    byte for byte as frozen (what the credential's digest names), for whom ``evidence_reader`` lets in."""
    credential = _signed(session, credential_id)
    if evidence_reader(credential, launch) is None:
        raise evidence_private()
    name = f"dossier-de-preuves-{credential.id}"
    if form == "pdf":
        if credential.evidence is not None:  # frozen at issue
            document = evidence_from_json(json.loads(credential.evidence))
        else:  # issued before evidence files were frozen
            document = evidence_document(session, credential.learner_id, credential.context_pk, content)
        return File(evidence_pdf(document), "application/pdf", f"{name}.pdf")
    if credential.evidence is not None:  # frozen at issue: byte for byte what the credential's digest names
        body = credential.evidence
    else:  # issued before evidence files were frozen
        document = evidence_document(session, credential.learner_id, credential.context_pk, content)
        body = json.dumps(evidence_json(document), ensure_ascii=False, indent=2)
    return File(body.encode("utf-8"), "application/json", f"{name}.json")
