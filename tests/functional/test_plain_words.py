"""Words a learner and a trainer understand: no internal ids (« profile », « review »), no level code without
its name, no « score pondéré », « traces xAPI » or « règles de maîtrise, version N » on their pages; the
technical names (the cryptosuite, the issuer's key) only inside a folded « Détails techniques »."""

from __future__ import annotations

import re
import time

from tests.conftest import LiveServer
from tests.functional.test_competences import learner_id, people
from tests.functional.test_diagnostic import run_through, start
from tests.helpers import fr

JARGON = (
    "score pondéré",
    "traces xapi",
    "identifiant lti",
    "règles de maîtrise, version",
    "eddsa-rdfc",
    "did:key",
)


def outside_details(page: str) -> str:
    """The page's visible text outside the folded ``<details>`` sections, tags removed, in lower case."""
    main = page.split("<main", 1)[-1]
    unfolded = re.sub(r"<details\b.*?</details>", " ", main, flags=re.S)
    return re.sub(r"<[^>]+>", " ", unfolded).lower()


def test_learner_and_trainer_pages_speak_plainly(live_server: LiveServer) -> None:
    course = {"id": f"course-{time.time_ns()}", "title": "Mots simples"}
    learner, facilitator = people(live_server, course, "learner", "instructor")
    pk = learner_id(live_server.app, learner.sub)
    # the questionnaire's steps are named, not given by their ids
    run = start(learner)
    for step in ("profile", "review"):
        page = learner.get(f"/diagnostic/runs/{run}/{step}").text
        steps = page.split('class="steps"', 1)[1].split("</nav>", 1)[0]
        assert ">profile<" not in steps and ">review<" not in steps and ">pratique<" not in steps
        assert fr("Votre profil") in steps and fr("Envoyer mes réponses") in steps
    # a level is said with its name
    run_through(learner, {"A": 2, "B": 2, "C": 2, "D": 2, "E": 2})
    home = learner.get("/learner/").text
    assert re.search(r"structure au niveau [^<(]+ \(L\d\)", home), outside_details(home)[:2000]
    assert re.search(r"[^<(>]+ \(L\d\), score global", learner.get("/diagnostic/").text)
    pages = {
        "learner home": home,
        "learner competences": learner.get("/competences/").text,
        "staff competences": facilitator.get("/staff/competences/").text,
        "staff learner": facilitator.get(f"/staff/learners/{pk}/competences").text,
        "dashboard": facilitator.get("/staff/dashboard/").text,
        "heatmap": facilitator.get("/staff/dashboard/heatmap").text,
    }
    for name, page in pages.items():
        text = outside_details(page)
        assert "<main" in page, name
        for word in JARGON:
            assert word not in text, (name, word)
    # the rules' version is still there for who needs it, folded
    competences = pages["learner competences"]
    assert fr("Détails techniques") in competences and fr("Version des règles de validation") in competences
