"""Competences and credentials in a real Chromium: "Mes compétences" in the demo course's iframe, and the
public verification page on a 360 px phone."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from demo_platform.platform import COURSE_ID, USERS
from lti_tool.certificates import issuing
from lti_tool.competences.services import rules_of
from lti_tool.db import db
from lti_tool.learners.models import Context, Enrolment, Learner
from tests.browser.test_learner_journey import open_learner_home
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser


def test_the_learner_opens_mes_competences_from_the_course(page: Page, live_server: LiveServer) -> None:
    frame = open_learner_home(page, live_server)
    frame.get_by_role("link", name="Mes compétences et certificats").click()
    expect(frame.get_by_role("heading", level=1, name="Mes compétences")).to_be_visible()
    expect(frame.get_by_role("heading", level=2, name="Mes blocs de compétences")).to_be_visible()
    for code in ("B1", "B4"):
        expect(frame.locator(f"#bloc-{code}")).to_be_visible()
    # each competence is a row header of its bloc's table, with what is still missing
    expect(
        frame.get_by_role("rowheader", name="C1 · Analyser un modèle socio-économique d'intérêt général")
    ).to_be_visible()
    expect(frame.get_by_text("terminer le module M1").first).to_be_visible()


def _issue_b1_to_the_demo_learner(live_server: LiveServer) -> str:
    app = live_server.app
    with app.app_context():
        learner_pk, context_pk = db.session.execute(
            select(Learner.id, Enrolment.context_pk)
            .join(Enrolment, Enrolment.learner_id == Learner.id)
            .join(Context, Context.id == Enrolment.context_pk)
            # The demo platform's learner in its course (other suites' learners may have launched later).
            .where(
                Enrolment.is_staff.is_(False),
                Learner.sub == USERS["learner"].sub,
                Context.lti_context_id == COURSE_ID,
            )
            .order_by(Enrolment.last_launch_at.desc())
            .limit(1)
        ).one()
        content = app.extensions["socle_content"]
        with app.test_request_context():
            scope = issuing.learner_scope(db.session, learner_pk, context_pk)
            credential = issuing.issue(db.session, scope, content, rules_of(content), "B1", None)
            db.session.commit()
            credential_id = credential.id
        db.session.remove()
    return str(credential_id)


def test_the_verification_page_fits_a_phone_and_says_valid(phone: Page, live_server: LiveServer) -> None:
    open_learner_home(phone, live_server)  # the demo learner exists once launched
    credential_id = _issue_b1_to_the_demo_learner(live_server)
    phone.goto(f"{live_server.url}/verify/{credential_id}")
    expect(phone.get_by_test_id("verdict")).to_have_attribute("data-status", "valid")
    expect(phone.get_by_role("heading", level=1)).to_be_visible()
    for name in ("JSON", "JWT"):
        expect(phone.get_by_role("link", name=name).first).to_be_visible()
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the verification page scrolls sideways on a 360 px phone ({width}px)"


def test_the_holder_shares_the_evidence_file_from_mes_competences(
    page: Page, live_server: LiveServer
) -> None:
    open_learner_home(page, live_server)
    credential_id = _issue_b1_to_the_demo_learner(live_server)
    # Anyone with the link sees the verdict, not the evidence file.
    page.goto(f"{live_server.url}/verify/{credential_id}")
    expect(page.get_by_test_id("evidence-private")).to_be_visible()
    frame = open_learner_home(page, live_server)
    # the first page after the credential was issued announces it, with its own link to the same page
    expect(frame.get_by_test_id("earned")).to_be_visible()
    frame.get_by_role("link", name="Mes compétences et certificats", exact=True).click()
    share = frame.get_by_test_id("share-B1")
    expect(share).to_contain_text("Visible par vous et l'équipe pédagogique seulement.")
    button = share.get_by_role("button", name="Partager le dossier de preuves avec qui a le lien")
    expect(button).to_have_attribute("aria-pressed", "false")
    button.click()
    expect(frame.get_by_role("status")).to_have_text(
        "Le dossier de preuves est partagé avec qui a le lien de vérification."
    )
    expect(frame.get_by_test_id("share-B1").get_by_role("button")).to_have_attribute("aria-pressed", "true")
    page.goto(f"{live_server.url}/verify/{credential_id}")
    expect(page.get_by_test_id("evidence-json")).to_be_visible()
