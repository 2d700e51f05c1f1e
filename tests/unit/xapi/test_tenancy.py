"""xapi.store.Writer: which platform a client's statement belongs to, and which statements it may void."""

from __future__ import annotations

from typing import Any

import pytest

from xapi.store import Forbidden, Writer

A, B = "https://moodle-a.example", "https://moodle-b.example"
# Client 5 is bound to registrations 1 (issuer A) and 3 (issuer B); 2 is A's second registration.
BOUND = Writer(5, frozenset({1, 3}), {A: 1, B: 3}, frozenset({A, B}))
ONLY_A = Writer(6, frozenset({1}), {A: 1}, frozenset({A, B}))
UNBOUND = Writer(7, frozenset(), {}, frozenset({A, B}))


def account(home: str, name: str = "learner") -> dict[str, Any]:
    return {"objectType": "Agent", "account": {"homePage": home, "name": name}}


def with_actor(actor: dict[str, Any]) -> dict[str, Any]:
    return {
        "actor": actor,
        "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
        "object": {"id": "x"},
    }


def test_a_statement_is_stored_under_the_client_platform_its_actor_names() -> None:
    assert BOUND.platform_of(with_actor(account(A)), "statement") == 1
    assert BOUND.platform_of(with_actor(account(B)), "statement") == 3
    assert UNBOUND.platform_of(with_actor(account("https://elsewhere.example")), "statement") is None


@pytest.mark.parametrize(
    ("writer", "actor", "fragment"),
    [
        (
            ONLY_A,
            account(B),
            "names no platform of this client (https://moodle-b.example is not one of them)",
        ),
        (ONLY_A, {"objectType": "Agent", "mbox": "mailto:x@example.invalid"}, "(no account homePage)"),
        # A group is judged by its members too: one of B's learners cannot hide in it.
        (
            ONLY_A,
            {"objectType": "Group", "member": [account(A), account(B)]},
            "is not one of them",
        ),
        (BOUND, {"objectType": "Group", "member": [account(A), account(B)]}, "several platforms"),
        (UNBOUND, account(A), "bound to no platform"),
        (UNBOUND, {"objectType": "Group", "member": [account("https://x.example"), account(B)]}, "moodle-b"),
    ],
)
def test_a_statement_of_another_platform_is_forbidden(
    writer: Writer, actor: dict[str, Any], fragment: str
) -> None:
    with pytest.raises(Forbidden, match="^statement\\[2\\]: ") as error:
        writer.platform_of(with_actor(actor), "statement[2]")
    assert fragment in str(error.value)


def test_a_client_voids_only_what_it_may_write_and_never_socles_records() -> None:
    # platform, recorded by Socle, posted by client
    assert ONLY_A.may_change(1, False, 9)  # another client's statement of its platform
    assert ONLY_A.may_change(None, False, 6)  # its own, stored before it was bound
    assert not ONLY_A.may_change(2, False, 9)  # A's other registration
    assert not ONLY_A.may_change(3, False, 9)
    assert not ONLY_A.may_change(1, True, None)  # Socle's own record
    assert UNBOUND.may_change(None, False, 9)
    assert not UNBOUND.may_change(1, False, 9)
    assert not UNBOUND.may_change(None, True, None)
