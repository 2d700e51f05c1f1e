"""Pages that keep the learner's work and fit the LMS frame, in a real Chromium: a refused deliverable
comes back with its text and the message at the field, the confirmation is in view with the focus, and
the page tells the platform its height (``lti.frameResize``)."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import delete, select

from demo_platform import roster
from demo_platform.models import DemoMember
from lti_tool.content.loader import Content, Module
from lti_tool.db import db
from lti_tool.learners.models import Learner
from lti_tool.training.models import Deliverable
from tests.browser.conftest import AxeWatch
from tests.browser.test_learner_journey import open_learner_home
from tests.conftest import LiveServer
from tests.functional.test_competences import plain_content  # noqa: F401 - the fixture

pytestmark = pytest.mark.browser

DEMO_LEARNER = "demo-learner-0001"
LEARNER_ROLE = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"


def plain_deliverable_module(content: Content) -> Module:
    """A module whose deliverable is a plain text (no marking grid)."""
    return next(m for m in content.modules if m.meta.deliverable and not m.meta.deliverable.rubric)


def reset_deliverable(live_server: LiveServer, module: Module) -> None:
    """The demo learner is shared by the session's tests: start this one with no deliverable."""
    with live_server.app.app_context():
        learner_ids = db.session.scalars(select(Learner.id).where(Learner.sub == DEMO_LEARNER)).all()
        db.session.execute(
            delete(Deliverable).where(
                Deliverable.module_id == module.id, Deliverable.learner_id.in_(learner_ids)
            )
        )
        db.session.commit()
        db.session.remove()


def test_a_too_short_deliverable_comes_back_with_its_text_and_the_message_at_the_field(
    page: Page,
    live_server: LiveServer,
    plain_content: Content,  # noqa: F811 - the fixture
) -> None:
    content = plain_content  # every shipped deliverable has a grid: M5 without it
    module = plain_deliverable_module(content)
    spec = module.meta.deliverable
    assert spec is not None
    reset_deliverable(live_server, module)
    # Moodle's frame at 1366×768.
    page.set_viewport_size({"width": 1366, "height": 768})
    frame = open_learner_home(page, live_server)
    frame.get_by_role("link", name=f"{module.id} · {module.meta.title}").first.click()

    draft = "Mon plan de transmission tient en quelques mots seulement"
    text = frame.get_by_label(re.compile("^Votre texte"))
    text.fill("Transmettre")
    expect(frame.get_by_test_id("word-count")).to_have_text(f"1 mot sur {spec.min_words} au moins")
    text.fill("")
    expect(frame.get_by_test_id("word-count")).to_have_text(f"0 mot sur {spec.min_words} au moins")
    text.fill(draft)
    # The word counter follows the typing.
    expect(frame.get_by_test_id("word-count")).to_have_text(f"9 mots sur {spec.min_words} au moins")
    frame.get_by_role("button", name="Déposer le livrable").click()

    # Not an error page: the same form, the text as typed, the message at the field, focused.
    message = frame.locator(".field-error")
    expect(message).to_have_text(f"Le livrable compte 9 mots ; il en faut au moins {spec.min_words}.")
    expect(message).to_be_focused()
    expect(message).to_be_in_viewport()
    expect(text).to_have_value(draft)
    expect(text).to_have_attribute("aria-invalid", "true")

    # Completed, it is submitted; the confirmation is at the top, in view, with the focus.
    text.fill(" ".join(["transmettre"] * spec.min_words))
    expect(frame.get_by_test_id("word-count")).to_have_text(
        f"{spec.min_words} mots sur {spec.min_words} au moins"
    )
    frame.get_by_role("button", name="Déposer le livrable").click()
    status = frame.get_by_test_id("page-status")
    expect(status).to_have_text("Livrable déposé. L'équipe d'animation va l'examiner.")
    expect(status).to_be_focused()
    expect(status).to_be_in_viewport()


def test_a_framed_page_sends_its_height_to_the_platform(page: Page, live_server: LiveServer) -> None:
    page.set_viewport_size({"width": 1366, "height": 768})
    # The course page listens before the tool's frame loads, as an LMS does.
    page.add_init_script(
        """window.socleHeights = [];
        window.addEventListener('message', (e) => {
          if (e.data && e.data.subject === 'lti.frameResize') window.socleHeights.push(e.data.height);
        });"""
    )
    page.goto(live_server.url + "/demo/course?as=learner")
    frame = page.frame_locator("iframe.lti-frame")
    expect(frame.get_by_role("heading", level=1, name="Mon parcours")).to_be_visible(timeout=10_000)
    page.wait_for_function("() => window.socleHeights.length > 0")
    height = page.evaluate("() => window.socleHeights[window.socleHeights.length - 1]")
    inner = page.frame(name="lti-tool")
    assert inner is not None
    assert height == inner.evaluate("() => Math.ceil(document.body.scrollHeight)")
    assert height > 449  # the learner home is taller than Moodle's frame: the platform must grow it
    # The demo platform honours it, as Canvas does: the frame takes the content's height, one scroll bar.
    page.wait_for_function(
        "(h) => document.querySelector('iframe.lti-frame').clientHeight === h", arg=height, timeout=5_000
    )
    assert inner.evaluate("() => document.documentElement.scrollHeight <= window.innerHeight")
    # A shorter page in the frame: the frame shrinks to it.
    inner.goto(re.sub(r"/learner/.*\?", "/diagnostic/?", inner.url))
    expect(frame.get_by_role("heading", level=1, name="Autodiagnostic")).to_be_visible()
    short = inner.evaluate("() => Math.ceil(document.body.scrollHeight)")
    assert short < height
    page.wait_for_function(
        "(h) => document.querySelector('iframe.lti-frame').clientHeight === h", arg=short, timeout=5_000
    )
    # Framed, the header is compact.
    assert inner.evaluate("() => document.documentElement.classList.contains('framed')")


def test_learner_pages_fit_a_phone_and_a_450_px_frame(
    phone: Page,
    live_server: LiveServer,
    plain_content: Content,  # noqa: F811 - the fixture
) -> None:
    content = plain_content
    module = plain_deliverable_module(content)
    phone.goto(live_server.url + "/demo/start?as=learner")
    expect(phone.get_by_role("heading", level=1, name="Mon parcours")).to_be_visible(timeout=10_000)
    # 360 px wide: nothing runs off the side of the screen.
    assert phone.evaluate("() => document.documentElement.scrollWidth") <= 360
    phone.get_by_role("link", name=f"{module.id} · {module.meta.title}").first.click()
    expect(phone.get_by_test_id("module-overview")).to_be_visible()
    assert phone.evaluate("() => document.documentElement.scrollWidth") <= 360
    # Moodle's 450 px-high frame: the title and the way to go on are in the first screen.
    phone.set_viewport_size({"width": 971, "height": 449})
    expect(phone.get_by_test_id("module-overview")).to_be_in_viewport()
    expect(phone.get_by_role("link", name=re.compile("^(Commencer|Reprendre)")).first).to_be_in_viewport()


def test_competence_tables_become_cards_on_a_phone(phone: Page, live_server: LiveServer) -> None:
    phone.goto(live_server.url + "/demo/start?as=learner")
    expect(phone.get_by_role("heading", level=1, name="Mon parcours")).to_be_visible(timeout=10_000)
    phone.get_by_role("link", name="Mes compétences et certificats").click()
    expect(phone.get_by_role("heading", level=1, name="Mes compétences")).to_be_visible()
    assert phone.evaluate("() => document.documentElement.scrollWidth") <= 360
    # Every cell, « Ce qui manque » too, is within the 360 px screen (no table scrolled sideways).
    cells = phone.locator("table.cards td")
    assert cells.count() > 0
    for i in range(cells.count()):
        box = cells.nth(i).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 360, i
    missing = phone.locator("table.cards td[data-label='Ce qui manque']").first
    expect(missing).to_be_visible()
    # Each cell says which column it is.
    label = phone.evaluate("(cell) => getComputedStyle(cell, '::before').content", missing.element_handle())
    assert "Ce qui manque" in label


def test_axe_core_reports_a_violation_on_a_page_the_test_visits(chromium: Browser) -> None:
    """The watch every browser test runs under does see a violation (here, an image with no text)."""
    context = chromium.new_context(locale="fr-FR")
    watch = AxeWatch(context)
    page = context.new_page()
    page.route(
        "http://socle.test/",
        lambda route: route.fulfill(
            content_type="text/html",
            body='<!doctype html><html lang="fr"><title>t</title><main><img src="/x.png"></main></html>',
        ),
    )
    page.goto("http://socle.test/")
    page.wait_for_function("() => document.readyState === 'complete'")
    page.wait_for_timeout(500)
    assert "http://socle.test/" in watch.checked  # reported on load, by the injected script
    with pytest.raises(AssertionError, match="image-alt"):
        watch.assert_clean(context)
    context.close()


def _leave_roster(live_server: LiveServer, sub: str) -> None:
    with live_server.app.app_context():
        db.session.execute(delete(DemoMember).where(DemoMember.sub == sub))
        db.session.commit()
        db.session.remove()


def test_a_quiz_question_and_its_submit_fit_moodles_449_px_frame(
    page: Page, live_server: LiveServer, request: pytest.FixtureRequest
) -> None:
    content: Content = live_server.app.extensions["socle_content"]
    module = content.module("M1")
    assert module is not None
    sub = f"frame-{time.time_ns()}"  # a person of their own: the demo learner's attempts may be used up
    with live_server.app.app_context():
        roster.add_member(db.session, sub, roles=[LEARNER_ROLE], name="Cadre Étroit")
        db.session.remove()
    request.addfinalizer(lambda: _leave_roster(live_server, sub))  # the roster's size is other tests' fact
    page.set_viewport_size({"width": 1366, "height": 768})
    # Moodle does not honour lti.frameResize (the demo platform does): its resizing script is left out.
    page.route(
        "**/demo-frame-resize.js", lambda route: route.fulfill(content_type="text/javascript", body="")
    )
    page.goto(live_server.url + f"/demo/course?as={sub}")
    # Moodle's frame at 1366×768 (its plugin-less frame is never resized).
    page.locator("iframe.lti-frame").evaluate("(f) => { f.style.width = '971px'; f.style.height = '449px'; }")
    frame = page.frame_locator("iframe.lti-frame")
    expect(frame.get_by_role("heading", level=1, name="Mon parcours")).to_be_visible(timeout=10_000)
    frame.get_by_role("link", name=f"{module.id} · {module.meta.title}").first.click()
    frame.get_by_role("link", name="Quiz", exact=True).click()
    frame.get_by_role("button", name="Commencer le quiz").click()
    submit = frame.get_by_role("button", name="Valider ma réponse")
    expect(submit).to_be_visible()
    # The compact framed header leaves the question and its submit button in the first screen.
    expect(frame.locator("form.question legend")).to_be_in_viewport()
    expect(submit).to_be_in_viewport()
