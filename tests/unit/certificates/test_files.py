"""Who may read a credential's evidence file, decided without a request: the holder's choice first, then the
launch (found only when needed, since finding one slides its expiry)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from lti_tool.certificates.files import evidence_reader
from lti_tool.certificates.models import Credential
from lti_tool.lti.context import RESOURCE_LINK_REQUEST, LaunchContext

HOLDER, OTHER_LEARNER, COURSE, OTHER_COURSE = 7, 8, 3, 4

LEARNER_LAUNCH = LaunchContext(
    launch_id="launch",
    platform_id=1,
    issuer="https://lms.example",
    client_id="client",
    deployment_pk=1,
    deployment_id="deployment",
    learner_id=HOLDER,
    sub="sub",
    context_pk=COURSE,
    lti_context_id="course",
    context_title=None,
    resource_link_id=None,
    message_type=RESOURCE_LINK_REQUEST,
    roles=(),
    is_staff=False,
    is_admin=False,
    locale=None,
    target_link_uri="https://socle.example/lti/launch",
    expires_at=datetime(2026, 12, 7, tzinfo=UTC),
)
STAFF_LAUNCH = replace(LEARNER_LAUNCH, learner_id=OTHER_LEARNER, is_staff=True)


def credential(*, shared: bool = False) -> Credential:
    return Credential(
        learner_id=HOLDER,
        context_pk=COURSE,
        evidence_shared_at=datetime(2026, 12, 1, tzinfo=UTC) if shared else None,
    )


def never() -> LaunchContext | None:
    raise AssertionError("the launch was looked up although the holder shared the file")


def test_a_shared_evidence_file_is_read_without_looking_up_a_launch() -> None:
    assert evidence_reader(credential(shared=True), never) == "shared"


@pytest.mark.parametrize(
    ("launch", "reader"),
    [
        (LEARNER_LAUNCH, "holder"),
        (STAFF_LAUNCH, "staff"),
        (replace(LEARNER_LAUNCH, learner_id=OTHER_LEARNER), None),  # another learner of the course
        (replace(STAFF_LAUNCH, context_pk=OTHER_COURSE), None),  # staff of another course
        (replace(LEARNER_LAUNCH, context_pk=OTHER_COURSE), None),  # the holder, launched from another course
        (None, None),  # no launch
    ],
)
def test_a_private_evidence_file_is_for_the_holder_and_the_course_staff(
    launch: LaunchContext | None, reader: str | None
) -> None:
    assert evidence_reader(credential(), lambda: launch) == reader
