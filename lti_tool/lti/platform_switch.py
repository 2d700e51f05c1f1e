"""A platform administrator's switches on the issuer's registrations of Socle."""

from __future__ import annotations

from lti_tool.db import DbSession
from lti_tool.errors import AccessDenied, Message, refused
from lti_tool.learners.models import Platform
from lti_tool.lti.context import LaunchContext


def switch(
    session: DbSession,
    launch: LaunchContext,
    registrations: list[Platform],
    platform: str | None,
    action: str | None,
    *,
    confirmed: bool,
) -> Platform:
    """Switch on or off the registration the administrator launched through (flushed; committed with the
    request); the others (another client id of the same issuer) may be another tenant's. Deactivating it
    ends the administrator's own session, so it is done only once ``confirmed``."""
    target = next((p for p in registrations if str(p.id) == platform), None)
    if target is None or action not in ("activate", "deactivate"):
        raise refused(
            "unknown_platform",
            "Cette inscription n'existe pas pour votre plateforme.",
            "This registration does not exist for your platform.",
        )
    if target.id != launch.platform_id:
        raise AccessDenied(
            Message(
                "Vous ne pouvez activer ou désactiver que l'inscription par laquelle vous avez lancé Socle.",
                "You can switch on or off only the registration you launched Socle through.",
            ),
            Message(
                "Lancez Socle depuis cette inscription-là, ou demandez-le à l'exploitant de Socle.",
                "Launch Socle through that registration, or ask the Socle operator.",
            ),
            code="other_registration",
        )
    if action == "deactivate" and not confirmed:
        raise refused(
            "own_registration",
            "Désactiver l'inscription par laquelle vous êtes connecté·e met fin à votre session et aux "
            "lancements depuis cette inscription ; seul l'exploitant de Socle pourra la réactiver.",
            "Deactivating the registration you are signed in through ends your session and every launch "
            "through it; only the Socle operator can switch it on again.",
        )
    target.is_active = action == "activate"
    session.flush()
    return target
