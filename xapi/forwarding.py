"""Forwarding statements to external LRSs: a worker drains the outbox in batches.

Rows are claimed with a lease (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so two workers never take the same
row); a worker killed mid-batch leaves rows whose lease expires and another run sends them again. Statement
ids are fixed, so a resend is recognised by the receiver: 200, 204, and a 409 for a statement the LRS holds
identically, all count as delivered. Failures are retried with exponential backoff, then dead-lettered.
"""

from __future__ import annotations

import json
import logging
import random
import secrets
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import requests
from sqlalchemy import select, update

from xapi import validation
from xapi.models import Endpoint, OutboxRow, SessionLike, Statement, now_us

log = logging.getLogger(__name__)

VERSION_HEADER = {"X-Experience-API-Version": "1.0.3"}


@dataclass(frozen=True)
class Policy:
    batch_size: int = 100
    lease_seconds: int = 60
    connect_timeout: float = 3.0
    read_timeout: float = 15.0
    base_delay_seconds: float = 2.0
    max_delay_seconds: float = 3600.0
    max_attempts: int = 15  # about a day of retries with the delays above


def http_client() -> requests.Session:
    http = requests.Session()
    http.headers.update({**VERSION_HEADER, "User-Agent": "Socle-xAPI-forwarder/0.1"})
    return http


def claim(session: SessionLike, policy: Policy) -> list[OutboxRow]:
    """Take due rows for this worker (committed before any network call)."""
    now = now_us()
    token = secrets.token_hex(16)
    due = (
        select(OutboxRow.id)
        .where(
            OutboxRow.status == "pending", OutboxRow.next_attempt_us <= now, OutboxRow.locked_until_us < now
        )
        .order_by(OutboxRow.id)
        .limit(policy.batch_size)
    )
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    session.execute(
        update(OutboxRow)
        .where(OutboxRow.id.in_(due.scalar_subquery()), OutboxRow.locked_until_us < now)
        .values(claim_token=token, locked_until_us=now + policy.lease_seconds * 1_000_000)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return list(session.scalars(select(OutboxRow).filter_by(claim_token=token).order_by(OutboxRow.id)))


@dataclass(frozen=True)
class _Job:
    """What sending a row needs, copied out of the database so no transaction stays open on the network."""

    row_id: int
    statement: dict | None
    attempts: int


@dataclass(frozen=True)
class _Target:
    name: str
    url: str
    username: str | None
    password: str | None


def run_once(session: SessionLike, http: requests.Session, policy: Policy) -> dict[str, int]:
    """Claim one batch, send it, record the outcome of the rows still ours. Returns counts by outcome."""
    rows = claim(session, policy)
    if not rows:
        return {}
    token = rows[0].claim_token
    endpoints = {
        e.id: e
        for e in session.scalars(select(Endpoint).where(Endpoint.id.in_({row.endpoint_id for row in rows})))
    }
    bodies = dict(
        session.execute(
            select(Statement.id, Statement.body).where(Statement.id.in_({row.statement_id for row in rows}))
        ).all()
    )
    batches: dict[int, list[_Job]] = defaultdict(list)
    targets: dict[int, _Target | None] = {}
    for row in rows:
        endpoint = endpoints.get(row.endpoint_id)
        targets[row.endpoint_id] = (
            _Target(endpoint.name, endpoint.url, endpoint.username, endpoint.password)
            if endpoint is not None and endpoint.is_active
            else None
        )
        batches[row.endpoint_id].append(_Job(row.id, _for_lrs(bodies.get(row.statement_id)), row.attempts))
    session.commit()  # nothing stays open while we wait on other servers
    counts: dict[str, int] = defaultdict(int)
    for endpoint_id, jobs in batches.items():
        target = targets[endpoint_id]
        if target is None:
            outcomes = [("dead", "endpoint removed or deactivated")] * len(jobs)
        else:
            outcomes = _send(http, target, jobs, policy)
        for job, (outcome, detail) in zip(jobs, outcomes, strict=True):
            values = _outcome_values(job, outcome, detail, policy)
            # Only if the row is still ours: a lease that expired mid-batch handed it to another worker.
            session.execute(
                update(OutboxRow)
                .where(OutboxRow.id == job.row_id, OutboxRow.claim_token == token)
                .values(**values, claim_token=None, locked_until_us=0, attempts=job.attempts + 1)
            )
            status = str(values["status"])
            counts[status if status != "pending" else "retry"] += 1
    session.commit()
    return dict(counts)


def _outcome_values(job: _Job, outcome: str, detail: str, policy: Policy) -> dict[str, object]:
    if outcome == "delivered":
        return {"status": "delivered", "delivered_us": now_us(), "last_error": None}
    if outcome == "retry" and job.attempts + 1 < policy.max_attempts:
        delay = min(policy.base_delay_seconds * 2**job.attempts, policy.max_delay_seconds)
        delay *= random.uniform(0.8, 1.2)  # noqa: S311 - jitter, not security
        return {
            "status": "pending",
            "next_attempt_us": now_us() + int(delay * 1_000_000),
            "last_error": detail[:1000],
        }
    if outcome == "retry":
        detail = f"gave up after {job.attempts + 1} attempts: {detail}"
    log.warning("outbox row %s dead-lettered: %s", job.row_id, detail[:200])
    return {"status": "dead", "last_error": detail[:1000]}


def _for_lrs(body: str | None) -> dict | None:
    if body is None:
        return None
    statement = json.loads(body)
    # `stored` and `authority` are the receiving LRS's to set.
    statement.pop("stored", None)
    statement.pop("authority", None)
    return statement


def _send(
    http: requests.Session, endpoint: _Target, jobs: Sequence[_Job], policy: Policy
) -> list[tuple[str, str]]:
    present = [(job.row_id, job.statement) for job in jobs if job.statement is not None]
    if not present:
        return [("dead", "statement no longer stored")] * len(jobs)
    url = endpoint.url.rstrip("/") + "/statements"
    auth = (endpoint.username, endpoint.password or "") if endpoint.username else None
    timeout = (policy.connect_timeout, policy.read_timeout)
    try:
        response = http.post(url, json=[statement for _, statement in present], auth=auth, timeout=timeout)
    except requests.RequestException as error:
        return [("retry", f"{type(error).__name__} sending to {endpoint.name}")] * len(jobs)
    results: dict[int, tuple[str, str]]
    if response.status_code in (200, 204):
        results = {row_id: ("delivered", "") for row_id, _ in present}
    elif response.status_code in (409, 400) and len(present) > 1:
        # Some statement of the batch is known or refused: settle them one by one.
        results = {row_id: _send_one(http, url, auth, statement, timeout) for row_id, statement in present}
    elif response.status_code == 409:
        results = {present[0][0]: _settle_conflict(http, url, auth, present[0][1], timeout)}
    elif response.status_code == 400:
        results = {present[0][0]: ("dead", f"refused by {endpoint.name}: {response.text[:300]}")}
    else:
        results = {
            row_id: ("retry", f"HTTP {response.status_code} from {endpoint.name}") for row_id, _ in present
        }
    return [results.get(job.row_id, ("dead", "statement no longer stored")) for job in jobs]


def _send_one(
    http: requests.Session,
    url: str,
    auth: tuple[str, str] | None,
    statement: dict,
    timeout: tuple[float, float],
) -> tuple[str, str]:
    try:
        response = http.put(
            url, params={"statementId": statement["id"]}, json=statement, auth=auth, timeout=timeout
        )
    except requests.RequestException as error:
        return "retry", type(error).__name__
    if response.status_code in (200, 204):
        return "delivered", ""
    if response.status_code == 409:
        return _settle_conflict(http, url, auth, statement, timeout)
    if response.status_code == 400:
        return "dead", f"refused: {response.text[:300]}"
    return "retry", f"HTTP {response.status_code}"


def _settle_conflict(
    http: requests.Session,
    url: str,
    auth: tuple[str, str] | None,
    statement: dict,
    timeout: tuple[float, float],
) -> tuple[str, str]:
    """A 409: delivered if the LRS holds the very same statement, else a real conflict (dead letter)."""
    try:
        response = http.get(url, params={"statementId": statement["id"]}, auth=auth, timeout=timeout)
    except requests.RequestException as error:
        return "retry", type(error).__name__
    if response.status_code != 200:
        return "retry", f"HTTP {response.status_code} reading back {statement['id']}"
    try:
        held = response.json()
        # Some LRSs (Ralph 5.1) answer a statementId query with a result object holding the statement.
        if (
            isinstance(held, dict)
            and isinstance(held.get("statements"), list)
            and len(held["statements"]) == 1
        ):
            held = held["statements"][0]
        same = validation.same_statement(held, statement)
    except (ValueError, TypeError, AttributeError, KeyError, validation.StatementError):
        same = False
    return ("delivered", "") if same else ("dead", f"conflict: the LRS holds another {statement['id']}")


def summary(session: SessionLike) -> list[tuple[str, str, int, str | None]]:
    """(endpoint, status, count, last error) for the operator's `xapi outbox` command."""
    from sqlalchemy import func

    rows = session.execute(
        select(Endpoint.name, OutboxRow.status, func.count(), func.max(OutboxRow.last_error))
        .join(Endpoint, Endpoint.id == OutboxRow.endpoint_id)
        .group_by(Endpoint.name, OutboxRow.status)
        .order_by(Endpoint.name, OutboxRow.status)
    ).all()
    return [(name, status, int(count), error) for name, status, count, error in rows]
