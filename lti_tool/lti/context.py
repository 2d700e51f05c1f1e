"""``LaunchContext``: what the rest of Socle knows of a launch. Nothing downstream sees raw claims."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType

RESOURCE_LINK_REQUEST = "LtiResourceLinkRequest"
DEEP_LINKING_REQUEST = "LtiDeepLinkingRequest"


@dataclass(frozen=True)
class LaunchContext:
    launch_id: str
    platform_id: int
    issuer: str
    client_id: str
    deployment_pk: int
    deployment_id: str
    learner_id: int
    # The platform's opaque user id (the xAPI actor's account name); never an e-mail.
    sub: str
    context_pk: int
    # The LTI context id; empty when the platform sent no context claim.
    lti_context_id: str
    context_title: str | None
    resource_link_id: str | None
    message_type: str
    roles: tuple[str, ...]
    is_staff: bool
    is_admin: bool
    locale: str | None
    target_link_uri: str
    expires_at: datetime
    # How the launch names the person (given name, else full name), for a greeting; None if it does not.
    person_name: str | None = None
    custom: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    # The platform's return_url for a launch opened in a new window (« Retour au cours »); None otherwise.
    return_url: str | None = None

    @property
    def is_deep_linking(self) -> bool:
        return self.message_type == DEEP_LINKING_REQUEST
