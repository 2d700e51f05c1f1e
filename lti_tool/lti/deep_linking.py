"""Deep Linking 2.0: a trainer picks Socle content into the course; the platform gets signed
``ltiResourceLink`` items (with a gradebook line item for what is graded).

pylti1p3 builds the response message; Socle signs it with its own active key and ``kid`` (pylti1p3 derives
the kid from a public key it is never given here) and answers each deep-linking request once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import jwt
from pylti1p3.deep_link import DeepLink
from pylti1p3.deep_link_resource import DeepLinkResource
from pylti1p3.lineitem import LineItem as PyltiLineItem

from lti_tool.db import DbSession, utcnow
from lti_tool.errors import AccessDenied, AlreadyRecorded, Message, refused
from lti_tool.keys import KeyStore
from lti_tool.learners.models import Platform
from lti_tool.lti import claims as c
from lti_tool.lti.adapters import registration_for
from lti_tool.lti.context import LaunchContext
from lti_tool.lti.models import Launch

RESPONSE_LIFETIME_SECONDS = 600
# Moodle passes each item's text to its page's JavaScript and logs "Too much data passed to js_call_amd"
# past a limit: a description is one short sentence.
MAX_TEXT_LENGTH = 140


def short_text(text: str, limit: int = MAX_TEXT_LENGTH) -> str:
    """The text, cut at a word before ``limit`` characters with an ellipsis when it is longer."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,;:.") + "…"


@dataclass(frozen=True)
class Item:
    """Something a trainer can place in the course."""

    key: str  # what the form sends: module:M1, activity:autodiagnostic, activity:path, session:12
    title: str
    text: str
    custom: dict[str, str]
    graded_resource: str | None  # resourceId of its line item, if graded


@dataclass(frozen=True)
class Response:
    return_url: str
    jwt: str


def respond(
    session: DbSession, launch: LaunchContext, keys: KeyStore, launch_url: str, chosen: list[Item]
) -> Response:
    """The signed LtiDeepLinkingResponse for this request, once; only its own staff launch may answer."""
    if not launch.is_deep_linking:
        raise refused(
            "not_deep_linking",
            "Ce lancement n'est pas une demande de sélection de contenu.",
            "This launch is not a content selection request.",
        )
    if not launch.is_staff:
        raise AccessDenied(
            Message(
                "Seul l'encadrement peut ajouter du contenu au cours.",
                "Only staff can add content to the course.",
            ),
            Message(
                "Lancez la sélection avec votre rôle d'enseignant.",
                "Start the selection with your teacher role.",
            ),
            code="staff_only",
        )
    row = session.get(Launch, launch.launch_id)
    assert row is not None
    if row.deep_link_answered_at is not None:
        raise AlreadyRecorded(
            Message(
                "Cette sélection a déjà été envoyée à la plateforme.", "This selection was already sent."
            ),
            Message(
                "Relancez « ajouter du contenu » depuis la plateforme pour une nouvelle sélection.",
                "Start « add content » again from the platform for a new selection.",
            ),
        )
    settings = row.claims[c.DEEP_LINKING_SETTINGS]
    if not chosen:
        raise refused("nothing_chosen", "Choisissez au moins un contenu.", "Choose at least one item.")
    if len(chosen) > 1 and str(settings.get("accept_multiple", True)).lower() == "false":
        raise refused(
            "one_only",
            "La plateforme n'accepte qu'un contenu à la fois.",
            "The platform accepts one item at a time.",
        )
    platform = session.get(Platform, launch.platform_id)
    assert platform is not None
    deep_link = DeepLink(registration_for(platform, keys), launch.deployment_id, settings)
    resources = []
    for item in chosen:
        resource = DeepLinkResource().set_url(launch_url).set_title(item.title).set_custom_params(item.custom)
        if item.graded_resource:
            resource.set_lineitem(
                PyltiLineItem()
                .set_score_maximum(100)
                .set_label(item.title)
                .set_resource_id(item.graded_resource)
                .set_tag("socle")
            )
        resources.append(resource)
    message = deep_link.get_message_jwt(resources)
    for content_item, item in zip(message[c.DL_CONTENT_ITEMS], chosen, strict=True):  # type: ignore[call-overload]
        content_item["text"] = short_text(item.text)
    now = int(time.time())
    message.update({"iat": now, "exp": now + RESPONSE_LIFETIME_SECONDS})
    if message.get(c.DL_DATA) is None:
        message.pop(c.DL_DATA, None)
    signing = keys.active()
    token = jwt.encode(message, signing.private_key, algorithm="RS256", headers={"kid": signing.kid})
    row.deep_link_answered_at = utcnow()
    return Response(return_url=settings["deep_link_return_url"], jwt=token)
