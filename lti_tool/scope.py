"""``Scope``: who acts, where. Every event and every learner row carries its registration and context.

It knows nothing of the LTI edge: a launch hands it its ids through ``Scope.of_launch``, which reads any
object with a launch's ids (``lti.context.LaunchContext`` is one), so that the layers below
the edge (events, learners' records) never import it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Protocol


class LaunchIds(Protocol):
    """What a launch says of who acts and where (the attributes of ``LaunchContext`` that a scope keeps)."""

    @property
    def platform_id(self) -> int: ...
    @property
    def context_pk(self) -> int: ...
    @property
    def learner_id(self) -> int: ...
    @property
    def launch_id(self) -> str: ...
    @property
    def issuer(self) -> str: ...
    @property
    def sub(self) -> str: ...
    @property
    def deployment_id(self) -> str: ...
    @property
    def lti_context_id(self) -> str: ...
    @property
    def context_title(self) -> str | None: ...
    @property
    def resource_link_id(self) -> str | None: ...


@dataclass(frozen=True)
class Scope:
    """Who acts, where: every event and every learner row carries its registration and context, and the
    LTI ids that make the xAPI actor, registration and course."""

    platform_id: int
    context_pk: int
    learner_id: int
    launch_id: str | None = None
    issuer: str = ""
    sub: str = ""
    deployment_id: str = ""
    lti_context_id: str = ""
    context_title: str | None = None
    resource_link_id: str | None = None

    @classmethod
    def of_launch(cls, launch: LaunchIds) -> Scope:
        return cls(
            platform_id=launch.platform_id,
            context_pk=launch.context_pk,
            learner_id=launch.learner_id,
            launch_id=launch.launch_id,
            issuer=launch.issuer,
            sub=launch.sub,
            deployment_id=launch.deployment_id,
            lti_context_id=launch.lti_context_id,
            context_title=launch.context_title,
            resource_link_id=launch.resource_link_id,
        )

    def for_learner(self, learner_id: int, issuer: str, sub: str, resource_link_id: str | None) -> Scope:
        """The same course, for another person (a facilitator records a learner's attendance); the
        resource is the learner's own latest one, so their registration stays the same."""
        return replace(
            self,
            learner_id=learner_id,
            launch_id=None,
            issuer=issuer,
            sub=sub,
            resource_link_id=resource_link_id,
        )
