"""Benchmark: grades for a cohort, delivered to the platform's gradebook (AGS) by Socle's worker.

Run: ``.venv/bin/python bench/ags.py [--learners 1000] [--database-url postgresql://…]``

What it does
    Starts Socle under gunicorn (its demo platform serves the OAuth2 token endpoint and the AGS endpoints,
    with Moodle's rules), sizes the demo course's roster to the cohort, makes one real launch to learn the
    course's AGS endpoint, then queues one "module completed" score per learner in Socle's score outbox (as
    the learners' completions would) and lets the worker loop (``lti.ags.run_once``, in this process)
    deliver them all over HTTP.

How to read the figures
    scores/s          scores delivered per second by one worker, line item creation included.
    p50 / p99         time per score (the worker's loop divided by the batch, so with its database work).
    tokens requested  access tokens the platform issued during the run, from the demo platform's counter:
                      the target is one per registration and scope set per expiry period (here: at most two
                      — line items and scores — for the whole cohort), never one per score.
    refused / waiting must be 0.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

# The repository, not bench/, comes first on the path: bench/xapi.py would shadow the xapi package.
sys.path[0] = str(Path(__file__).resolve().parent.parent)
from bench.common import BIN, REPO, bench_database, free_port, start_gunicorn, wait_ready  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--learners", type=int, default=1000)
    parser.add_argument(
        "--database-url", default=None, help="PostgreSQL server (a throw-away database is made)"
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="socle-bench-ags-") as tmp:
        instance = Path(tmp) / "instance"
        instance.mkdir()
        with bench_database(args.database_url, instance) as database_url:
            return run(args, instance, database_url)


def run(args: argparse.Namespace, instance: Path, database_url: str) -> int:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "LTI_TOOL_INSTANCE_PATH": str(instance),
        "LTI_TOOL_BASE_URL": base,
        "LTI_TOOL_ENV": "development",
        "LTI_TOOL_DATABASE_URL": database_url,
        "LTI_TOOL_LTI_CONFIG_PATH": str(instance / "none.json"),
    }
    import subprocess

    subprocess.run(
        [str(BIN / "flask"), "--app", "lti_tool", "setup"], env=env, cwd=REPO, check=True, capture_output=True
    )
    server = start_gunicorn("socle", "lti_tool:create_app()", port, env, REPO, instance, args)
    try:
        wait_ready(server, base + "/health")
        for key in (
            "LTI_TOOL_INSTANCE_PATH",
            "LTI_TOOL_BASE_URL",
            "LTI_TOOL_ENV",
            "LTI_TOOL_DATABASE_URL",
            "LTI_TOOL_LTI_CONFIG_PATH",
        ):
            os.environ[key] = env[key]
        from sqlalchemy import func, select

        from demo_platform import roster
        from lti_tool import create_app
        from lti_tool.db import db, utcnow
        from lti_tool.lti import ags
        from lti_tool.lti.models import Launch, ScoreOutbox

        app = create_app()
        with app.app_context():
            roster.resize_roster(db.session, args.learners + 3)
            members = [m.sub for m in roster.roster(db.session) if m.sub.startswith("demo-learner-")][
                : args.learners
            ]
        # One real launch through the demo platform gives the course's AGS endpoint and the context.
        http = requests.Session()
        page = http.get(base + "/demo/start", params={"as": "learner"}, timeout=10)
        import re
        from html import unescape

        action = unescape(re.search(r'action="([^"]+)"', page.text).group(1))  # type: ignore[union-attr]
        fields = {k: unescape(v) for k, v in re.findall(r'name="([^"]+)" value="([^"]*)"', page.text)}
        assert http.post(action, data=fields, timeout=10).status_code == 200
        with app.app_context():
            launch = db.session.scalars(select(Launch).order_by(Launch.created_at.desc())).first()
            assert launch is not None
            claim = launch.claims["https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"]
            now = utcnow().replace(microsecond=0)
            db.session.execute(
                ScoreOutbox.__table__.insert(),
                [
                    {
                        "platform_id": launch.platform_id,
                        "context_pk": launch.context_pk,
                        "learner_id": launch.learner_id,
                        "sub": sub,
                        "resource_link_id": "",
                        "resource_id": "M1",
                        "label": "M1 · bench",
                        "lineitems_url": claim["lineitems"],
                        "lineitem_url": None,
                        "score_given": 70 + i % 30,
                        "score_maximum": 100.0,
                        "activity_progress": "Completed",
                        "grading_progress": "FullyGraded",
                        "timestamp": now,
                        "status": "pending",
                        "attempts": 0,
                        "next_attempt_at": now,
                        "created_at": now,
                    }
                    for i, sub in enumerate(members)
                ],
            )
            db.session.commit()
        tokens_before = (
            requests.get(base + "/demo/admin/token-stats", timeout=10)
            .json()
            .get("socle-demo", {})
            .get("*", 0)
        )
        lti = app.extensions["socle_lti"]
        per_score: list[float] = []
        started = time.perf_counter()
        with app.app_context():
            while True:
                t0 = time.perf_counter()
                counts = ags.run_once(db.session, lti.http, lti.keys, db.engine, ags.Policy(batch_size=50))
                done = sum(counts.values())
                if not done:
                    break
                per_score += [(time.perf_counter() - t0) / done] * done
            elapsed = time.perf_counter() - started
            statuses = dict(
                db.session.execute(
                    select(ScoreOutbox.status, func.count()).group_by(ScoreOutbox.status)
                ).all()
            )
        tokens = (
            requests.get(base + "/demo/admin/token-stats", timeout=10)
            .json()
            .get("socle-demo", {})
            .get("*", 0)
            - tokens_before
        )
        delivered = statuses.get("delivered", 0)
        per_score.sort()
        figures = {
            "database": "postgresql" if database_url.startswith("postgres") else "sqlite",
            "learners": len(members),
            "delivered": delivered,
            "refused": statuses.get("refused", 0) + statuses.get("dead", 0),
            "waiting": statuses.get("pending", 0),
            "seconds": round(elapsed, 2),
            "scores_per_second": round(delivered / elapsed, 1) if elapsed else 0,
            "p50_ms": round(statistics.median(per_score) * 1000, 2) if per_score else None,
            "p99_ms": round(per_score[int(len(per_score) * 0.99) - 1] * 1000, 2) if per_score else None,
            "tokens_requested": tokens,
        }
        print(f"AGS delivery for {figures['learners']} learners ({figures['database']}):")
        for key in (
            "delivered",
            "refused",
            "waiting",
            "seconds",
            "scores_per_second",
            "p50_ms",
            "p99_ms",
            "tokens_requested",
        ):
            print(f"  {key:<18} {figures[key]}")
        verdict = "MET" if tokens <= 2 else "MISSED"
        print(f"Target: one token per registration and scope set per expiry period (≤ 2 here): {verdict}")
        if args.json:
            Path(args.json).write_text(json.dumps(figures, indent=2))
        return 0 if figures["refused"] == 0 and figures["waiting"] == 0 else 1
    finally:
        server.stop()


if __name__ == "__main__":
    raise SystemExit(main())
