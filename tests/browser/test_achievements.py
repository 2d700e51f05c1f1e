"""What was earned, in a real Chromium at the size of Moodle's frame (971×449): the bloc just validated is
said at the top of the learner's next page, once, and a completed module offers the next module."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Browser, expect

from lti_tool.content.loader import Content
from tests.conftest import LiveServer
from tests.functional.test_competences import assess, deliverable_ids, follow_module, learner_id, people

pytestmark = pytest.mark.browser


def test_the_bloc_just_validated_is_said_at_the_top_of_the_next_page_once(
    chromium: Browser, live_server: LiveServer
) -> None:
    app = live_server.app
    content: Content = app.extensions["socle_content"]
    course = {"id": f"bloc-browser-{time.time_ns()}", "title": "Cours du bloc"}
    learner, facilitator = people(live_server, course, "learner", "instructor")
    for module_id in ("M1", "M2", "M7"):
        follow_module(learner, content, module_id)
    pk = learner_id(app, learner.sub)
    assert assess(facilitator, content, "M2", deliverable_ids(app, pk)["M2"]).status_code == 303

    # The learner's own launch, in Chromium (its cookies carry the launch's browser binding).
    context = chromium.new_context(locale="fr-FR", viewport={"width": 971, "height": 449})
    try:
        context.add_cookies(
            [
                {"name": c.name, "value": c.value or "", "url": live_server.url}
                for c in learner.browser.http.cookies
            ]
        )
        page = context.new_page()
        m1 = content.module("M1")
        assert m1 is not None
        page.goto(f"{live_server.url}/modules/{m1.slug}/?launch={learner.launch}")
        said = page.get_by_test_id("earned")
        expect(said).to_contain_text("Vous avez validé le bloc B1 « Analyser et mettre en cohérence ».")
        expect(said).to_be_in_viewport()
        expect(said.get_by_role("link", name="Voir mes compétences et certificats")).to_be_visible()
        # M1 is completed: no « Reprendre à la page », the next module instead.
        expect(page.get_by_role("link", name=re.compile("^Reprendre à la page"))).to_have_count(0)
        following = page.get_by_test_id("next-module")
        expect(following).to_have_text(re.compile(r"^Module suivant( conseillé)?[\s\u202f]: M\d · "))
        following.click()
        expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^M\d · "))
        expect(page.get_by_test_id("earned")).to_have_count(0)  # said once
    finally:
        context.close()
