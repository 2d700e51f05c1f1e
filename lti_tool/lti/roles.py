"""LTI roles: who counts as staff. Pure functions over the ``roles`` claim."""

from __future__ import annotations

from collections.abc import Iterable

LIS = "http://purl.imsglobal.org/vocab/lis/v2/"
MEMBERSHIP = LIS + "membership#"

# Course roles that make someone staff of the context.
STAFF_CONTEXT_ROLES = {"Instructor", "Administrator", "ContentDeveloper", "TeachingAssistant"}
# System and institution roles of site administrators (Moodle sends these alone for its site admins).
ADMIN_SYSTEM_ROLES = {
    LIS + "system/person#Administrator",
    LIS + "system/person#SysAdmin",
    LIS + "institution/person#Administrator",
}


def normalise(role: str) -> str:
    """Full URI for a role; short names (``Instructor``) are context roles."""
    role = role.strip()
    if role.startswith(("http://", "https://")):
        return role
    if role.startswith("urn:lti:role:ims/lis/"):  # LTI 1.1 spelling, still sent by some platforms
        return MEMBERSHIP + role.rsplit("/", 1)[-1]
    return MEMBERSHIP + role


def _context_role(role: str) -> str | None:
    """The principal or sub-role name of a membership role (``Instructor#TeachingAssistant`` counts)."""
    if not role.startswith(LIS + "membership"):
        return None
    return role.rsplit("#", 1)[-1]


def is_none_role(role: str) -> bool:
    """Roles ending in ``#None`` (Open edX sends them to everyone) mean "no role"."""
    return role.endswith("#None")


def meaningful(roles: Iterable[str]) -> list[str]:
    return [r for r in (normalise(role) for role in roles) if not is_none_role(r)]


def is_admin(roles: Iterable[str]) -> bool:
    full = meaningful(roles)
    return any(r in ADMIN_SYSTEM_ROLES or _context_role(r) == "Administrator" for r in full)


def is_staff(roles: Iterable[str]) -> bool:
    full = meaningful(roles)
    return is_admin(full) or any(_context_role(r) in STAFF_CONTEXT_ROLES for r in full)
