"""The "must accept" cases: valid launches in all their variety reach the right home, and are recorded."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from sqlalchemy import select
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from lti_tool.db import db
from lti_tool.learners.models import Context, Enrolment, Learner
from lti_tool.learners.services import PlatformSpec, register_platform
from tests.conftest import SECOND_CLIENT_ID, free_port, recorded
from tests.helpers import DROP, LtiBrowser, Platform, autopost_form, error_code, page_url_of

LIS = "http://purl.imsglobal.org/vocab/lis/v2/"


def lands_on(browser: LtiBrowser, response, home: str) -> str:  # type: ignore[no-untyped-def]
    """Check which home a successful launch shows, and that its GET address shows it again."""
    assert response.status_code == 200, (response.status_code, error_code(response))
    assert f'data-testid="{home}-home"' in response.text
    assert urlsplit(page_url_of(response)).path == f"/{home}/"
    again = browser.reload(response)
    assert again.status_code == 200 and f'data-testid="{home}-home"' in again.text
    return response.text


def test_learner_launch_through_the_demo_platform_reaches_the_learner_home(browser: LtiBrowser) -> None:
    page = browser.demo_launch("learner")
    assert page.status_code == 200
    assert 'data-testid="learner-home"' in page.text
    assert "Bienvenue, Apprenant·e." in page.text
    assert "Modèles socio-économiques" in page.text


def test_instructor_launch_through_the_demo_platform_reaches_the_staff_home(browser: LtiBrowser) -> None:
    browser.demo_launch("learner")
    page = browser.demo_launch("instructor")
    assert 'data-testid="staff-home"' in page.text
    assert "Apprenant·e de démonstration" in page.text  # the learner who launched is on the roster


def test_moodle_site_admin_with_only_system_roles_is_staff(browser: LtiBrowser) -> None:
    page = browser.demo_launch("admin")
    assert 'data-testid="staff-home"' in page.text


@pytest.mark.parametrize(
    ("roles", "home"),
    [
        (
            [LIS + "membership#Instructor", LIS + "membership#Learner", LIS + "institution/person#Faculty"],
            "staff",
        ),
        (["Instructor"], "staff"),
        (["TeachingAssistant"], "staff"),
        ([LIS + "membership/Instructor#TeachingAssistant"], "staff"),
        (["Learner"], "learner"),
        (["http://example.org/roles#SomethingNew"], "learner"),
        ([], "learner"),
        ([LIS + "system/person#None", LIS + "institution/person#None"], "learner"),
        ([LIS + "institution/person#Instructor"], "learner"),  # an instructor elsewhere, not in this course
    ],
    ids=[
        "several",
        "short-instructor",
        "short-ta",
        "ta-subrole",
        "short-learner",
        "unknown",
        "none",
        "none-roles",
        "institution-instructor",
    ],
)
def test_roles_decide_the_home(browser: LtiBrowser, roles: list[str], home: str) -> None:
    lands_on(browser, browser.launch_with(roles=roles), home)


@pytest.mark.parametrize(
    "personal",
    [
        {"name": DROP, "given_name": DROP, "family_name": DROP},  # only e-mail
        {"email": DROP},  # only names
        {"name": DROP, "given_name": DROP, "family_name": DROP, "email": DROP},  # no personal data
    ],
    ids=["only-email", "only-names", "no-personal-data"],
)
def test_accepts_launches_with_little_or_no_personal_data(browser: LtiBrowser, personal: dict) -> None:  # type: ignore[type-arg]
    lands_on(browser, browser.launch_with(sub=f"sub-{time.time_ns()}", **personal), "learner")


def test_accepts_launch_without_context(app: Flask, browser: LtiBrowser) -> None:
    page = lands_on(browser, browser.launch_with(context=DROP), "learner")
    assert "(sans cours)" in page
    with app.app_context():
        assert db.session.scalar(select(Context).where(Context.lti_context_id == "")) is not None
        db.session.remove()


def test_accepts_launch_with_only_a_resource_link(browser: LtiBrowser) -> None:
    minimal = {
        claim: DROP
        for claim in (
            "context",
            "launch_presentation",
            "tool_platform",
            "custom",
            "name",
            "given_name",
            "family_name",
            "email",
        )
    }
    page = lands_on(browser, browser.launch_with(sub=f"minimal-{time.time_ns()}", **minimal), "learner")
    assert "Bienvenue." in page and "Bienvenue," not in page  # no name claim: greeted without a name


@pytest.mark.parametrize("aud", ["socle-demo", ["socle-demo"]], ids=["string", "one-element-array"])
def test_accepts_aud_as_string_or_one_element_array(browser: LtiBrowser, aud: object) -> None:
    lands_on(browser, browser.launch_with(aud=aud, azp="socle-demo"), "learner")


@pytest.mark.parametrize("skew", [-2, 3], ids=["platform-behind", "platform-ahead"])
def test_accepts_platform_clock_a_few_seconds_off(browser: LtiBrowser, skew: int) -> None:
    now = int(time.time()) + skew
    # Behind: the token expired 2 s ago by our clock (within the 5 s leeway). Ahead: issued 3 s in our future.
    changes = {"iat": now - 60, "exp": now} if skew < 0 else {"iat": now, "exp": now + 60}
    lands_on(browser, browser.launch_with(**changes), "learner")


def test_login_sends_exactly_the_registered_redirect_uri(browser: LtiBrowser, live_server) -> None:  # type: ignore[no-untyped-def]
    login = browser.start_login()
    assert login.location.startswith(browser.platform.demo.auth_url + "?")
    params = login.auth_params
    assert params["redirect_uri"] == live_server.url + "/lti/launch"
    assert params["scope"] == "openid"
    assert params["response_type"] == "id_token"
    assert params["response_mode"] == "form_post"
    assert params["prompt"] == "none"
    assert params["client_id"] == "socle-demo"
    assert params["login_hint"] == "learner"
    assert params["lti_message_hint"] == "resource"


def test_login_initiation_by_post_works(browser: LtiBrowser, platform: Platform) -> None:
    login = browser.start_login(method="POST")
    lands_on(browser, browser.launch(platform.sign(platform.claims(login.nonce)), login.state), "learner")


def test_one_issuer_many_clients(app: Flask, browser: LtiBrowser) -> None:
    sub = f"multi-{time.time_ns()}"
    lands_on(browser, browser.launch_with(sub=sub), "learner")
    lands_on(browser, browser.launch_with(via=SECOND_CLIENT_ID, sub=sub), "learner")
    with app.app_context():
        learner = db.session.scalar(select(Learner).where(Learner.sub == sub))
        assert learner is not None
        enrolments = db.session.scalars(select(Enrolment).where(Enrolment.learner_id == learner.id)).all()
        # Same person (issuer + sub), two deployments, so two course contexts.
        assert len(enrolments) == 2
        db.session.remove()


def test_repeated_launches_update_rather_than_duplicate(app: Flask, browser: LtiBrowser) -> None:
    sub = f"repeat-{time.time_ns()}"
    lands_on(browser, browser.launch_with(sub=sub, name="Ancien nom", roles=["Learner"]), "learner")
    before = recorded(app)
    lands_on(browser, browser.launch_with(sub=sub, name="Nouveau nom", roles=["Instructor"]), "staff")
    after = recorded(app)
    assert after["lti_launches"] == before["lti_launches"] + 1
    # The staff home brings the course's roster in (NRPS): count this person's rows, not the tables'.
    with app.app_context():
        (learner,) = db.session.scalars(select(Learner).where(Learner.sub == sub)).all()
        assert learner.name == "Nouveau nom"
        (enrolment,) = db.session.scalars(select(Enrolment).where(Enrolment.learner_id == learner.id)).all()
        assert enrolment.is_staff and enrolment.roles == ["Instructor"]
        db.session.remove()


def test_the_same_token_posted_twice_at_once_launches_once(
    browser: LtiBrowser, other_browser: LtiBrowser, platform: Platform
) -> None:
    login = browser.start_login()
    token = platform.sign(platform.claims(login.nonce))
    for cookie in browser.http.cookies:
        other_browser.http.cookies.set(cookie.name, cookie.value)
    results: list[int] = []
    barrier = threading.Barrier(2)

    def post(client: LtiBrowser) -> None:
        barrier.wait()
        results.append(client.launch(token, login.state).status_code)

    threads = [threading.Thread(target=post, args=(client,)) for client in (browser, other_browser)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sorted(results) == [200, 400]


def test_platform_keys_are_cached_not_fetched_per_launch(browser: LtiBrowser, jwks_fetches) -> None:  # type: ignore[no-untyped-def]
    browser.launch_with()
    before = jwks_fetches()
    for _ in range(3):
        lands_on(browser, browser.launch_with(), "learner")
    assert jwks_fetches() == before


def test_platform_key_rotation_is_picked_up_with_one_refetch(
    browser: LtiBrowser, platform: Platform, jwks_fetches
) -> None:  # type: ignore[no-untyped-def]
    browser.launch_with()
    before = jwks_fetches()
    platform.demo.keys.rotate()
    lands_on(browser, browser.launch_with(), "learner")
    lands_on(browser, browser.launch_with(), "learner")
    assert jwks_fetches() == before + 1


@pytest.fixture
def bare_jwks_server(platform: Platform) -> Iterator[str]:
    """A platform key set published with no ``alg`` on its keys (some platforms do that)."""
    public = dict(platform.demo.keys.active().public_jwk)
    public.pop("alg")

    @Request.application
    def serve(request: Request) -> Response:
        return Response(json.dumps({"keys": [public]}), content_type="application/json")

    port = free_port()
    server = make_server("127.0.0.1", port, serve, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}/jwks"
    server.shutdown()


def test_accepts_platform_key_set_without_alg(
    app: Flask, browser: LtiBrowser, platform: Platform, bare_jwks_server: str
) -> None:
    issuer = "https://no-alg-platform.example"
    with app.app_context():
        register_platform(
            db.session,
            PlatformSpec(
                issuer, "no-alg-client", issuer + "/auth", issuer + "/token", bare_jwks_server, ["d1"]
            ),
        )
        db.session.commit()
        db.session.remove()
    login = browser.start_login(iss=issuer, client_id="no-alg-client", lti_deployment_id="d1")
    assert login.location.startswith(issuer + "/auth?")
    claims = platform.claims(login.nonce, iss=issuer, aud="no-alg-client", deployment_id="d1")
    lands_on(browser, browser.launch(platform.sign(claims), login.state), "learner")


def test_blocked_cookies_get_a_page_that_reopens_the_launch_in_a_new_window(
    browser: LtiBrowser, other_browser: LtiBrowser
) -> None:
    # The login ran in the LMS iframe, where the browser refused our cookie: the launch arrives without it.
    page = browser.http.get(browser.base_url + "/demo/start", params={"as": "learner"})
    action, fields = autopost_form(page.text)
    response = other_browser.http.post(action, data=fields, allow_redirects=False)
    assert response.status_code == 401
    assert error_code(response) == "cookies_blocked"
    assert "Ouvrir dans une nouvelle fenêtre" in response.text and 'target="_blank"' in response.text
    import html
    import re

    retry = html.unescape(re.search(r'href="([^"]+)" target="_blank"', response.text).group(1))  # type: ignore[union-attr]
    assert urlsplit(retry).path == "/lti/login"
    assert parse_qs(urlsplit(retry).query)["login_hint"] == ["learner"]
    # The new window is first-party: the cookie sticks and the launch goes through.
    auth_page = other_browser.http.get(retry)
    action, fields = autopost_form(auth_page.text)
    final = other_browser.http.post(action, data=fields)
    assert final.status_code == 200 and 'data-testid="learner-home"' in final.text
