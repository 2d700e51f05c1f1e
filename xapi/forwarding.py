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
    return list(session.execute(select(OutboxRow).where(OutboxRow.claim_token == token)).scalars())


def run_once(session: SessionLike, http: requests.Session, policy: Policy) -> dict[str, int]:
    """Claim one batch, send it, record the outcome. Returns counts by outcome."""
    rows = claim(session, policy)
    counts: dict[str, int] = defaultdict(int)
    if not rows:
        return dict(counts)
    by_endpoint: dict[int, list[OutboxRow]] = defaultdict(list)
    for row in rows:
        by_endpoint[row.endpoint_id].append(row)
    bodies = dict(
        session.execute(
            select(Statement.id, Statement.body).where(Statement.id.in_({row.statement_id for row in rows}))
        ).all()
    )
    for endpoint_id, batch in by_endpoint.items():
        endpoint = session.get(Endpoint, endpoint_id)
        if endpoint is None or not endpoint.is_active:
            for row in batch:
                _dead(row, "endpoint removed or deactivated")
                counts["dead"] += 1
            continue
        outcomes = _send(
            http, endpoint, [(row, _for_lrs(bodies.get(row.statement_id))) for row in batch], policy
        )
        for row, (outcome, detail) in zip(batch, outcomes, strict=True):
            if outcome == "delivered":
                row.status, row.delivered_us, row.last_error = "delivered", now_us(), None
            elif outcome == "dead":
                _dead(row, detail)
            else:
                _retry(row, detail, policy)
            row.claim_token, row.locked_until_us = None, 0
            row.attempts += 1
            counts[row.status if outcome != "retry" else "retry"] += 1
    session.commit()
    return dict(counts)


def _for_lrs(body: str | None) -> dict | None:  # type: ignore[type-arg]
    if body is None:
        return None
    statement = json.loads(body)
    # `stored` and `authority` are the receiving LRS's to set.
    statement.pop("stored", None)
    statement.pop("authority", None)
    return statement  # type: ignore[no-any-return]


def _send(
    http: requests.Session,
    endpoint: Endpoint,
    batch: Sequence[tuple[OutboxRow, dict | None]],  # type: ignore[type-arg]
    policy: Policy,
) -> list[tuple[str, str]]:
    present = [(row, s) for row, s in batch if s is not None]
    if not present:
        return [("dead", "statement no longer stored")] * len(batch)
    url = endpoint.url.rstrip("/") + "/statements"
    auth = (endpoint.username, endpoint.password or "") if endpoint.username else None
    timeout = (policy.connect_timeout, policy.read_timeout)
    try:
        response = http.post(url, json=[s for _, s in present], auth=auth, timeout=timeout)
    except requests.RequestException as error:
        detail = f"{type(error).__name__} sending to {endpoint.name}"
        return [("retry", detail)] * len(batch)
    if response.status_code in (200, 204):
        results = {row.id: ("delivered", "") for row, _ in present}
    elif response.status_code in (409, 400) and len(present) > 1:
        # Some statement of the batch is known or refused: settle them one by one.
        results = {row.id: _send_one(http, url, auth, statement, timeout) for row, statement in present}
    elif response.status_code == 409:
        row, statement = present[0]
        results = {row.id: _settle_conflict(http, url, auth, statement, timeout)}
    elif response.status_code == 400:
        results = {present[0][0].id: ("dead", f"refused by {endpoint.name}: {response.text[:300]}")}
    else:
        results = {
            row.id: ("retry", f"HTTP {response.status_code} from {endpoint.name}") for row, _ in present
        }
    return [results.get(row.id, ("dead", "statement no longer stored")) for row, _ in batch]


def _send_one(
    http: requests.Session,
    url: str,
    auth: tuple[str, str] | None,
    statement: dict,  # type: ignore[type-arg]
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
    statement: dict,  # type: ignore[type-arg]
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
        same = validation.same_statement(response.json(), statement)
    except (ValueError, validation.StatementError):
        same = False
    return ("delivered", "") if same else ("dead", f"conflict: the LRS holds another {statement['id']}")


def _retry(row: OutboxRow, detail: str, policy: Policy) -> None:
    if row.attempts + 1 >= policy.max_attempts:
        _dead(row, f"gave up after {row.attempts + 1} attempts: {detail}")
        return
    delay = min(policy.base_delay_seconds * 2**row.attempts, policy.max_delay_seconds)
    delay *= random.uniform(0.8, 1.2)  # noqa: S311 - jitter, not security
    row.next_attempt_us = now_us() + int(delay * 1_000_000)
    row.last_error = detail[:1000]


def _dead(row: OutboxRow, detail: str) -> None:
    row.status = "dead"
    row.last_error = detail[:1000]
    log.warning("outbox row %s dead-lettered: %s", row.id, detail[:200])


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
