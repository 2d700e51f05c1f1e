"""Who credentials speak of and where they live: the holder's opaque id and the issuer's public URLs.

Apart from ``issuing`` so that the evidence file, which ``issuing`` freezes into each credential, can name
them without importing ``issuing`` back.
"""

from __future__ import annotations

import uuid

from flask import current_app

from lti_tool.certificates import credentials as ob
from xapi.builder import NAMESPACE


def urls() -> ob.Urls:
    return ob.Urls(current_app.config["BASE_URL"].rstrip("/"))


def subject_id(issuer: str, sub: str) -> str:
    """A stable, opaque id for the learner in credentials (never their e-mail)."""
    return "urn:uuid:" + str(uuid.uuid5(NAMESPACE, f"learner|{issuer}|{sub}"))
