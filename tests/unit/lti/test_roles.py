from __future__ import annotations

import pytest

from lti_tool.lti import roles

LIS = "http://purl.imsglobal.org/vocab/lis/v2/"


@pytest.mark.parametrize(
    "given",
    [
        [LIS + "membership#Instructor"],
        ["Instructor"],
        ["ContentDeveloper"],
        [LIS + "membership/Instructor#TeachingAssistant"],
        [LIS + "membership#Administrator"],
        [LIS + "system/person#Administrator"],
        [LIS + "institution/person#Administrator"],
        [LIS + "system/person#SysAdmin"],
        ["urn:lti:role:ims/lis/Instructor"],
    ],
)
def test_staff_roles(given: list[str]) -> None:
    assert roles.is_staff(given)


@pytest.mark.parametrize(
    "given",
    [
        [],
        ["Learner"],
        [LIS + "membership#Learner", LIS + "institution/person#Student"],
        [LIS + "institution/person#Instructor"],
        [LIS + "system/person#None", LIS + "institution/person#None"],
        ["http://example.org/unknown#Instructor"],
        [LIS + "membership#Mentor"],
    ],
)
def test_not_staff(given: list[str]) -> None:
    assert not roles.is_staff(given)


def test_site_admins_are_admins_but_instructors_are_not() -> None:
    assert roles.is_admin([LIS + "system/person#Administrator"])
    assert not roles.is_admin(["Instructor"])


def test_none_roles_are_dropped() -> None:
    assert roles.meaningful([LIS + "system/person#None", "Learner"]) == [LIS + "membership#Learner"]
