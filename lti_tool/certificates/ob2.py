"""Open Badges 2.0, hosted: the issuer Profile, the BadgeClasses of blocs and certificates, the Assertions of
credentials, and the badge images, for the Moodle backpacks that read only OB 2.0."""

from __future__ import annotations

import hashlib
import json
import textwrap
from dataclasses import dataclass
from html import escape
from typing import Any

from lti_tool.certificates import credentials as ob
from lti_tool.certificates import issuing
from lti_tool.certificates.achievements import AchievementRef, described
from lti_tool.certificates.models import Credential
from lti_tool.content.loader import Content
from lti_tool.db import DbSession
from lti_tool.learners.models import Learner

CONTEXT = "https://w3id.org/openbadges/v2"


def url(urls: ob.Urls, *parts: str) -> str:
    """The URL of a hosted OB 2.0 document (``url(urls, "badges", "B1")``)."""
    return "/".join([urls.base, "ob2", *parts])


@dataclass(frozen=True)
class IssuerDetails:
    """What the operator says of the issuer (configuration)."""

    name: str
    description: str
    email: str | None


def issuer_profile(issuer: IssuerDetails, urls: ob.Urls) -> dict[str, Any]:
    """The Open Badges 2.0 issuer Profile."""
    profile: dict[str, Any] = {
        "@context": CONTEXT,
        "id": url(urls, "issuer"),
        "type": "Issuer",
        "name": issuer.name,
        "url": urls.base,
        "description": issuer.description,
        "image": urls.issuer_image(),
    }
    if issuer.email:
        profile["email"] = issuer.email
    return profile


def badge_class(ref: AchievementRef, content: Content, urls: ob.Urls) -> dict[str, Any]:
    """The Open Badges 2.0 BadgeClass of a bloc or a certificate."""
    about = described(ref, content)
    programme = content.programme
    descriptions = {c.code: c.description.fr for c in programme.competences}
    descriptions |= {b.code: b.assessment.fr for b in programme.blocs}
    return {
        "@context": CONTEXT,
        "id": url(urls, "badges", ref.code),
        "type": "BadgeClass",
        "name": about["name"],
        "description": about["description"],
        "image": urls.achievement_image(ref.code),
        "criteria": {"id": urls.achievement(ref.code), "narrative": about["criteria"]},
        "issuer": url(urls, "issuer"),
        "alignment": [
            {
                "targetName": f"{target.code} · {target.name}",
                "targetUrl": urls.framework(target.code),
                "targetCode": target.code,
                "targetDescription": descriptions.get(target.code, target.name),
                "targetFramework": programme.title.fr,
            }
            for target in about["targets"]
        ],
        "tags": ["certificat d'aptitude", "bloc de compétences" if ref.kind == "bloc" else "certificat"],
    }


def badge_svg(code: str, name: str) -> str:
    """A square badge: a disc with the code, the name wrapped beneath it."""
    label = "CERTIFICAT" if code.startswith(issuing.CERTIFICATE) else code
    title = name.split(" — ", 1)[-1]
    lines = textwrap.wrap(title, 22)[:3]
    if len(textwrap.wrap(title, 22)) > 3:
        lines[-1] = lines[-1][:20] + "…"
    text = "".join(
        f'<text x="100" y="{128 + 14 * i}" font-size="12" text-anchor="middle">{escape(line)}</text>'
        for i, line in enumerate(lines)
    )
    size = 34 if len(label) <= 3 else 18
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="200" viewBox="0 0 200 200" role="img" '
        f'aria-labelledby="t"><title id="t">{escape(name)}</title>'
        '<circle cx="100" cy="100" r="96" fill="#1f4e79"/>'
        '<circle cx="100" cy="100" r="86" fill="none" stroke="#ffffff" stroke-width="3"/>'
        f'<text x="100" y="96" font-size="{size}" font-weight="700" text-anchor="middle" fill="#ffffff" '
        f'font-family="DejaVu Sans, Arial, sans-serif">{escape(label)}</text>'
        f'<g font-family="DejaVu Sans, Arial, sans-serif" fill="#ffffff">{text}</g></svg>'
    )


def recipient(credential: Credential, learner: Learner | None) -> dict[str, Any]:
    """The hashed e-mail when the platform gave it (what backpacks match); else the opaque subject id.

    The salt is derived from the credential id: stable, so a backpack's copy keeps matching the hosted one.
    """
    email = (learner.email or "").strip().lower() if learner is not None else ""
    if email:
        salt = hashlib.sha256(f"ob2-salt|{credential.id}".encode()).hexdigest()[:16]
        identity = "sha256$" + hashlib.sha256((email + salt).encode()).hexdigest()
        return {"type": "email", "hashed": True, "salt": salt, "identity": identity}
    subject = json.loads(credential.document).get("credentialSubject", {}).get("id")
    return {"type": "url", "hashed": False, "identity": subject}


def assertion(session: DbSession, credential: Credential, urls: ob.Urls) -> dict[str, Any]:
    """The hosted Assertion of a credential; once revoked, only its revocation (served as 410 Gone)."""
    document: dict[str, Any] = {
        "@context": CONTEXT,
        "id": url(urls, "assertions", credential.id),
        "type": "Assertion",
    }
    if credential.revoked_at is not None:
        return document | {"revoked": True, "revocationReason": credential.revoked_reason or ""}
    return document | {
        "recipient": recipient(credential, session.get(Learner, credential.learner_id)),
        "badge": url(urls, "badges", credential.achievement),
        "verification": {"type": "hosted"},
        "issuedOn": ob.iso(credential.issued_at),
        "evidence": {
            "id": urls.evidence(credential.id),
            "name": "Dossier de preuves",
            "description": "Chaque compétence reliée aux traces xAPI qui la fondent.",
        },
    }
