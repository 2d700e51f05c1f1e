"""An assessed production in a real Chromium: the learner submits the B1 diagnosis in the course's iframe,
a facilitator assesses it criterion by criterion on its grid, the learner reads the levels and the comment."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from lti_tool.content.loader import Content
from tests.browser.test_learner_journey import LAUNCH_TIMEOUT, open_learner_home
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser

COMMENT = "Cartographie solide ; reliez davantage les pistes aux fragilités du domaine « accueil »."


def test_a_facilitator_assesses_the_b1_diagnosis_on_its_grid(page: Page, live_server: LiveServer) -> None:
    content: Content = live_server.app.extensions["socle_content"]
    module = content.module("M2")
    assert module is not None and module.meta.deliverable is not None
    rubric = module.meta.deliverable.rubric
    assert rubric is not None

    # The learner reads the grid before writing, then submits the diagnosis.
    frame = open_learner_home(page, live_server)
    frame.get_by_role("link", name=f"{module.id} · {module.meta.title}").first.click()
    grid = frame.get_by_role("table", name="Grille d'évaluation")
    expect(grid).to_be_visible()
    for criterion in rubric.criteria:
        expect(grid.get_by_role("rowheader", name=re.compile(re.escape(criterion.title)))).to_be_visible()
    text = frame.get_by_label(re.compile("^Votre texte"))
    if text.count():  # a rerun on the same database finds it already submitted
        text.fill(" ".join(["diagnostic"] * module.meta.deliverable.min_words))
        frame.get_by_role("button", name="Déposer le livrable").click()
    expect(frame.get_by_test_id("deliverable-status")).to_be_visible()

    # The facilitator opens the productions to assess from the staff home, in the course's iframe.
    page.goto(live_server.url + "/demo/course?as=instructor")
    staff = page.frame_locator("iframe.lti-frame")
    expect(staff.get_by_role("heading", level=1, name="Espace formateur")).to_be_visible(
        timeout=LAUNCH_TIMEOUT
    )
    staff.get_by_role("link", name="Compétences, livrables et certificats").click()
    card = staff.locator("li.card").filter(has=staff.get_by_role("heading", name=re.compile(r"^M2 ·"))).last
    form = card.locator("form[data-testid^=assess-]")
    expect(form).to_be_visible()
    # Each criterion is a group of radio buttons named by its legend; pick the required level.
    for criterion in rubric.criteria:
        group = form.get_by_role("group", name=re.compile(re.escape(criterion.title)))
        group.get_by_role("radio", name=re.compile(rf"^{criterion.required} · ")).check()
    form.get_by_label(re.compile("^Commentaire pour la personne")).fill(COMMENT)
    form.get_by_role("button", name="Enregistrer l'évaluation").click()
    expect(staff.get_by_role("status")).to_have_text("Décision enregistrée.")
    assessed = (
        staff.locator("li.card").filter(has=staff.get_by_role("heading", name=re.compile(r"^M2 ·"))).last
    )
    expect(assessed.get_by_role("heading")).to_contain_text("évaluée : niveaux atteints")

    # The learner sees the outcome, the level given to each criterion and the comment.
    frame = open_learner_home(page, live_server)
    frame.get_by_role("link", name=f"{module.id} · {module.meta.title}").first.click()
    expect(frame.get_by_test_id("deliverable-status")).to_contain_text(
        "chaque critère atteint son niveau requis"
    )
    for criterion in rubric.criteria:
        expect(frame.get_by_test_id(f"given-{criterion.id}")).to_contain_text(f"{criterion.required} atteint")
    expect(frame.get_by_text(COMMENT)).to_be_visible()
