"""Forwarding to external LRSs is durable, over real HTTP on loopback.

The sender is the session's live Socle (statements come from learners reading pages, or through its
Statement API); the receiving LRS is a second Socle behind a middleware that refuses, hangs, fails or
slows down on demand and logs every statement id it is sent (or Ralph, a third-party LRS, at the end).
The worker runs in-process (``forwarding.run_once``) or as the real ``flask --app lti_tool worker``.
Each test registers an endpoint of its own, looks only at that endpoint's outbox rows, and deactivates
it at the end.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from sqlalchemy import select, update

from lti_tool import create_app
from lti_tool.db import db
from tests.conftest import LiveServer, standalone_config
from tests.functional.lrs_fixtures import RalphServer, Receiver, ralph_available
from tests.helpers import LtiBrowser, error_code, launch_id_of
from xapi import forwarding, validation
from xapi.models import Endpoint, OutboxRow, Statement, as_dict, now_us

PROJECT_ROOT = Path(__file__).resolve().parents[2]
XAPI_HEADERS = {"X-Experience-API-Version": "1.0.3"}
# Failing attempts wait about 30 s (doubling), long enough to see the backoff; the tests then make the
# rows due themselves rather than wait.
FAILING = forwarding.Policy(
    batch_size=100, lease_seconds=30, connect_timeout=0.5, read_timeout=1.0, base_delay_seconds=30.0
)
# Once the LRS is back: retries (if any) come at once.
HEALTHY = forwarding.Policy(
    batch_size=100, lease_seconds=30, connect_timeout=1.0, read_timeout=5.0, base_delay_seconds=0.01
)


# -- fixtures
def _cli_credentials(app: Flask, name: str) -> tuple[str, str]:
    result = app.test_cli_runner().invoke(args=["xapi", "client", "add", "--name", name, "--scope", "all"])
    assert result.exit_code == 0, result.output
    key, secret = result.output.strip().splitlines()[-1].split(":", 1)
    return key, secret


@pytest.fixture(scope="module")
def receiver_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Flask, str, str]]:
    """A second Socle (its own SQLite file), set up through its CLI, with a client of scope all."""
    instance = tmp_path_factory.mktemp("receiver")
    app = create_app(
        standalone_config(
            instance,
            DEMO_PLATFORM=False,
            DATABASE_URL="sqlite:///" + str(instance / "receiver.sqlite3"),
        )
    )
    result = app.test_cli_runner().invoke(args=["setup"])
    assert result.exit_code == 0, result.output
    key, secret = _cli_credentials(app, "receiver")
    yield app, key, secret
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def receiver(receiver_app: tuple[Flask, str, str]) -> Iterator[Receiver]:
    """The receiving LRS on a fresh port with a fresh log, not started: start it in the test."""
    lrs = Receiver(*receiver_app)
    yield lrs
    lrs.lrs.switch("ok")
    lrs.stop()


@pytest.fixture(scope="module")
def sender_client(live_server: LiveServer) -> tuple[str, str]:
    """Credentials for the sender's own Statement API."""
    return _cli_credentials(live_server.app, "forwarding-tests")


@pytest.fixture
def endpoints(app: Flask) -> Iterator[list[int]]:
    """Endpoints a test registers; deactivated afterwards so later statements are not queued to them."""
    created: list[int] = []
    yield created
    with app.app_context():
        db.session.execute(update(Endpoint).where(Endpoint.id.in_(created)).values(is_active=False))
        db.session.commit()
        db.session.remove()


# -- helpers
def add_endpoint(app: Flask, endpoints: list[int], url: str, username: str, password: str) -> tuple[int, str]:
    name = f"r-{uuid.uuid4().hex[:8]}"
    result = app.test_cli_runner().invoke(
        args=[
            "xapi",
            "endpoint",
            "add",
            "--name",
            name,
            "--url",
            url,
            "--username",
            username,
            "--password",
            password,
        ]
    )
    assert result.exit_code == 0, result.output
    endpoint_id = int(result.output.split()[1])
    endpoints.append(endpoint_id)
    return endpoint_id, name


def learner_reads(browser: LtiBrowser, pages: int = 3) -> None:
    """A fresh learner launches and reads a few pages of the first module (each read makes statements)."""
    landing = browser.launch_with(sub=f"forwarding-{uuid.uuid4().hex[:10]}")
    assert landing.status_code == 200, error_code(landing)
    launch = launch_id_of(landing)
    for number in range(1, pages + 1):
        page = browser.http.get(
            f"{browser.base_url}/modules/fondamentaux/pages/{number}", params={"launch": launch}, timeout=10
        )
        assert page.status_code == 200, error_code(page)


def outbox(app: Flask, endpoint_id: int) -> list[dict[str, Any]]:
    with app.app_context():
        rows = [
            as_dict(row)
            for row in db.session.scalars(
                select(OutboxRow).where(OutboxRow.endpoint_id == endpoint_id).order_by(OutboxRow.id)
            )
        ]
        db.session.remove()
    return rows


def queued_ids(app: Flask, endpoint_id: int) -> list[str]:
    ids = [row["statement_id"] for row in outbox(app, endpoint_id)]
    assert ids, "the learner's actions queued nothing for the endpoint"
    assert len(set(ids)) == len(ids), "a statement was queued twice for one endpoint"
    return ids


def run_until_idle(app: Flask, policy: forwarding.Policy, rounds: int = 20) -> dict[str, int]:
    """The in-process worker: batches until nothing is due. Returns the outcomes added up."""
    total: dict[str, int] = {}
    http = forwarding.http_client()
    with app.app_context():
        try:
            for _ in range(rounds):
                counts = forwarding.run_once(db.session, http, policy)
                if not counts:
                    return total
                for outcome, count in counts.items():
                    total[outcome] = total.get(outcome, 0) + count
        finally:
            db.session.remove()
            http.close()
    raise AssertionError(f"still busy after {rounds} batches: {total}")


def make_due(app: Flask, endpoint_id: int) -> None:
    """Skip the backoff wait: the endpoint's pending rows are due now."""
    with app.app_context():
        db.session.execute(
            update(OutboxRow)
            .where(OutboxRow.endpoint_id == endpoint_id, OutboxRow.status == "pending")
            .values(next_attempt_us=now_us())
        )
        db.session.commit()
        db.session.remove()


def sender_bodies(app: Flask, ids: list[str]) -> dict[str, dict[str, Any]]:
    with app.app_context():
        bodies = dict(
            db.session.execute(select(Statement.id, Statement.body).where(Statement.id.in_(ids))).all()
        )
        db.session.remove()
    return {sid: json.loads(body) for sid, body in bodies.items()}


def assert_waiting(app: Flask, endpoint_id: int, attempts: int, error: str) -> None:
    """Every row of the endpoint is pending, tried ``attempts`` times, its next try pushed back by the
    exponential backoff (about 30 s × 2^(attempts-1), ±20 %), released by the worker."""
    now = now_us()
    expected = FAILING.base_delay_seconds * 2 ** (attempts - 1)
    for row in outbox(app, endpoint_id):
        assert row["status"] == "pending", row
        assert row["attempts"] == attempts, row
        assert error in (row["last_error"] or ""), row
        wait = (row["next_attempt_us"] - now) / 1_000_000
        assert 0.8 * expected - 5 < wait <= 1.2 * expected, (wait, expected, row)
        assert row["claim_token"] is None and row["locked_until_us"] == 0, row


def assert_delivered_once(app: Flask, endpoint_id: int, receiver: Receiver, ids: list[str]) -> None:
    """Every row delivered; the receiver holds each statement once, equal to the sender's, and readable
    through its Statement API."""
    rows = outbox(app, endpoint_id)
    assert {row["status"] for row in rows} == {"delivered"}, [(r["status"], r["last_error"]) for r in rows]
    assert all(row["delivered_us"] and row["last_error"] is None for row in rows)
    assert receiver.stored(ids) == dict.fromkeys(ids, 1)
    bodies = sender_bodies(app, ids)
    for sid in ids:
        response = receiver.api("GET", params={"statementId": sid})
        assert response.status_code == 200, response.text
        assert validation.same_statement(response.json(), bodies[sid])


# -- 1-3: the LRS is down, hangs, or fails; statements wait, then arrive once
def test_statements_wait_while_the_lrs_refuses_connections_then_all_arrive_once(
    app: Flask, browser: LtiBrowser, receiver: Receiver, endpoints: list[int]
) -> None:
    endpoint_id, _ = add_endpoint(app, endpoints, receiver.xapi_url, *receiver.auth)
    learner_reads(browser)
    ids = queued_ids(app, endpoint_id)

    run_until_idle(app, FAILING)  # nothing listens on the receiver's port
    assert_waiting(app, endpoint_id, attempts=1, error="ConnectionError")
    run_until_idle(app, FAILING)  # not due yet: left alone
    assert_waiting(app, endpoint_id, attempts=1, error="ConnectionError")
    make_due(app, endpoint_id)
    run_until_idle(app, FAILING)
    assert_waiting(app, endpoint_id, attempts=2, error="ConnectionError")

    receiver.start()
    make_due(app, endpoint_id)
    run_until_idle(app, HEALTHY)
    # One batch, in the order the learner's statements were stored; the refused attempts never reached it.
    assert [(r.method, r.ids) for r in receiver.lrs.received] == [("POST", tuple(ids))]
    assert_delivered_once(app, endpoint_id, receiver, ids)
    assert all(row["attempts"] == 3 for row in outbox(app, endpoint_id))


def test_statements_wait_while_the_lrs_hangs(
    app: Flask, browser: LtiBrowser, receiver: Receiver, endpoints: list[int]
) -> None:
    endpoint_id, _ = add_endpoint(app, endpoints, receiver.xapi_url, *receiver.auth)
    learner_reads(browser)
    ids = queued_ids(app, endpoint_id)
    hanging = dataclasses.replace(FAILING, read_timeout=0.5)
    receiver.start()
    receiver.lrs.switch("hang", delay=1.0)

    started = time.monotonic()
    run_until_idle(app, hanging)
    assert time.monotonic() - started < 1.0  # it gave up at its read timeout (0.5 s), before the answer
    assert_waiting(app, endpoint_id, attempts=1, error="ReadTimeout")
    receiver.lrs.wait_idle()  # the hung LRS answers late, and stores what it got
    make_due(app, endpoint_id)
    run_until_idle(app, hanging)
    assert_waiting(app, endpoint_id, attempts=2, error="ReadTimeout")
    receiver.lrs.wait_idle()

    receiver.lrs.switch("ok")
    make_due(app, endpoint_id)
    run_until_idle(app, HEALTHY)
    # Sent three times (two answers lost), stored once: the LRS recognises the resent ids.
    assert receiver.lrs.sent_ids() == dict.fromkeys(ids, 3)
    assert_delivered_once(app, endpoint_id, receiver, ids)


def test_statements_wait_while_the_lrs_answers_500(
    app: Flask, browser: LtiBrowser, receiver: Receiver, endpoints: list[int]
) -> None:
    endpoint_id, _ = add_endpoint(app, endpoints, receiver.xapi_url, *receiver.auth)
    learner_reads(browser)
    ids = queued_ids(app, endpoint_id)
    receiver.start()
    receiver.lrs.switch("500")

    run_until_idle(app, FAILING)
    assert_waiting(app, endpoint_id, attempts=1, error="HTTP 500")
    make_due(app, endpoint_id)
    run_until_idle(app, FAILING)
    assert_waiting(app, endpoint_id, attempts=2, error="HTTP 500")
    assert receiver.stored(ids) == dict.fromkeys(ids, 0)

    receiver.lrs.switch("ok")
    make_due(app, endpoint_id)
    run_until_idle(app, HEALTHY)
    assert receiver.lrs.sent_ids(mode="500") == dict.fromkeys(ids, 2)
    assert receiver.lrs.sent_ids(mode="ok") == dict.fromkeys(ids, 1)
    assert_delivered_once(app, endpoint_id, receiver, ids)


# -- 4: what the LRS already holds
def _for_lrs(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in ("stored", "authority")}


@pytest.mark.parametrize(
    "lrs_mode",
    [
        pytest.param("ok", id="lrs-answers-200"),  # Socle, as xAPI says: an equal resend is accepted
        pytest.param("409-known", id="lrs-answers-409"),  # some LRSs refuse any id they hold
    ],
)
def test_an_equal_statement_already_on_the_lrs_counts_as_delivered(
    app: Flask, browser: LtiBrowser, receiver: Receiver, endpoints: list[int], lrs_mode: str
) -> None:
    endpoint_id, name = add_endpoint(app, endpoints, receiver.xapi_url, *receiver.auth)
    learner_reads(browser, pages=2)
    ids = queued_ids(app, endpoint_id)
    receiver.start()
    already = ids[len(ids) // 2]
    # The same statement reached the LRS before (say, its acknowledgement was lost).
    response = receiver.api("POST", json=[_for_lrs(sender_bodies(app, [already])[already])])
    assert response.status_code == 200, response.text
    receiver.lrs.switch(lrs_mode)
    before = len(receiver.lrs.received)

    counts = run_until_idle(app, HEALTHY)
    requests_made = [(r.method, r.ids) for r in receiver.lrs.received[before:]]
    receiver.lrs.switch("ok")
    assert counts.get("dead", 0) == 0 and counts["delivered"] >= len(ids)
    if lrs_mode == "ok":
        assert requests_made == [("POST", tuple(ids))]  # one batch, answered 200
    else:
        # The batch is refused (409) and sent again one by one; the 409 on the known statement is settled
        # by reading it back: the same statement, so delivered.
        assert requests_made == [
            ("POST", tuple(ids)),
            *[(method, (sid,)) for sid in ids for method in (("PUT", "GET") if sid == already else ("PUT",))],
        ]
    assert_delivered_once(app, endpoint_id, receiver, ids)
    output = app.test_cli_runner().invoke(args=["xapi", "outbox"]).output
    assert f"{name}\tdelivered\t{len(ids)}\n" in output
    assert f"{name}\tdead" not in output


def test_a_different_statement_under_the_same_id_is_dead_lettered(
    app: Flask, browser: LtiBrowser, receiver: Receiver, endpoints: list[int]
) -> None:
    endpoint_id, name = add_endpoint(app, endpoints, receiver.xapi_url, *receiver.auth)
    learner_reads(browser, pages=2)
    ids = queued_ids(app, endpoint_id)
    receiver.start()
    taken = ids[0]
    other = {
        "id": taken,
        "actor": {"objectType": "Agent", "account": {"homePage": "https://other.example", "name": "someone"}},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced", "display": {"en": "experienced"}},
        "object": {"objectType": "Activity", "id": "https://other.example/activity"},
    }
    assert receiver.api("PUT", params={"statementId": taken}, json=other).status_code == 204
    before = len(receiver.lrs.received)

    run_until_idle(app, HEALTHY)
    # The batch was refused whole (409), sent again one by one, and the 409 read back: another statement.
    assert [(r.method, r.ids) for r in receiver.lrs.received[before:]] == [
        ("POST", tuple(ids)),
        *[(method, (sid,)) for sid in ids for method in (("PUT", "GET") if sid == taken else ("PUT",))],
    ]
    rows = {row["statement_id"]: row for row in outbox(app, endpoint_id)}
    assert rows[taken]["status"] == "dead"
    assert rows[taken]["last_error"] == f"conflict: the LRS holds another {taken}"
    assert all(rows[sid]["status"] == "delivered" for sid in ids if sid != taken)
    # The receiver kept its own statement and got each of the others once.
    assert receiver.stored(ids) == dict.fromkeys(ids, 1)
    assert receiver.api("GET", params={"statementId": taken}).json()["actor"] == other["actor"]

    result = app.test_cli_runner().invoke(args=["xapi", "outbox"])
    assert result.exit_code == 0
    assert f"{name}\tdead\t1\tlast error: conflict: the LRS holds another {taken}\n" in result.output
    assert f"{name}\tdelivered\t{len(ids) - 1}\n" in result.output


# -- 5-6: workers that die, workers that race
def worker_env(app: Flask) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("LTI_TOOL_")}
    env.update(
        {
            "LTI_TOOL_INSTANCE_PATH": app.instance_path,
            "LTI_TOOL_DATABASE_URL": app.config["DATABASE_URL"],
            "LTI_TOOL_SECRET_KEY": app.config["SECRET_KEY"],
            "LTI_TOOL_ENV": "testing",
            "LTI_TOOL_BASE_URL": app.config["BASE_URL"],
            "LTI_TOOL_LTI_CONFIG_PATH": app.config["LTI_CONFIG_PATH"],
            "LTI_TOOL_LOG_LEVEL": "WARNING",
        }
    )
    return env


def start_worker(app: Flask, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(  # noqa: S603 - our own interpreter running our own command
        [sys.executable, "-m", "flask", "--app", "lti_tool", "worker", *args],
        cwd=PROJECT_ROOT,
        env=worker_env(app),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def test_a_worker_killed_mid_batch_loses_and_duplicates_nothing(
    app: Flask, browser: LtiBrowser, receiver: Receiver, endpoints: list[int]
) -> None:
    endpoint_id, _ = add_endpoint(app, endpoints, receiver.xapi_url, *receiver.auth)
    learner_reads(browser)
    ids = queued_ids(app, endpoint_id)
    receiver.start()
    receiver.lrs.switch("slow", delay=1.0)

    worker = start_worker(app, "--lease-seconds", "1", "--idle-seconds", "0.2")
    try:
        on_the_wire = receiver.lrs.wait_for(set(ids), give_up=lambda: worker.poll() is not None)
        claimed = outbox(app, endpoint_id)
        worker.send_signal(signal.SIGKILL)
    finally:
        worker.kill()
        output = worker.communicate(timeout=10)[0].decode(errors="replace")
    assert on_the_wire, "the worker sent nothing:\n" + output
    assert worker.returncode == -signal.SIGKILL, output
    # Killed mid-batch: its rows claimed (leased), the request sent, no outcome recorded.
    assert all(r["status"] == "pending" and r["claim_token"] and r["attempts"] == 0 for r in claimed)

    receiver.lrs.switch("ok")
    receiver.lrs.wait_idle()  # the slow LRS stores the batch the dead worker never heard back about
    lease_end = max(r["locked_until_us"] for r in claimed)
    time.sleep(max(0.0, (lease_end - now_us()) / 1_000_000) + 0.05)
    again = start_worker(app, "--once")
    output = again.communicate(timeout=30)[0].decode(errors="replace")
    assert again.returncode == 0, output

    assert receiver.lrs.sent_ids() == dict.fromkeys(ids, 2)  # sent by the dead worker, then once more
    assert_delivered_once(app, endpoint_id, receiver, ids)
    assert all(row["attempts"] == 1 and row["claim_token"] is None for row in outbox(app, endpoint_id))


def new_statements(count: int, activity: str) -> list[dict[str, Any]]:
    return [
        {
            "id": str(uuid.uuid4()),
            "actor": {"objectType": "Agent", "account": {"homePage": "https://lms.example", "name": f"l{i}"}},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced", "display": {"en": "experienced"}},
            "object": {"objectType": "Activity", "id": activity},
            "timestamp": "2026-01-15T10:00:00.000Z",
        }
        for i in range(count)
    ]


@pytest.mark.skipif(
    not (os.environ.get("LTI_TOOL_TEST_DATABASE_URL") or "").startswith("postgres"),
    reason="PostgreSQL only (set LTI_TOOL_TEST_DATABASE_URL): concurrent claims rest on FOR UPDATE SKIP "
    "LOCKED, and SQLite serialises writers itself",
)
def test_two_workers_never_send_the_same_row_twice(
    app: Flask,
    live_server: LiveServer,
    sender_client: tuple[str, str],
    receiver: Receiver,
    endpoints: list[int],
) -> None:
    endpoint_id, _ = add_endpoint(app, endpoints, receiver.xapi_url, *receiver.auth)
    statements = new_statements(300, f"https://lms.example/race/{uuid.uuid4()}")
    response = requests.post(
        live_server.url + "/xapi/statements",
        json=statements,
        auth=sender_client,
        headers=XAPI_HEADERS,
        timeout=30,
    )
    assert response.status_code == 200, response.text
    ids = queued_ids(app, endpoint_id)
    assert sorted(ids) == sorted(s["id"] for s in statements)
    receiver.start()
    receiver.lrs.switch("slow", delay=0.05)  # each batch takes a while: the workers overlap

    policy = forwarding.Policy(batch_size=20, lease_seconds=60, read_timeout=10.0, base_delay_seconds=0.01)
    start = threading.Barrier(2)
    delivered: list[int] = [0, 0]
    errors: list[BaseException] = []

    def work(slot: int) -> None:
        try:
            start.wait(timeout=10)
            delivered[slot] = run_until_idle(app, policy, rounds=30).get("delivered", 0)
        except BaseException as error:  # reported by the test thread
            errors.append(error)

    threads = [threading.Thread(target=work, args=(slot,)) for slot in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert all(delivered), f"both workers should have delivered batches: {delivered}"

    sent = receiver.lrs.sent_ids()
    assert [sid for sid, times in sent.items() if times > 1] == []
    assert set(sent) == set(ids)
    assert sum(delivered) == len(ids)
    rows = outbox(app, endpoint_id)
    assert {row["status"] for row in rows} == {"delivered"} and all(row["attempts"] == 1 for row in rows)
    assert receiver.stored(ids) == dict.fromkeys(ids, 1)


# -- 7: a refused statement stays out
def test_a_statement_that_fails_validation_is_refused_and_never_poisons_later_queries(
    app: Flask, live_server: LiveServer, sender_client: tuple[str, str], endpoints: list[int]
) -> None:
    endpoint_id, _ = add_endpoint(app, endpoints, "http://127.0.0.1:9/xapi", "k", "s")
    activity = f"https://lms.example/poison/{uuid.uuid4()}"
    good, bad = new_statements(2, activity)
    bad["context"] = {"contextActivities": "should fail"}
    api = requests.Session()
    api.auth, api.headers = sender_client, {**api.headers, **XAPI_HEADERS}
    url = live_server.url + "/xapi/statements"

    for body, where in ((bad, "statement"), ([good, bad], "statement[1]")):
        response = api.post(url, json=body, timeout=10)
        assert response.status_code == 400, response.text
        assert response.json() == {
            "error": True,
            "message": f"{where}.context.contextActivities: must be a contextActivities object "
            '(a JSON object), got the string "should fail"',
        }
    assert api.put(url, params={"statementId": bad["id"]}, json=bad, timeout=10).status_code == 400

    # Nothing of either request was stored or queued.
    for sid in (good["id"], bad["id"]):
        assert api.get(url, params={"statementId": sid}, timeout=10).status_code == 404
    assert sender_bodies(app, [good["id"], bad["id"]]) == {}
    assert outbox(app, endpoint_id) == []

    agent = json.dumps(good["actor"])
    for params in (
        {"activity": activity, "related_activities": "true"},
        {"activity": activity},
        {"agent": agent, "related_agents": "true"},
        {"verb": good["verb"]["id"], "limit": "5"},
        {"related_activities": "true", "activity": activity, "format": "ids"},
        {"ascending": "true", "limit": "3"},
        {},
    ):
        response = api.get(url, params=params, timeout=10)
        assert response.status_code == 200, (params, response.text)
        assert all(s["id"] not in (good["id"], bad["id"]) for s in response.json()["statements"])

    # The same activity still works as a filter once a valid statement names it.
    assert api.post(url, json=good, timeout=10).status_code == 200
    found = api.get(url, params={"activity": activity, "related_activities": "true"}, timeout=10).json()
    assert [s["id"] for s in found["statements"]] == [good["id"]]


# -- 8: a real third-party LRS
def ralph_statement(body: dict[str, Any]) -> dict[str, Any]:
    """Ralph 5.1.0 answers ``GET ?statementId=`` with a StatementResult holding the one statement."""
    if set(body) == {"statements", "more"} or set(body) == {"statements"}:
        assert len(body["statements"]) == 1, body
        return body["statements"][0]  # type: ignore[no-any-return]
    return body


@pytest.fixture
def ralph(tmp_path: Path) -> Iterator[RalphServer]:
    server = RalphServer(tmp_path)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


@pytest.mark.skipif(
    not ralph_available(),
    reason="Ralph is not installed: pip install 'ralph-malph[lrs]' (its LRS server runs as a subprocess)",
)
def test_forwarding_to_a_real_ralph_lrs(
    app: Flask, browser: LtiBrowser, ralph: RalphServer, endpoints: list[int]
) -> None:
    endpoint_id, _ = add_endpoint(app, endpoints, ralph.xapi_url, ralph.username, ralph.password)
    learner_reads(browser)
    ids = queued_ids(app, endpoint_id)

    small = dataclasses.replace(HEALTHY, batch_size=4)  # several writes to Ralph's file
    counts = run_until_idle(app, small)
    rows = outbox(app, endpoint_id)
    assert {row["status"] for row in rows} == {"delivered"}, ([r["last_error"] for r in rows], counts)
    bodies = sender_bodies(app, ids)
    for sid in ids:
        response = ralph.get(sid)
        assert response.status_code == 200, response.text
        assert validation.same_statement(ralph_statement(response.json()), bodies[sid])
    assert ralph.stored() == dict.fromkeys(ids, 1)

    # An acknowledgement lost: the rows go out again. Ralph recognises the resent batch (204), they count
    # as delivered, and Ralph still holds each statement once.
    with app.app_context():
        db.session.execute(
            update(OutboxRow)
            .where(OutboxRow.endpoint_id == endpoint_id)
            .values(status="pending", next_attempt_us=0)
        )
        db.session.commit()
        db.session.remove()
    run_until_idle(app, small)
    rows = outbox(app, endpoint_id)
    assert {row["status"] for row in rows} == {"delivered"}, [r["last_error"] for r in rows]
    assert ralph.stored() == dict.fromkeys(ids, 1)


def test_statements_stored_right_after_an_endpoint_is_added_are_all_queued(
    app: Flask, live_server: LiveServer, sender_client: tuple[str, str], endpoints: list[int]
) -> None:
    """`xapi endpoint add` promises "statements stored from now on": the serving process must queue for the
    new LRS at once, though another process added the endpoint (no per-process cache of endpoints: with
    one, the 120 statements posted within its 5 seconds got no outbox row)."""
    url = f"{live_server.url}/xapi/statements"
    headers = {**XAPI_HEADERS, "Content-Type": "application/json"}
    activity = "https://socle.example/forwarding-gap/" + uuid.uuid4().hex
    # The serving process has just read the list of endpoints (a cache would now hold it).
    primed = requests.post(
        url, data=json.dumps(new_statements(1, activity)), auth=sender_client, headers=headers, timeout=10
    )
    assert primed.status_code == 200, primed.text
    # Added as `xapi endpoint add` does, but by this test's own session: as from another process, nothing
    # tells the serving code that the list changed (the CLI, in its own process, could not tell it either).
    with app.app_context():
        endpoint = Endpoint(name=f"gap-{uuid.uuid4().hex[:6]}", url="http://127.0.0.1:9/xapi", is_active=True)
        db.session.add(endpoint)
        db.session.commit()
        endpoint_id = endpoint.id
        db.session.remove()
    endpoints.append(endpoint_id)
    sent: list[str] = []
    for _ in range(3):
        batch = new_statements(40, activity)
        response = requests.post(url, data=json.dumps(batch), auth=sender_client, headers=headers, timeout=10)
        assert response.status_code == 200, response.text
        sent += response.json()
    assert sorted(queued_ids(app, endpoint_id)) == sorted(sent)
