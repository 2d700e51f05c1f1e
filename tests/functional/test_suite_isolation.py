"""The suite's own isolation (``DatabaseState`` in tests/conftest.py): what a test writes, over HTTP or
through its own session, is gone for the next test; what its module's fixtures wrote stays for the module.

The tests run in file order: the later ones check what the earlier ones left behind."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import delete, func, select, update

from lti_tool.db import db
from lti_tool.learners.models import Enrolment, Learner, Platform
from tests.conftest import LiveServer, recorded
from tests.helpers import LtiBrowser
from tests.helpers import Platform as DemoPlatform

left: dict[str, Any] = {}  # what an earlier test wrote, for a later one to look for


def learner_subs(app: Flask, subs: list[str]) -> list[str]:
    with app.app_context():
        found = list(db.session.scalars(select(Learner.sub).where(Learner.sub.in_(subs))))
        db.session.remove()
    return found


def jwks_fetch_count(app: Flask) -> int:
    with app.app_context():
        value = db.session.scalar(select(Platform.jwks_fetch_count).where(Platform.client_id == "socle-demo"))
        db.session.remove()
    return int(value or 0)


@pytest.fixture(scope="module")
def module_learner(live_server: LiveServer) -> str:
    """A learner the module's fixture launches once: every test of the module finds them."""
    sub = f"isolation-module-{uuid.uuid4().hex[:8]}"
    browser = LtiBrowser(
        live_server.url, DemoPlatform(live_server.app.extensions["socle_demo_platform"], live_server.url)
    )
    assert browser.launch_with(sub=sub).status_code == 200
    return sub


def test_a_test_launches_a_new_learner_and_changes_a_registration(
    app: Flask, browser: LtiBrowser, module_learner: str
) -> None:
    left["counts"] = recorded(app)
    left["fetches"] = jwks_fetch_count(app)
    left["sub"] = f"isolation-{uuid.uuid4().hex[:8]}"
    assert browser.launch_with(sub=left["sub"]).status_code == 200
    with app.app_context():  # a write of the test's own, outside any request
        db.session.execute(
            update(Platform).where(Platform.client_id == "socle-demo").values(jwks_fetch_count=10_000)
        )
        db.session.commit()
        db.session.remove()
    assert set(learner_subs(app, [left["sub"], module_learner])) == {left["sub"], module_learner}
    assert recorded(app)["learners"] == left["counts"]["learners"] + 1


def test_the_next_test_finds_neither_the_learner_nor_the_change(app: Flask, module_learner: str) -> None:
    assert learner_subs(app, [left["sub"]]) == []
    assert jwks_fetch_count(app) == left["fetches"]
    assert recorded(app) == left["counts"]


def test_what_the_module_fixture_wrote_stays_for_the_module(app: Flask, module_learner: str) -> None:
    assert learner_subs(app, [module_learner]) == [module_learner]
    with app.app_context():
        assert (
            db.session.scalar(select(func.count()).select_from(Learner).where(Learner.sub == module_learner))
            == 1
        )
        db.session.remove()


def enrolments_of(app: Flask, sub: str) -> int:
    with app.app_context():
        count = db.session.scalar(
            select(func.count()).select_from(Enrolment).join(Learner).where(Learner.sub == sub)
        )
        db.session.remove()
    return int(count or 0)


def test_a_test_deletes_a_learner_and_the_database_cascades(app: Flask, module_learner: str) -> None:
    left["enrolments"] = enrolments_of(app, module_learner)
    assert left["enrolments"] >= 1
    with app.app_context():
        db.session.execute(delete(Learner).where(Learner.sub == module_learner))
        db.session.commit()
        db.session.remove()
    assert learner_subs(app, [module_learner]) == []
    assert enrolments_of(app, module_learner) == 0


def test_the_next_test_finds_the_learner_and_what_the_cascade_deleted(
    app: Flask, module_learner: str
) -> None:
    assert learner_subs(app, [module_learner]) == [module_learner]
    assert enrolments_of(app, module_learner) == left["enrolments"]
