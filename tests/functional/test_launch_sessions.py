"""What a launch id is worth after the launch: refusals that stay 4xx and cost nothing, a launch bound to its
browser's cookie, a cookie-less launch as a short-lived bearer token, and CSRF on every state change."""

from __future__ import annotations

import importlib
import logging
import pkgutil
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from flask import Flask
from sqlalchemy import delete, func, select, update

import lti_tool
from lti_tool import create_app
from lti_tool.db import db, utcnow
from lti_tool.diagnostic.models import DiagnosticRun
from lti_tool.errors import SocleError
from lti_tool.lti.launches import current_launch
from lti_tool.lti.models import Launch
from tests.conftest import production_config
from tests.functional.test_cookieless import storage_login
from tests.helpers import LtiBrowser, Platform, error_code, launch_id_of

# The pages that answered a bare 500 without a valid launch (the competences labels asked for the launch
# again while the error page rendered), and the POSTs among them.
STAFF_ROUTES = [
    ("GET", "/staff/dashboard/"),
    ("GET", "/competences/"),
    ("GET", "/staff/competences/"),
    ("GET", "/staff/learners/1/competences"),
    ("POST", "/staff/deliverables/1/review"),
    ("POST", "/staff/credentials/c-1/revoke"),
    ("POST", "/staff/learners/1/prior-learning"),
    ("GET", "/admin/privacy/"),
]


def set_launch(app: Flask, launch_id: str, **values: object) -> None:
    with app.app_context():
        db.session.execute(update(Launch).where(Launch.id == launch_id).values(**values))
        db.session.commit()
        db.session.remove()


def expiry_of(app: Flask, launch_id: str) -> object:
    with app.app_context():
        value = db.session.scalar(select(Launch.expires_at).where(Launch.id == launch_id))
        db.session.remove()
        return value


def diagnostic_runs(app: Flask) -> int:
    with app.app_context():
        value = int(db.session.scalar(select(func.count()).select_from(DiagnosticRun)) or 0)
        db.session.remove()
        return value


def fresh_sub() -> str:
    """A person with no run yet (starting a run resumes an open one)."""
    return f"sessions-{uuid.uuid4().hex[:12]}"


def assert_page_refusal(response: requests.Response, *statuses: int) -> None:
    assert response.status_code in statuses, (response.status_code, error_code(response))
    assert error_code(response) and "Que faire" in response.text and "What to do" in response.text


# -- 4. No launch, or a bad one: a clear 4xx, never a 500 ---------------------------------------------------
@pytest.mark.parametrize(("method", "path"), STAFF_ROUTES)
@pytest.mark.parametrize("case", ["no-launch", "unknown", "expired", "purged", "foreign-cookie"])
def test_staff_and_competence_pages_refuse_a_missing_or_bad_launch_with_a_4xx(
    app: Flask, browser: LtiBrowser, other_browser: LtiBrowser, case: str, method: str, path: str
) -> None:
    params: dict[str, str] = {}
    client = browser
    if case == "unknown":
        params["launch"] = "xxx"
    elif case in ("expired", "purged", "foreign-cookie"):
        landing = browser.launch_with(user="admin")
        assert landing.status_code == 200
        params["launch"] = launch_id_of(landing)
        if case == "expired":
            set_launch(app, params["launch"], expires_at=utcnow() - timedelta(seconds=1))
        elif case == "purged":
            with app.app_context():
                db.session.execute(delete(Launch).where(Launch.id == params["launch"]))
                db.session.commit()
                db.session.remove()
        else:
            assert other_browser.launch_with(user="learner").status_code == 200  # its own cookie
            client = other_browser
    response = client.http.request(method, browser.base_url + path, params=params, allow_redirects=False)
    assert_page_refusal(response, 401, 403)


def test_a_refusal_is_a_fresh_exception_each_time(app: Flask) -> None:
    # A module-level instance raised again and again chains every traceback onto itself: about 22 MB per
    # worker after 3,000 refused requests, and 51,000 log lines for the next 500.
    with app.app_context():
        caught = []
        for _ in range(3):
            with app.test_request_context("/learner/?launch=xxx"):
                with pytest.raises(SocleError) as refusal:
                    current_launch()
                caught.append(refusal.value)
        db.session.remove()
    assert len({id(error) for error in caught}) == 3
    depths = []
    for error in caught:
        depth, frame = 0, error.__traceback__
        while frame is not None:
            depth, frame = depth + 1, frame.tb_next
        depths.append(depth)
    assert depths[0] == depths[-1]


def test_no_module_keeps_an_error_instance_to_raise() -> None:
    """Refusals are classes raised as ``Refusal()``; a module-level instance would grow with every raise."""
    found = []
    for module_info in pkgutil.walk_packages(lti_tool.__path__, "lti_tool."):
        if ".migrations" in module_info.name:
            continue
        module = importlib.import_module(module_info.name)
        found += [
            f"{module_info.name}.{name}"
            for name, value in vars(module).items()
            if isinstance(value, BaseException)
        ]
    assert found == []


# -- 5. A launch made with the cookie stays bound to it ------------------------------------------------------
def test_a_cookie_bound_launch_id_opens_nothing_without_its_cookie(
    browser: LtiBrowser, other_browser: LtiBrowser
) -> None:
    admin = browser.launch_with(user="admin")
    launch_id = launch_id_of(admin)
    for path in ("/learner/", "/staff/dashboard/", "/admin/privacy/"):
        assert browser.http.get(browser.base_url + path, params={"launch": launch_id}).status_code == 200
        # Copied into a client without the cookie, or into another browser: refused.
        stranger = requests.get(browser.base_url + path, params={"launch": launch_id}, timeout=10)
        assert_page_refusal(stranger, 403)
        assert error_code(stranger) == "foreign_launch"
        assert other_browser.launch_with().status_code == 200
        assert_page_refusal(
            other_browser.http.get(browser.base_url + path, params={"launch": launch_id}), 403
        )
    # The X-Socle-Launch header is no way in, with or without the cookie.
    for client in (requests, browser.http):
        by_header = client.get(  # type: ignore[attr-defined]
            browser.base_url + "/learner/", headers={"X-Socle-Launch": launch_id}, timeout=10
        )
        assert_page_refusal(by_header, 401)


def test_a_platform_storage_launch_works_on_its_id_with_a_short_sliding_idle_limit(
    app: Flask, browser: LtiBrowser, platform: Platform
) -> None:
    state, nonce, _, secret = storage_login(browser)
    browser.http.cookies.clear()  # the LMS frame drops our cookies
    landing = browser.launch(platform.sign(platform.claims(nonce)), state, lti_storage_value=secret)
    assert landing.status_code == 200 and 'data-testid="learner-home"' in landing.text
    assert "socle_browser" not in landing.cookies  # nothing to bind it to
    launch_id = launch_id_of(landing)
    idle = timedelta(minutes=app.config["LAUNCH_IDLE_MINUTES"])
    assert idle <= timedelta(minutes=30)
    assert expiry_of(app, launch_id) <= utcnow() + idle  # type: ignore[operator]
    # Honoured on its id alone (the cookie never comes back), and a form of its pages posts (CSRF token).
    page = browser.http.get(browser.base_url + "/diagnostic/", params={"launch": launch_id})
    assert page.status_code == 200
    started = browser.http.post(
        browser.base_url + "/diagnostic/runs", params={"launch": launch_id}, allow_redirects=False
    )
    assert started.status_code == 303
    # Used after some idle time: the limit slides forward.
    set_launch(app, launch_id, expires_at=utcnow() + timedelta(minutes=2))
    assert browser.http.get(browser.base_url + "/learner/", params={"launch": launch_id}).status_code == 200
    assert expiry_of(app, launch_id) > utcnow() + idle - timedelta(minutes=1)  # type: ignore[operator]
    # Never past LAUNCH_TTL_SECONDS after the launch, however often it is used.
    set_launch(
        app,
        launch_id,
        created_at=utcnow() - timedelta(seconds=app.config["LAUNCH_TTL_SECONDS"] - 30),
        expires_at=utcnow() + timedelta(minutes=2),
    )
    assert browser.http.get(browser.base_url + "/learner/", params={"launch": launch_id}).status_code == 200
    assert expiry_of(app, launch_id) <= utcnow() + timedelta(seconds=30)  # type: ignore[operator]
    # Idle past its limit: gone.
    set_launch(app, launch_id, expires_at=utcnow() - timedelta(seconds=1))
    gone = browser.http.get(browser.base_url + "/learner/", params={"launch": launch_id})
    assert_page_refusal(gone, 401)


# -- 5. CSRF: a per-launch token and a same-origin check on every state change ----------------------------
def test_a_post_without_the_launch_csrf_token_is_refused_and_records_nothing(
    app: Flask, browser: LtiBrowser, other_browser: LtiBrowser
) -> None:
    launch_id = launch_id_of(browser.launch_with(sub=fresh_sub()))
    other_launch = launch_id_of(other_browser.launch_with())
    url = browser.base_url + "/diagnostic/runs"
    before = diagnostic_runs(app)
    for token in (None, "", "forged", browser.http.csrf_tokens[launch_id][:-1]):
        response = browser.http.post(
            url, params={"launch": launch_id}, data={"csrf_token": token}, allow_redirects=False
        )
        assert_page_refusal(response, 403)
        assert error_code(response) == "csrf_refused"
    # Another launch's token does not fit this launch.
    response = browser.http.post(
        url,
        params={"launch": launch_id},
        data={"csrf_token": other_browser.http.csrf_tokens[other_launch]},
        allow_redirects=False,
    )
    assert_page_refusal(response, 403)
    assert diagnostic_runs(app) == before
    # The pages give the token in each form, and the form goes through.
    page = browser.http.get(browser.base_url + "/diagnostic/", params={"launch": launch_id})
    assert f'name="csrf_token" value="{browser.http.csrf_tokens[launch_id]}"' in page.text
    assert browser.http.post(url, params={"launch": launch_id}, allow_redirects=False).status_code == 303
    assert diagnostic_runs(app) == before + 1


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site", "Origin": "https://other.127.0.0.1.example"},
    ],
    ids=["foreign-origin", "null-origin", "cross-site-fetch", "same-site-fetch"],
)
def test_a_cross_origin_post_is_refused_even_with_the_cookie_and_token(
    app: Flask, browser: LtiBrowser, headers: dict[str, str]
) -> None:
    launch_id = launch_id_of(browser.launch_with(sub=fresh_sub()))
    before = diagnostic_runs(app)
    response = browser.http.post(
        browser.base_url + "/diagnostic/runs",
        params={"launch": launch_id},
        headers=headers,
        allow_redirects=False,
    )
    assert_page_refusal(response, 403)
    assert error_code(response) == "cross_site_refused"
    assert diagnostic_runs(app) == before


def test_a_cross_origin_post_with_a_launch_id_and_no_cookie_is_refused(
    app: Flask, browser: LtiBrowser
) -> None:
    launch_id = launch_id_of(browser.launch_with(sub=fresh_sub()))
    before = diagnostic_runs(app)
    response = requests.post(
        browser.base_url + "/diagnostic/runs",
        params={"launch": launch_id},
        headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
        allow_redirects=False,
        timeout=10,
    )
    assert_page_refusal(response, 403)
    assert diagnostic_runs(app) == before


# -- Headers in production ------------------------------------------------------------------------------------
def test_production_answers_with_hsts(tmp_path: Path) -> None:
    app = create_app(production_config(tmp_path))
    response = app.test_client().get("/lti/jwks", base_url="https://socle.example.org")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    assert int(response.headers["Strict-Transport-Security"].split("=")[1].split(";")[0]) >= 180 * 24 * 3600


def test_development_does_not_pin_https(app: Flask) -> None:
    assert "Strict-Transport-Security" not in app.test_client().get("/lti/jwks").headers


def test_refusals_log_the_rule_never_the_launch_id_or_token(
    browser: LtiBrowser, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    launch_id = launch_id_of(browser.launch_with(sub=fresh_sub()))
    token = browser.http.csrf_tokens[launch_id]
    requests.get(browser.base_url + "/learner/", params={"launch": launch_id}, timeout=10)
    browser.http.post(
        browser.base_url + "/diagnostic/runs",
        params={"launch": launch_id},
        headers={"Origin": "https://evil.example"},
        allow_redirects=False,
    )
    # The server's records (the test's own HTTP client, urllib3, logs its URLs: not Socle's).
    text = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("urllib3"))
    assert "refused GET /learner/: foreign_launch" in text
    assert "refused POST /diagnostic/runs: cross_site_refused" in text
    assert launch_id not in text and token not in text
