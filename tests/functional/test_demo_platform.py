"""The demo platform's LTI Advantage side, over real HTTP: token endpoint, AGS, NRPS, Dynamic
Registration, Deep Linking and the launch claims that point a tool at them.

Client assertions and Deep Linking responses are signed with Socle's own key (the live server's
KeyStore), exactly as the tool side will sign them."""

from __future__ import annotations

import html
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask
from sqlalchemy import select

from demo_platform import roster
from demo_platform.models import DemoLineItem, DemoResourceLink, DemoScore
from demo_platform.platform import (
    AGS_CLAIM,
    DL,
    LTI,
    NRPS_CLAIM,
    SCOPE_LINEITEM,
    SCOPE_LINEITEM_READONLY,
    SCOPE_NRPS,
    SCOPE_RESULT_READONLY,
    SCOPE_SCORE,
    DemoPlatform,
)
from lti_tool.db import db
from tests.conftest import SECOND_CLIENT_ID, LiveServer
from tests.helpers import autopost_form

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
LINEITEM = "application/vnd.ims.lis.v2.lineitem+json"
SCORE = "application/vnd.ims.lis.v1.score+json"
ALL_SCOPES = [SCOPE_LINEITEM, SCOPE_LINEITEM_READONLY, SCOPE_RESULT_READONLY, SCOPE_SCORE, SCOPE_NRPS]


@pytest.fixture
def demo(app: Flask) -> Iterator[DemoPlatform]:
    platform: DemoPlatform = app.extensions["socle_demo_platform"]
    yield platform
    platform.outage, platform.new_tools_pending = None, False
    platform.fail_next(0)


@pytest.fixture
def http() -> requests.Session:
    return requests.Session()


def sign_as_tool(app: Flask, claims: dict[str, Any], **headers: Any) -> str:
    key = app.extensions["socle_lti"].keys.active()
    return jwt.encode(claims, key.private_key, algorithm="RS256", headers={"kid": key.kid, **headers})


def assertion(app: Flask, demo: DemoPlatform, client_id: str = "socle-demo", **changes: Any) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": client_id,
        "sub": client_id,
        "aud": demo.token_url,
        "iat": now,
        "exp": now + 60,
        "jti": uuid.uuid4().hex,
    }
    claims.update(changes)
    return sign_as_tool(app, {k: v for k, v in claims.items() if v is not None})


def token_request(demo: DemoPlatform, client_assertion: str, scopes: list[str]) -> requests.Response:
    return requests.post(
        demo.token_url,
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": client_assertion,
            "scope": " ".join(scopes),
        },
        timeout=10,
    )


def access_token(app: Flask, demo: DemoPlatform, scopes: list[str], client_id: str = "socle-demo") -> str:
    response = token_request(demo, assertion(app, demo, client_id), scopes)
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def bearer(token: str, content_type: str | None = None) -> dict[str, str]:
    headers = {"Authorization": "Bearer " + token}
    if content_type:
        headers["Content-Type"] = content_type
    return headers


def new_line_item(app: Flask, demo: DemoPlatform, **fields: Any) -> dict[str, Any]:
    token = access_token(app, demo, [SCOPE_LINEITEM])
    tool = demo.tool("socle-demo")
    assert tool is not None
    body = {"label": "Quiz M1", "scoreMaximum": 20, "resourceId": "M1", "tag": "quiz", **fields}
    response = requests.post(demo.lineitems_url(tool), json=body, headers=bearer(token, LINEITEM), timeout=10)
    assert response.status_code == 201, response.text
    assert response.headers["Content-Type"].startswith(LINEITEM)
    return dict(response.json())


def scores_url(line_item: dict[str, Any]) -> str:
    parts = urlsplit(line_item["id"])
    return parts._replace(path=parts.path + "/scores").geturl()


def score(
    user: str = "demo-learner-0001", when: str = "2030-01-01T10:00:00Z", **fields: Any
) -> dict[str, Any]:
    body = {
        "userId": user,
        "timestamp": when,
        "activityProgress": "Completed",
        "gradingProgress": "FullyGraded",
        "scoreGiven": 15,
        "scoreMaximum": 20,
    }
    body.update(fields)
    return {key: value for key, value in body.items() if value is not None}


def id_token_claims(page: requests.Response) -> tuple[dict[str, Any], dict[str, str]]:
    """The claims of the id_token the platform auto-posts (unverified: the platform signed them)."""
    assert page.status_code == 200, page.text[:500]
    _action, fields = autopost_form(page.text)
    return jwt.decode(fields["id_token"], options={"verify_signature": False}), fields


# -- token endpoint ------------------------------------------------------------------------------
def test_token_endpoint_grants_a_bearer_token_for_a_valid_assertion(app: Flask, demo: DemoPlatform) -> None:
    response = token_request(demo, assertion(app, demo), [SCOPE_SCORE, SCOPE_LINEITEM])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600 and body["access_token"]
    assert set(body["scope"].split()) == {SCOPE_SCORE, SCOPE_LINEITEM}
    assert response.headers["Cache-Control"] == "no-store"


def test_token_endpoint_accepts_the_issuer_as_audience(app: Flask, demo: DemoPlatform) -> None:
    response = token_request(demo, assertion(app, demo, aud=demo.issuer), [SCOPE_NRPS])
    assert response.status_code == 200, response.text


def test_token_endpoint_grants_only_known_scopes(app: Flask, demo: DemoPlatform) -> None:
    response = token_request(demo, assertion(app, demo), [SCOPE_NRPS, "https://example.org/scope/admin"])
    assert response.status_code == 200 and response.json()["scope"] == SCOPE_NRPS
    refused = token_request(demo, assertion(app, demo), ["https://example.org/scope/admin"])
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_scope"


def test_token_endpoint_refuses_a_bad_signature(app: Flask, demo: DemoPlatform) -> None:
    kid = app.extensions["socle_lti"].keys.active().kid
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time())
    claims = {"iss": "socle-demo", "sub": "socle-demo", "aud": demo.token_url, "iat": now, "exp": now + 60}
    forged = jwt.encode({**claims, "jti": uuid.uuid4().hex}, other, algorithm="RS256", headers={"kid": kid})
    response = token_request(demo, forged, [SCOPE_SCORE])
    assert response.status_code == 400 and response.json()["error"] == "invalid_client"


@pytest.mark.parametrize(
    "changes",
    [
        {"aud": "https://elsewhere.example/token"},
        {"sub": "someone-else"},
        {"expired": True},
        {"jti": None},
    ],
    ids=["wrong-aud", "sub-not-client", "expired", "no-jti"],
)
def test_token_endpoint_refuses_a_wrong_assertion(
    app: Flask, demo: DemoPlatform, changes: dict[str, Any]
) -> None:
    changes = dict(changes)
    if changes.pop("expired", False):
        changes = {"exp": int(time.time()) - 3600, "iat": int(time.time()) - 3700}
    response = token_request(demo, assertion(app, demo, **changes), [SCOPE_SCORE])
    assert response.status_code == 400 and response.json()["error"] == "invalid_client", response.text


def test_token_endpoint_refuses_a_reused_jti(app: Flask, demo: DemoPlatform) -> None:
    once = assertion(app, demo)
    assert token_request(demo, once, [SCOPE_SCORE]).status_code == 200
    again = token_request(demo, once, [SCOPE_SCORE])
    assert again.status_code == 400 and again.json()["error"] == "invalid_client"
    assert "jti" in again.json()["error_description"]


def test_token_endpoint_refuses_other_grants_and_unknown_clients(app: Flask, demo: DemoPlatform) -> None:
    response = requests.post(
        demo.token_url,
        data={"grant_type": "password", "client_assertion_type": ASSERTION_TYPE, "client_assertion": "x"},
        timeout=10,
    )
    assert response.status_code == 400 and response.json()["error"] == "unsupported_grant_type"
    unknown = token_request(demo, assertion(app, demo, client_id="nobody"), [SCOPE_SCORE])
    assert unknown.status_code == 400 and unknown.json()["error"] == "invalid_client"


def test_token_endpoint_counts_the_tokens_it_issues(app: Flask, demo: DemoPlatform) -> None:
    before = requests.get(demo.base_url + "/admin/token-stats", timeout=10).json().get("socle-demo", {})
    access_token(app, demo, [SCOPE_RESULT_READONLY])
    access_token(app, demo, [SCOPE_RESULT_READONLY, SCOPE_NRPS])
    after = requests.get(demo.base_url + "/admin/token-stats", timeout=10).json()["socle-demo"]
    assert after["*"] == before.get("*", 0) + 2
    assert after[SCOPE_RESULT_READONLY] == before.get(SCOPE_RESULT_READONLY, 0) + 2
    assert after[SCOPE_NRPS] == before.get(SCOPE_NRPS, 0) + 1


# -- AGS -----------------------------------------------------------------------------------------
def test_line_items_are_created_listed_filtered_updated_and_deleted(app: Flask, demo: DemoPlatform) -> None:
    tag = "tag-" + uuid.uuid4().hex[:6]
    item = new_line_item(app, demo, tag=tag, resourceId="M2", resourceLinkId="demo-link-socle")
    assert "/demo/courses/demo-course-mse/lineitems/" in item["id"] and item["id"].endswith(
        "?type_id=socle-demo-1"
    )
    assert item["scoreMaximum"] == 20 and item["resourceLinkId"] == "demo-link-socle"
    token = access_token(app, demo, [SCOPE_LINEITEM_READONLY])
    tool = demo.tool("socle-demo")
    assert tool is not None
    listed = requests.get(demo.lineitems_url(tool) + "&tag=" + tag, headers=bearer(token), timeout=10)
    assert listed.status_code == 200
    assert listed.headers["Content-Type"].startswith("application/vnd.ims.lis.v2.lineitemcontainer+json")
    assert [entry["id"] for entry in listed.json()] == [item["id"]]
    by_link = requests.get(
        demo.lineitems_url(tool) + "&resource_link_id=demo-link-socle&resource_id=M2",
        headers=bearer(token),
        timeout=10,
    ).json()
    assert item["id"] in [entry["id"] for entry in by_link]
    # Read-only scope cannot change it; the lineitem scope can.
    denied = requests.put(
        item["id"], json={**item, "label": "x"}, headers=bearer(token, LINEITEM), timeout=10
    )
    assert denied.status_code == 403
    writer = access_token(app, demo, [SCOPE_LINEITEM])
    changed = requests.put(
        item["id"],
        json={**item, "label": "Quiz M2 (v2)", "scoreMaximum": 10},
        headers=bearer(writer, LINEITEM),
        timeout=10,
    )
    assert changed.status_code == 200 and changed.json()["label"] == "Quiz M2 (v2)"
    assert requests.get(item["id"], headers=bearer(token), timeout=10).json()["scoreMaximum"] == 10
    assert requests.delete(item["id"], headers=bearer(writer), timeout=10).status_code == 204
    assert requests.get(item["id"], headers=bearer(token), timeout=10).status_code == 404


def test_line_item_creation_checks_its_body(app: Flask, demo: DemoPlatform) -> None:
    token = access_token(app, demo, [SCOPE_LINEITEM])
    tool = demo.tool("socle-demo")
    assert tool is not None
    url = demo.lineitems_url(tool)
    no_max = requests.post(url, json={"label": "x"}, headers=bearer(token, LINEITEM), timeout=10)
    assert no_max.status_code == 400
    not_ours = requests.post(
        url,
        json={"label": "x", "scoreMaximum": 1, "resourceLinkId": "999999"},
        headers=bearer(token, LINEITEM),
        timeout=10,
    )
    assert not_ours.status_code == 403
    wrong_type = requests.post(
        url, json={"label": "x", "scoreMaximum": 1}, headers=bearer(token, "text/plain"), timeout=10
    )
    assert wrong_type.status_code == 400


def test_score_is_recorded_and_becomes_the_result(app: Flask, demo: DemoPlatform) -> None:
    item = new_line_item(app, demo)
    token = access_token(app, demo, [SCOPE_SCORE])
    posted = requests.post(
        scores_url(item), json=score(comment="Bien"), headers=bearer(token, SCORE), timeout=10
    )
    assert posted.status_code == 200, posted.text
    reader = access_token(app, demo, [SCOPE_RESULT_READONLY])
    parts = urlsplit(item["id"])
    results_url = parts._replace(path=parts.path + "/results").geturl()
    results = requests.get(results_url, headers=bearer(reader), timeout=10)
    assert results.status_code == 200
    assert results.headers["Content-Type"].startswith("application/vnd.ims.lis.v2.resultcontainer+json")
    [result] = results.json()
    assert result["userId"] == "demo-learner-0001" and result["scoreOf"] == item["id"]
    assert result["resultScore"] == 15 and result["resultMaximum"] == 20 and result["comment"] == "Bien"


def test_score_needs_a_token_with_the_score_scope(app: Flask, demo: DemoPlatform) -> None:
    item = new_line_item(app, demo)
    missing = requests.post(scores_url(item), json=score(), headers={"Content-Type": SCORE}, timeout=10)
    assert missing.status_code == 401 and missing.headers["WWW-Authenticate"].startswith("Bearer")
    forged = requests.post(scores_url(item), json=score(), headers=bearer("not-a-token", SCORE), timeout=10)
    assert forged.status_code == 401
    no_scope = access_token(app, demo, [SCOPE_LINEITEM, SCOPE_NRPS])
    denied = requests.post(scores_url(item), json=score(), headers=bearer(no_scope, SCORE), timeout=10)
    assert denied.status_code == 403 and denied.json()["error"] == "insufficient_scope"


def test_score_with_a_timestamp_not_later_than_the_last_is_a_conflict(app: Flask, demo: DemoPlatform) -> None:
    item = new_line_item(app, demo)
    token = access_token(app, demo, [SCOPE_SCORE])
    url, headers = scores_url(item), bearer(token, SCORE)
    assert (
        requests.post(
            url, json=score(when="2030-01-01T10:00:00.100Z"), headers=headers, timeout=10
        ).status_code
        == 200
    )
    same_second = requests.post(url, json=score(when="2030-01-01T10:00:00.900Z"), headers=headers, timeout=10)
    assert same_second.status_code == 409
    earlier = requests.post(url, json=score(when="2030-01-01T09:59:59Z"), headers=headers, timeout=10)
    assert earlier.status_code == 409
    # Same instant written in another zone: still the same second.
    assert (
        requests.post(
            url, json=score(when="2030-01-01T11:00:00+01:00"), headers=headers, timeout=10
        ).status_code
        == 409
    )
    later = requests.post(url, json=score(when="2030-01-01T10:00:01Z"), headers=headers, timeout=10)
    assert later.status_code == 200
    # Another learner has their own sequence.
    other = requests.post(
        url, json=score(user="demo-instructor-0001", when="2030-01-01T09:00:00Z"), headers=headers, timeout=10
    )
    assert other.status_code == 200


def test_score_for_someone_not_in_the_course_is_refused(app: Flask, demo: DemoPlatform) -> None:
    item = new_line_item(app, demo)
    token = access_token(app, demo, [SCOPE_SCORE])
    response = requests.post(
        scores_url(item), json=score(user="stranger-0001"), headers=bearer(token, SCORE), timeout=10
    )
    assert response.status_code == 400  # as Moodle: "Incorrect score received"
    assert "not a member" in response.json()["error_description"]


@pytest.mark.parametrize(
    "changes",
    [
        {"activityProgress": None},
        {"gradingProgress": None},
        {"timestamp": None},
        {"timestamp": "yesterday"},
        {"timestamp": "2030-01-01T10:00:00"},  # no offset
        {"scoreMaximum": None},  # scoreGiven without scoreMaximum
        {"scoreGiven": "15"},
        {"userId": None},
    ],
    ids=[
        "no-activity",
        "no-grading",
        "no-timestamp",
        "bad-timestamp",
        "naive-timestamp",
        "given-without-max",
        "given-text",
        "no-user",
    ],
)
def test_score_with_a_missing_or_bad_field_is_refused(
    app: Flask, demo: DemoPlatform, changes: dict[str, Any]
) -> None:
    item = new_line_item(app, demo)
    token = access_token(app, demo, [SCOPE_SCORE])
    body = score(**changes)
    response = requests.post(scores_url(item), json=body, headers=bearer(token, SCORE), timeout=10)
    assert response.status_code == 400, response.text


def test_score_given_is_kept_only_when_fully_graded(app: Flask, demo: DemoPlatform) -> None:
    item = new_line_item(app, demo)
    token = access_token(app, demo, [SCOPE_SCORE])
    body = score(gradingProgress="PendingManual", activityProgress="Submitted")
    assert (
        requests.post(scores_url(item), json=body, headers=bearer(token, SCORE), timeout=10).status_code
        == 200
    )
    item_id = int(urlsplit(item["id"]).path.split("/")[-2])
    with app.app_context():
        stored = db.session.scalars(select(DemoScore).where(DemoScore.line_item_id == item_id)).one()
        assert stored.score_given is None and stored.grading_progress == "PendingManual"
        db.session.remove()


def test_another_tool_cannot_see_or_grade_a_line_item(app: Flask, demo: DemoPlatform) -> None:
    item = new_line_item(app, demo)
    other = access_token(app, demo, [SCOPE_SCORE, SCOPE_LINEITEM], client_id=SECOND_CLIENT_ID)
    plain = urlsplit(item["id"])._replace(query="").geturl()
    assert requests.get(plain, headers=bearer(other), timeout=10).status_code == 404
    graded = requests.post(
        urlsplit(scores_url(item))._replace(query="").geturl(),
        json=score(),
        headers=bearer(other, SCORE),
        timeout=10,
    )
    assert graded.status_code == 404
    # Its token does not match the type_id of the first tool's URLs either.
    assert requests.get(item["id"], headers=bearer(other), timeout=10).status_code == 403


def test_outage_switch_makes_services_answer_503_or_slowly(app: Flask, demo: DemoPlatform) -> None:
    token = access_token(app, demo, [SCOPE_NRPS])
    url = demo.memberships_url()
    demo.outage = "down"
    down = requests.get(url, headers=bearer(token), timeout=10)
    assert down.status_code == 503 and down.headers["Retry-After"] == "1"
    assert token_request(demo, assertion(app, demo), [SCOPE_NRPS]).status_code == 503
    demo.outage, demo.outage_delay_seconds = "slow", 0.5
    started = time.monotonic()
    assert requests.get(url, headers=bearer(token), timeout=10).status_code == 200
    assert time.monotonic() - started >= 0.5
    demo.outage, demo.outage_delay_seconds = None, 2.0
    demo.fail_next(2)
    statuses = [requests.get(url, headers=bearer(token), timeout=10).status_code for _ in range(3)]
    assert statuses == [503, 503, 200]
    # Launches are not affected.
    assert requests.get(demo.jwks_url, timeout=10).status_code == 200


# -- NRPS ----------------------------------------------------------------------------------------
@pytest.fixture
def big_roster(app: Flask) -> Iterator[None]:
    with app.app_context():
        roster.resize_roster(db.session, 250)
        db.session.remove()
    yield
    with app.app_context():
        roster.set_generated_learners(db.session, 0)
        roster.set_member_status(db.session, "demo-learner-0001", "Active")
        db.session.remove()


@pytest.mark.usefixtures("big_roster")
def test_memberships_page_through_250_members_with_link_headers(app: Flask, demo: DemoPlatform) -> None:
    with app.app_context():
        roster.set_member_status(db.session, "demo-learner-0001", "Inactive")
        db.session.remove()
    token = access_token(app, demo, [SCOPE_NRPS])
    url: str | None = demo.memberships_url() + "?limit=100"
    pages: list[list[dict[str, Any]]] = []
    while url:
        response = requests.get(url, headers=bearer(token), timeout=10)
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith(
            "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
        )
        body = response.json()
        assert body["context"]["id"] == "demo-course-mse"
        pages.append(body["members"])
        link = response.headers.get("Link")
        url = link.split(";")[0].strip("<> ") if link and 'rel="next"' in link else None
    assert [len(page) for page in pages] == [100, 100, 50]
    members = [member for page in pages for member in page]
    subs = [member["user_id"] for member in members]
    assert len(set(subs)) == 250
    assert {
        "demo-learner-0001",
        "demo-instructor-0001",
        "demo-admin-0001",
        "demo-learner-0002",
        "demo-learner-0248",
    } <= set(subs)
    by_sub = {member["user_id"]: member for member in members}
    assert by_sub["demo-learner-0001"]["status"] == "Inactive"
    assert by_sub["demo-learner-0100"]["status"] == "Active"
    assert by_sub["demo-learner-0100"]["email"] == "apprenant0100@demo.invalid"
    assert any(role.endswith("membership#Instructor") for role in by_sub["demo-instructor-0001"]["roles"])


@pytest.mark.usefixtures("big_roster")
def test_memberships_filter_by_role(app: Flask, demo: DemoPlatform) -> None:
    token = access_token(app, demo, [SCOPE_NRPS])
    response = requests.get(demo.memberships_url() + "?role=Instructor", headers=bearer(token), timeout=10)
    assert [member["user_id"] for member in response.json()["members"]] == ["demo-instructor-0001"]
    everyone = requests.get(demo.memberships_url(), headers=bearer(token), timeout=10)
    assert len(everyone.json()["members"]) == 250 and "Link" not in everyone.headers


def test_memberships_need_the_nrps_scope(app: Flask, demo: DemoPlatform) -> None:
    token = access_token(app, demo, [SCOPE_SCORE])
    assert requests.get(demo.memberships_url(), headers=bearer(token), timeout=10).status_code == 403
    assert requests.get(demo.memberships_url(), timeout=10).status_code == 401


# -- launches ------------------------------------------------------------------------------------
def test_resource_link_launch_carries_ags_and_nrps_claims(http: requests.Session, demo: DemoPlatform) -> None:
    claims, _fields = id_token_claims(http.get(demo.base_url + "/start", params={"as": "learner"}))
    assert claims[LTI + "message_type"] == "LtiResourceLinkRequest"
    ags = claims[AGS_CLAIM]
    assert set(ags["scope"]) == {SCOPE_LINEITEM, SCOPE_LINEITEM_READONLY, SCOPE_RESULT_READONLY, SCOPE_SCORE}
    assert ags["lineitems"] == demo.base_url + "/courses/demo-course-mse/lineitems?type_id=socle-demo-1"
    assert "lineitem" not in ags
    assert claims[NRPS_CLAIM] == {
        "context_memberships_url": demo.base_url + "/courses/demo-course-mse/memberships",
        "service_versions": ["2.0"],
    }


def test_deep_linking_launch_is_for_staff_and_carries_its_settings(
    http: requests.Session, demo: DemoPlatform
) -> None:
    assert (
        http.get(demo.base_url + "/start", params={"as": "learner", "message": "deeplink"}).status_code == 403
    )
    claims, _fields = id_token_claims(
        http.get(demo.base_url + "/start", params={"as": "instructor", "message": "deeplink"})
    )
    assert claims[LTI + "message_type"] == "LtiDeepLinkingRequest"
    assert LTI + "resource_link" not in claims
    settings = claims[DL + "deep_linking_settings"]
    assert settings["deep_link_return_url"].startswith(demo.base_url + "/deep-link-return?")
    assert settings["accept_types"] == ["ltiResourceLink"]
    assert settings["accept_presentation_document_targets"] == ["iframe", "window"]
    assert settings["accept_multiple"] is True and settings["data"]


def test_login_initiation_can_offer_a_storage_target(http: requests.Session, demo: DemoPlatform) -> None:
    page = http.get(demo.base_url + "/course", params={"as": "learner", "storage": "1"})
    assert "demo-storage.js" in page.text and "storage_target=_parent" in page.text
    start = http.get(
        demo.base_url + "/start", params={"as": "learner", "storage_target": "_parent"}, allow_redirects=False
    )
    assert parse_qs(urlsplit(start.headers["Location"]).query)["lti_storage_target"] == ["_parent"]
    hint = parse_qs(urlsplit(start.headers["Location"]).query)["lti_message_hint"][0]
    # The tool's authorization request (made here directly: the tool may first store its state).
    auth = http.get(
        demo.auth_url,
        params={
            "client_id": "socle-demo",
            "redirect_uri": demo.base_url.removesuffix("/demo") + "/lti/launch",
            "scope": "openid",
            "response_type": "id_token",
            "response_mode": "form_post",
            "prompt": "none",
            "login_hint": "learner",
            "nonce": uuid.uuid4().hex,
            "state": "s",
            "lti_message_hint": hint,
        },
    )
    _claims, fields = id_token_claims(auth)
    assert fields["lti_storage_target"] == "_parent"
    assert requests.get(demo.base_url + "/static/demo-storage.js", timeout=10).status_code == 200


# -- Deep Linking return -------------------------------------------------------------------------
def deep_link_request(http: requests.Session, demo: DemoPlatform) -> dict[str, Any]:
    claims, _fields = id_token_claims(
        http.get(demo.base_url + "/start", params={"as": "instructor", "message": "deeplink"})
    )
    return dict(claims[DL + "deep_linking_settings"])


def deep_link_response(
    app: Flask, demo: DemoPlatform, settings: dict[str, Any], items: list[Any], **changes: Any
) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": "socle-demo",
        "aud": demo.issuer,
        "iat": now,
        "exp": now + 300,
        "nonce": uuid.uuid4().hex,
        LTI + "version": "1.3.0",
        LTI + "message_type": "LtiDeepLinkingResponse",
        LTI + "deployment_id": "socle-demo-1",
        DL + "data": settings["data"],
        DL + "content_items": items,
    }
    claims.update(changes)
    return sign_as_tool(app, claims)


ITEMS = [
    {
        "type": "ltiResourceLink",
        "title": "Module 1 : les modèles",
        "custom": {"module": "M1"},
        "lineItem": {"scoreMaximum": 100, "label": "Quiz M1", "resourceId": "M1", "tag": "quiz"},
    },
    {"type": "ltiResourceLink", "title": "Autodiagnostic", "custom": {"activity": "autodiagnostic"}},
    {"type": "html", "html": "<p>ignored</p>"},
]


def test_deep_linking_response_creates_one_activity_per_item(
    app: Flask, demo: DemoPlatform, http: requests.Session
) -> None:
    settings = deep_link_request(http, demo)
    token = deep_link_response(app, demo, settings, ITEMS)
    page = http.post(settings["deep_link_return_url"], data={"JWT": token})
    assert page.status_code == 200, page.text[:800]
    assert 'data-testid="deep-link-created"' in page.text
    assert "Module 1 : les modèles" in page.text and "Autodiagnostic" in page.text
    ids = [int(value) for value in re.findall(r'<li data-link-id="(\d+)">', page.text)]
    with app.app_context():
        links = [db.session.get(DemoResourceLink, link_id) for link_id in ids[:2]]
        assert [link.title for link in links if link] == ["Module 1 : les modèles", "Autodiagnostic"]
        graded = links[0]
        assert graded is not None and graded.line_item_id is not None
        column = db.session.get(DemoLineItem, graded.line_item_id)
        assert (
            column is not None and column.score_maximum == 100 and column.resource_link_id == str(graded.id)
        )
        assert links[1] is not None and links[1].line_item_id is None
        graded_id, line_item_id = graded.id, graded.line_item_id
        db.session.remove()
    # The learner launches the new activity: its custom parameters and gradebook column come along.
    claims, _fields = id_token_claims(
        requests.get(demo.base_url + "/start", params={"as": "learner", "link": graded_id}, timeout=10)
    )
    assert claims[LTI + "resource_link"]["id"] == str(graded_id)
    assert claims[LTI + "custom"] == {"module": "M1"}
    assert (
        claims[AGS_CLAIM]["lineitem"]
        == demo.base_url + f"/courses/demo-course-mse/lineitems/{line_item_id}/lineitem?type_id=socle-demo-1"
    )
    # The same response a second time is refused.
    again = http.post(settings["deep_link_return_url"], data={"JWT": token})
    assert again.status_code == 400 and "already_answered" in again.text


def test_deep_linking_response_from_another_session_is_refused(
    app: Flask, demo: DemoPlatform, http: requests.Session
) -> None:
    settings = deep_link_request(http, demo)
    token = deep_link_response(app, demo, settings, ITEMS[:1])
    stranger = requests.Session()
    stranger.get(demo.base_url + "/course", params={"as": "instructor"})  # has a demo session of its own
    response = stranger.post(settings["deep_link_return_url"], data={"JWT": token})
    assert response.status_code == 400 and "bad_sesskey" in response.text
    # The other user's own return URL with this JWT: the data answers another request.
    own = deep_link_request(stranger, demo)
    response = stranger.post(own["deep_link_return_url"], data={"JWT": token})
    assert response.status_code == 400 and "bad_data" in response.text


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"aud": "https://elsewhere.example"}, "invalid_jwt"),
        ({LTI + "message_type": "LtiResourceLinkRequest"}, "invalid_jwt"),
        ({LTI + "deployment_id": "other"}, "invalid_jwt"),
        ({"nonce": None}, "invalid_jwt"),
        ({DL + "data": "tampered"}, "bad_data"),
        ({"iss": "nobody"}, "unknown_tool"),
    ],
    ids=["aud", "message-type", "deployment", "nonce", "data", "iss"],
)
def test_deep_linking_response_is_verified(
    app: Flask, demo: DemoPlatform, http: requests.Session, changes: dict[str, Any], code: str
) -> None:
    settings = deep_link_request(http, demo)
    token = deep_link_response(app, demo, settings, ITEMS[:1], **changes)
    if changes.get("nonce", 1) is None:
        claims = jwt.decode(token, options={"verify_signature": False})
        claims.pop("nonce")
        token = sign_as_tool(app, claims)
    response = http.post(settings["deep_link_return_url"], data={"JWT": token})
    assert response.status_code == 400 and f'data-error-code="{code}"' in response.text


# -- Dynamic Registration ------------------------------------------------------------------------
def registration_metadata(base: str, **changes: Any) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "application_type": "web",
        "response_types": ["id_token"],
        "grant_types": ["implicit", "client_credentials"],
        "initiate_login_uri": base + "/lti/login",
        "redirect_uris": [base + "/lti/launch"],
        "client_name": "Socle (enregistré)",
        "jwks_uri": base + "/lti/jwks",
        "token_endpoint_auth_method": "private_key_jwt",
        "scope": f"{SCOPE_SCORE} {SCOPE_LINEITEM} {SCOPE_NRPS}",
        "https://purl.imsglobal.org/spec/lti-tool-configuration": {
            "domain": urlsplit(base).netloc,
            "target_link_uri": base + "/lti/launch",
            "claims": ["iss", "sub", "name", "email"],
            "messages": [{"type": "LtiDeepLinkingRequest", "target_link_uri": base + "/lti/launch"}],
        },
    }
    metadata.update(changes)
    return metadata


def registration_token(demo: DemoPlatform, pending: bool = False) -> str:
    response = requests.post(
        demo.base_url + "/admin/registration-token", data={"pending": "1" if pending else "0"}, timeout=10
    )
    assert response.status_code == 200
    return str(response.json()["registration_token"])


def register(demo: DemoPlatform, token: str, metadata: dict[str, Any]) -> requests.Response:
    return requests.post(
        demo.registration_url, json=metadata, headers={"Authorization": "Bearer " + token}, timeout=10
    )


def test_openid_configuration_describes_the_platform(demo: DemoPlatform) -> None:
    config = requests.get(demo.openid_configuration_url, timeout=10).json()
    assert config["issuer"] == demo.issuer
    assert config["authorization_endpoint"] == demo.auth_url and config["token_endpoint"] == demo.token_url
    assert config["jwks_uri"] == demo.jwks_url and config["registration_endpoint"] == demo.registration_url
    assert SCOPE_SCORE in config["scopes_supported"] and config["response_types_supported"] == ["id_token"]
    assert (
        config["id_token_signing_alg_values_supported"] == ["RS256"] and "email" in config["claims_supported"]
    )
    lti = config["https://purl.imsglobal.org/spec/lti-platform-configuration"]
    assert lti["product_family_code"] == "socle-demo" and lti["version"]
    assert {message["type"] for message in lti["messages_supported"]} == {
        "LtiResourceLinkRequest",
        "LtiDeepLinkingRequest",
    }


def test_registration_creates_an_active_tool_and_the_token_is_single_use(
    app: Flask, demo: DemoPlatform, live_server: LiveServer
) -> None:
    token = registration_token(demo)
    response = register(demo, token, registration_metadata(live_server.url))
    assert response.status_code == 201, response.text
    answer = response.json()
    client_id = answer["client_id"]
    configuration = answer["https://purl.imsglobal.org/spec/lti-tool-configuration"]
    assert configuration["deployment_id"] and configuration["domain"] == urlsplit(live_server.url).netloc
    assert answer["redirect_uris"] == [live_server.url + "/lti/launch"]
    assert set(answer["scope"].split()) == {SCOPE_SCORE, SCOPE_LINEITEM, SCOPE_NRPS}
    again = register(demo, token, registration_metadata(live_server.url))
    assert again.status_code == 401 and again.json()["error"] == "invalid_token"
    # The new tool is known at once: its launches and its token requests go through.
    tool = demo.tool(client_id)
    assert tool is not None and tool.deployment_id == configuration["deployment_id"]
    start = requests.get(
        demo.base_url + "/start",
        params={"as": "learner", "client_id": client_id},
        allow_redirects=False,
        timeout=10,
    )
    assert start.status_code == 302 and start.headers["Location"].startswith(live_server.url + "/lti/login?")
    granted = token_request(demo, assertion(app, demo, client_id), [SCOPE_SCORE, SCOPE_RESULT_READONLY])
    assert granted.status_code == 200 and granted.json()["scope"] == SCOPE_SCORE
    tools_page = requests.get(demo.base_url + "/admin/tools", timeout=10).text
    assert f'data-client-id="{client_id}"' in tools_page and 'data-status="active"' in tools_page


@pytest.mark.parametrize(
    "changes",
    [
        {"response_types": ["code"]},
        {"redirect_uris": "https://socle.example/lti/launch"},
        {"token_endpoint_auth_method": "client_secret_basic"},
        {"client_name": ""},
        {"jwks_uri": None},
        {"initiate_login_uri": None},
        {"grant_types": ["implicit"]},
        {
            "https://purl.imsglobal.org/spec/lti-tool-configuration": {
                "target_link_uri": "https://a.example/launch"
            }
        },
        {
            "https://purl.imsglobal.org/spec/lti-tool-configuration": {
                "domain": "b.example",
                "target_link_uri": "https://a.example/x",
            }
        },
    ],
    ids=[
        "response-types",
        "redirect-uris",
        "auth-method",
        "name",
        "jwks",
        "login",
        "grants",
        "no-domain",
        "domain-mismatch",
    ],
)
def test_registration_refuses_bad_metadata_and_keeps_the_token(
    demo: DemoPlatform, live_server: LiveServer, changes: dict[str, Any]
) -> None:
    token = registration_token(demo)
    metadata = {
        key: value
        for key, value in registration_metadata(live_server.url, **changes).items()
        if value is not None
    }
    refused = register(demo, token, metadata)
    assert refused.status_code == 400 and refused.json()["error"] in (
        "invalid_client_metadata",
        "invalid_redirect_uri",
    )
    assert register(demo, token, registration_metadata(live_server.url)).status_code == 201


def test_registration_needs_a_valid_token(demo: DemoPlatform, live_server: LiveServer) -> None:
    assert register(demo, "made-up", registration_metadata(live_server.url)).status_code == 401
    response = requests.post(demo.registration_url, json=registration_metadata(live_server.url), timeout=10)
    assert response.status_code == 401


def test_a_pending_tool_is_unusable_until_an_admin_activates_it(
    app: Flask, demo: DemoPlatform, live_server: LiveServer
) -> None:
    answer = register(
        demo, registration_token(demo, pending=True), registration_metadata(live_server.url)
    ).json()
    client_id = answer["client_id"]
    assert demo.tool(client_id) is None
    start = requests.get(
        demo.base_url + "/start",
        params={"as": "learner", "client_id": client_id},
        allow_redirects=False,
        timeout=10,
    )
    assert start.status_code == 404
    assert (
        token_request(demo, assertion(app, demo, client_id), [SCOPE_SCORE]).json()["error"]
        == "invalid_client"
    )
    tool_id = int(answer["https://purl.imsglobal.org/spec/lti-tool-configuration"]["deployment_id"])
    activated = requests.post(
        demo.base_url + f"/admin/tools/{tool_id}/activate", allow_redirects=False, timeout=10
    )
    assert activated.status_code == 303
    assert demo.tool(client_id) is not None
    # The platform-wide switch does the same for every new tool.
    demo.new_tools_pending = True
    later = register(demo, registration_token(demo), registration_metadata(live_server.url)).json()
    assert demo.tool(later["client_id"]) is None


def test_admin_page_opens_the_registration_url_with_a_token(
    demo: DemoPlatform, live_server: LiveServer
) -> None:
    page = requests.post(
        demo.base_url + "/admin/tools/register",
        data={"url": "https://tool.example/lti/register?x=1"},
        timeout=10,
    )
    assert page.status_code == 200
    assert "demo-registration.js" in page.text and 'data-tool-origin="https://tool.example"' in page.text
    assert "frame-src 'self' https://tool.example" in page.headers["Content-Security-Policy"]
    found = re.search(r'src="(https://tool\.example[^"]+)"', page.text)
    assert found, page.text
    src = html.unescape(found.group(1))
    query = parse_qs(urlsplit(src).query)
    assert query["openid_configuration"] == [demo.openid_configuration_url] and query["x"] == ["1"]
    # The token in the URL is a live registration token.
    assert (
        register(demo, query["registration_token"][0], registration_metadata(live_server.url)).status_code
        == 201
    )
