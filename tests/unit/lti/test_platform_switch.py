"""A platform administrator switches only the registration they launched through, and switches it off only
once they confirmed (it ends their own session)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from lti_tool.errors import SocleError
from lti_tool.learners.models import Platform
from lti_tool.lti.context import RESOURCE_LINK_REQUEST, LaunchContext
from lti_tool.lti.platform_switch import switch

ADMIN = LaunchContext(
    launch_id="launch",
    platform_id=1,
    issuer="https://lms.example",
    client_id="one",
    deployment_pk=1,
    deployment_id="deployment",
    learner_id=1,
    sub="admin",
    context_pk=1,
    lti_context_id="course",
    context_title=None,
    resource_link_id=None,
    message_type=RESOURCE_LINK_REQUEST,
    roles=(),
    is_staff=True,
    is_admin=True,
    locale=None,
    target_link_uri="https://socle.example/lti/launch",
    expires_at=datetime(2026, 12, 7, tzinfo=UTC),
)


class Session:
    """What the switch asks of a session: a flush, counted."""

    def __init__(self) -> None:
        self.flushes = 0

    def flush(self) -> None:
        self.flushes += 1


def registrations() -> list[Platform]:
    return [
        Platform(id=1, issuer=ADMIN.issuer, client_id="one", is_active=True),
        Platform(id=2, issuer=ADMIN.issuer, client_id="two", is_active=True),
    ]


def refusal(session: Any, launch: LaunchContext, platform: str | None, action: str | None, **kw: Any) -> str:
    own = registrations()
    with pytest.raises(SocleError) as refused:
        switch(session, launch, own, platform, action, confirmed=kw.get("confirmed", False))
    assert all(p.is_active for p in own) and session.flushes == 0
    return refused.value.code


def test_an_unknown_registration_or_action_is_refused() -> None:
    assert refusal(Session(), ADMIN, "3", "activate") == "unknown_platform"
    assert refusal(Session(), ADMIN, "1", "delete") == "unknown_platform"
    assert refusal(Session(), ADMIN, None, "deactivate") == "unknown_platform"


def test_another_registration_of_the_same_issuer_is_not_the_administrators_to_switch() -> None:
    assert refusal(Session(), ADMIN, "2", "deactivate", confirmed=True) == "other_registration"
    assert refusal(Session(), replace(ADMIN, platform_id=2), "1", "activate") == "other_registration"


def test_switching_off_ones_own_registration_needs_a_confirmation() -> None:
    assert refusal(Session(), ADMIN, "1", "deactivate") == "own_registration"
    session, own = Session(), registrations()
    target = switch(session, ADMIN, own, "1", "deactivate", confirmed=True)
    assert target is own[0] and not target.is_active and own[1].is_active and session.flushes == 1


def test_switching_on_needs_no_confirmation() -> None:
    session, own = Session(), registrations()
    own[0].is_active = False
    assert switch(session, ADMIN, own, "1", "activate", confirmed=False).is_active
    assert session.flushes == 1
