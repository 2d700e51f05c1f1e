"""Benchmark: a full LTI 1.3 launch through Socle, against a bare pylti1p3 tool on the same platform.

Run: ``.venv/bin/python bench/launch.py [--launches 300] [--concurrency 4] [--database-url URL]
[--json PATH]`` (``--help`` for the rest).

What it does
    Starts Socle under gunicorn (``flask setup`` first, in a temporary instance folder; SQLite, or with
    ``--database-url`` a throw-away ``socle_bench_<random>`` PostgreSQL database, dropped afterwards) and
    ``bare_tool.py`` under gunicorn with the same workers and threads. Socle's built-in demo platform
    (``/demo``, in Socle's own workers) launches both and signs the id_tokens with RS256. After a warm-up,
    the measured launches run in rounds that alternate the tools (order swapped each round), so that
    anything else happening on the machine weighs on both alike.

One launch, timed from the first request sent to the last response read, as a browser does it
    GET  /demo/start?as=learner[&client_id=bare-tool]   302 -> tool's login initiation
    GET  tool login                                       302 -> /demo/auth?... (state cookie set)
    GET  /demo/auth                                       200, auto-post form (id_token, state)
    POST tool launch                                      Socle: 303 -> learner home, 200; bare: 200
    Each client thread keeps its connections alive (its own requests.Session) but starts every launch with
    an empty cookie jar, as a fresh browser would; otherwise pylti1p3's per-launch state cookies (and the
    bare tool's session cookie, which keeps every nonce) pile up and slow both tools for no real reason.

How to read the figures
    launches/s     completed launches divided by the wall time of the measured rounds (all clients).
    p50 / p99      latency of one whole launch in milliseconds, median and 99th percentile.
    tool p50       median of the time spent in the tool's own responses only (login, launch, landing page;
                   requests' ``elapsed``, up to the response headers), without the platform's share.
    failures       launches that did not end on a 200 page with the expected marker; must be 0.
    Socle/bare     the cost of what Socle adds (database-backed one-time state and nonce, strict checks,
                   recording learner and launch, a learner home rendered from the database) over the bare
                   library. The platform's share (redirects, RS256 signing) is in both round trips; it
                   runs in Socle's workers, so under load it also slows Socle's own responses.
    JWKS fetches   how many times Socle fetched the demo platform's key set (``platforms.jwks_fetch_count``):
                   a few during warm-up (each worker's first launches find the cache empty), 0 after.
    CPU per launch where each launch's work runs, from the kernel's counters (``/proc``, Linux only): Socle's
                   gunicorn (which also serves the demo platform: in the bare tool's rounds, that row is the
                   platform's share), the bare tool's gunicorn, the local PostgreSQL server's processes, and
                   this process (the clients). With the machine's CPUs busy (more clients than cores), p50
                   follows the total: it shows what a change saves, and what a target leaves to spend.
    Target: Socle p50 <= 1.5 x bare p50 on SQLite, <= 2.0 x on PostgreSQL (decided: the database work the
    design requires costs round trips there), whole round trip.

Clients and servers share the machine's CPUs: compare ratios, and rerun before trusting a few percent.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

# The repository first on the path (bench/xapi.py would shadow the xapi package), then the shared helpers.
sys.path[0] = str(Path(__file__).resolve().parent.parent)
from bench.common import (  # noqa: E402
    BIN,
    REPO,
    bench_database,
    free_port,
    sqlalchemy_url,
    start_gunicorn,
    wait_ready,
)

BENCH = Path(__file__).resolve().parent
DEMO_CLIENT_ID = "socle-demo"
BARE_CLIENT_ID = "bare-tool"
BARE_DEPLOYMENT_ID = "bare-1"
SOCLE_MARKER = 'data-testid="learner-home"'
BARE_MARKER = 'data-testid="bare-launch"'
TARGET_P50_RATIO = {"sqlite": 1.5, "postgresql": 2.0}  # by database, as decided
REQUEST_TIMEOUT = 15.0


# -- servers ------------------------------------------------------------------------------------------


def jwks_fetch_count(database_url: str) -> int:
    engine = create_engine(sqlalchemy_url(database_url))
    try:
        with engine.connect() as connection:
            count = connection.execute(
                text("SELECT jwks_fetch_count FROM platforms WHERE client_id = :client_id"),
                {"client_id": DEMO_CLIENT_ID},
            ).scalar_one()
        return int(count or 0)
    finally:
        engine.dispose()


# -- CPU accounting ------------------------------------------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass(frozen=True)
class CpuWatch:
    """Where the CPU goes: each server's process group (gunicorn master and workers), PostgreSQL's processes
    on this machine, and this process (the clients). Made only where ``/proc`` exists (``main``)."""

    groups: dict[str, int]  # row label -> process group id

    def sample(self) -> dict[str, float]:
        """CPU milliseconds used so far by each row (processes that ended are not counted)."""
        used = dict.fromkeys([*self.groups, "PostgreSQL"], 0.0)
        by_group = {pgid: label for label, pgid in self.groups.items()}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as stat:
                    line = stat.read()
            except OSError:
                continue
            name, fields = line[line.find("(") + 1 : line.rfind(")")], line[line.rfind(")") + 2 :].split()
            ticks = int(fields[11]) + int(fields[12])  # utime + stime
            label = by_group.get(int(fields[2])) or ("PostgreSQL" if name == "postgres" else None)
            if label:
                used[label] += ticks * 1000 / CLOCK_TICKS
        own = resource.getrusage(resource.RUSAGE_SELF)
        used["clients"] = (own.ru_utime + own.ru_stime) * 1000
        return used


def cpu_between(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {label: after[label] - before[label] for label in after}


# -- one launch ---------------------------------------------------------------------------------------


class LaunchFailed(Exception):
    pass


class AutoPostForm(HTMLParser):
    """The platform's auto-submitted form: its action and hidden fields (attributes come unescaped)."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "form" and self.action is None:
            self.action = attributes.get("action")
        elif tag == "input" and attributes.get("type") == "hidden" and attributes.get("name"):
            self.fields[str(attributes["name"])] = attributes.get("value") or ""


def path_of(url: str) -> str:
    """The URL without its query string (which may carry launch ids or tokens), for messages."""
    return url.split("?", 1)[0]


def is_tool(url: str, tool_origin: str) -> bool:
    """A URL of the tool itself (Socle's demo platform shares its origin but lives under /demo/)."""
    return url.startswith(tool_origin + "/") and not url.startswith(tool_origin + "/demo/")


@dataclass(frozen=True)
class Timing:
    total_ms: float
    tool_ms: float  # the share of the tool's own responses (login, launch, landing page)


def one_launch(session: requests.Session, start_url: str, tool_origin: str, marker: str) -> Timing:
    """Run one launch as a fresh browser; return its timing or raise LaunchFailed."""
    session.cookies.clear()
    began = time.perf_counter()
    auth = session.get(start_url, timeout=REQUEST_TIMEOUT)
    if auth.status_code != 200:
        raise LaunchFailed(f"authorization page answered {auth.status_code} at {path_of(auth.url)}")
    form = AutoPostForm()
    form.feed(auth.text)
    if not form.action or "id_token" not in form.fields:
        raise LaunchFailed(f"no id_token form at {path_of(auth.url)}")
    landed = session.post(urljoin(auth.url, form.action), data=form.fields, timeout=REQUEST_TIMEOUT)
    total = time.perf_counter() - began
    if landed.status_code != 200:
        raise LaunchFailed(
            f"launch ended with {landed.status_code} at {path_of(landed.url)}: {landed.text[:200]!r}"
        )
    if marker not in landed.text:
        raise LaunchFailed(f"launch ended at {path_of(landed.url)} without {marker}")
    # requests' elapsed: from sending the request to reading the response headers (bodies are small).
    responses = [*auth.history, auth, *landed.history, landed]
    tool = sum(r.elapsed.total_seconds() for r in responses if is_tool(r.url, tool_origin))
    return Timing(total * 1000, tool * 1000)


@dataclass(frozen=True)
class Target:
    """A tool to launch: the platform URL that starts its launches, its origin, its landing page marker."""

    name: str
    start_url: str
    origin: str
    marker: str


@dataclass
class RunResult:
    tool: str
    launches: int
    concurrency: int
    wall_seconds: float
    timings: list[Timing] = field(repr=False)
    failures: int
    errors: list[str]
    cpu_ms: dict[str, float] = field(default_factory=dict)  # CPU used by each row during the rounds

    def cpu_per_launch(self) -> dict[str, float]:
        done = len(self.timings) + self.failures
        return {label: used / done for label, used in self.cpu_ms.items()} if done else {}

    @property
    def launches_per_second(self) -> float:
        return len(self.timings) / self.wall_seconds if self.wall_seconds else 0.0

    def percentile(self, q: int, *, tool_only: bool = False) -> float:
        values = [t.tool_ms if tool_only else t.total_ms for t in self.timings]
        if len(values) < 2:
            return values[0] if values else float("nan")
        return statistics.quantiles(values, n=100, method="inclusive")[q - 1]

    def summary(self) -> dict[str, Any]:
        return {
            "launches": self.launches,
            "concurrency": self.concurrency,
            "wall_seconds": round(self.wall_seconds, 3),
            "launches_per_second": round(self.launches_per_second, 2),
            "p50_ms": round(self.percentile(50), 2),
            "p99_ms": round(self.percentile(99), 2),
            "tool_only_p50_ms": round(self.percentile(50, tool_only=True), 2),
            "failures": self.failures,
            "errors": self.errors,
            "cpu_ms_per_launch": {label: round(ms, 2) for label, ms in self.cpu_per_launch().items()},
        }


def run_launches(target: Target, launches: int, concurrency: int, watch: CpuWatch | None = None) -> RunResult:
    """``launches`` launches shared by ``concurrency`` client threads, each with its keep-alive session."""
    lock = threading.Lock()
    next_index = 0
    timings: list[Timing] = []
    errors: list[str] = []

    def take() -> bool:
        nonlocal next_index
        with lock:
            if next_index >= launches:
                return False
            next_index += 1
            return True

    def client() -> None:
        with requests.Session() as session:
            while take():
                try:
                    timing = one_launch(session, target.start_url, target.origin, target.marker)
                except (LaunchFailed, requests.RequestException) as error:
                    with lock:
                        errors.append(f"{type(error).__name__}: {error}")
                    continue
                with lock:
                    timings.append(timing)

    cpu_before = watch.sample() if watch else {}
    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        for future in [pool.submit(client) for _ in range(concurrency)]:
            future.result()
    wall = time.perf_counter() - began
    cpu = cpu_between(cpu_before, watch.sample()) if watch else {}
    distinct = list(dict.fromkeys(errors))[:5]
    return RunResult(target.name, launches, concurrency, wall, timings, len(errors), distinct, cpu)


def merged(results: list[RunResult]) -> RunResult:
    """One result from several rounds of the same tool (wall times add up)."""
    first = results[0]
    return RunResult(
        tool=first.tool,
        launches=sum(r.launches for r in results),
        concurrency=first.concurrency,
        wall_seconds=sum(r.wall_seconds for r in results),
        timings=[t for r in results for t in r.timings],
        failures=sum(r.failures for r in results),
        errors=list(dict.fromkeys(e for r in results for e in r.errors))[:5],
        cpu_ms={label: sum(r.cpu_ms.get(label, 0.0) for r in results) for label in first.cpu_ms},
    )


def measure(
    socle: Target, bare: Target, args: argparse.Namespace, watch: CpuWatch | None
) -> tuple[RunResult, RunResult]:
    """Alternate the two tools in rounds, in swapped order each round, so drift hits both alike."""
    results: dict[str, list[RunResult]] = {socle.name: [], bare.name: []}
    for round_index in range(args.rounds):
        size = args.launches // args.rounds + (1 if round_index < args.launches % args.rounds else 0)
        order = (socle, bare) if round_index % 2 == 0 else (bare, socle)
        for target in order:
            if size:
                results[target.name].append(run_launches(target, size, args.concurrency, watch))
    return merged(results[socle.name]), merged(results[bare.name])


# -- report -------------------------------------------------------------------------------------------


def safe_ratio(a: float, b: float) -> float:
    return a / b if b and not math.isnan(b) else math.nan


def report(
    socle: RunResult, bare: RunResult, fetches_warmup: int, fetches_measured: int, backend: str
) -> dict[str, Any]:
    p50_ratio = safe_ratio(socle.percentile(50), bare.percentile(50))
    throughput_ratio = safe_ratio(socle.launches_per_second, bare.launches_per_second)
    rows: list[tuple[str, Callable[[RunResult], str], str]] = [
        ("launches/s", lambda r: f"{r.launches_per_second:.1f}", f"{throughput_ratio:.2f}"),
        ("p50 (ms)", lambda r: f"{r.percentile(50):.1f}", f"{p50_ratio:.2f}"),
        (
            "p99 (ms)",
            lambda r: f"{r.percentile(99):.1f}",
            f"{safe_ratio(socle.percentile(99), bare.percentile(99)):.2f}",
        ),
        (
            "tool p50 (ms)",
            lambda r: f"{r.percentile(50, tool_only=True):.1f}",
            f"{safe_ratio(socle.percentile(50, tool_only=True), bare.percentile(50, tool_only=True)):.2f}",
        ),
        ("failures", lambda r: f"{r.failures}/{r.launches}", ""),
    ]
    print()
    print(f"{socle.launches} launches per tool, {socle.concurrency} concurrent clients")
    print(f"{'':<14}{'Socle':>10}{'bare':>10}{'Socle/bare':>12}")
    for label, cell, ratio in rows:
        print(f"{label:<14}{cell(socle):>10}{cell(bare):>10}{ratio:>12}")
    for result in (socle, bare):
        for error in result.errors:
            print(f"  {result.tool} failure: {error}")
    socle_cpu, bare_cpu = socle.cpu_per_launch(), bare.cpu_per_launch()
    if socle_cpu and bare_cpu:
        print(f"\n{'CPU per launch (ms)':<22}{'Socle rounds':>13}{'bare rounds':>13}")
        for label in [label for label in socle_cpu if socle_cpu[label] or bare_cpu[label]]:
            print(f"{label:<22}{socle_cpu[label]:>13.2f}{bare_cpu[label]:>13.2f}")
        print(f"{'total':<22}{sum(socle_cpu.values()):>13.2f}{sum(bare_cpu.values()):>13.2f}")
    jwks_ok = fetches_measured == 0
    print(
        f"Socle's JWKS fetches from the demo platform: {fetches_warmup} during warm-up, "
        f"{fetches_measured} during the measured run ({'OK' if jwks_ok else 'FAIL: must be 0'})"
    )
    target = TARGET_P50_RATIO[backend]
    target_ok = p50_ratio <= target
    print(
        f"Target on {backend}, Socle p50 <= {target} x bare p50: {'MET' if target_ok else 'MISSED'} "
        f"({socle.percentile(50):.1f} ms vs {target} x {bare.percentile(50):.1f} ms "
        f"= {target * bare.percentile(50):.1f} ms)"
    )
    return {
        "socle": socle.summary(),
        "bare": bare.summary(),
        "ratio_p50": round(p50_ratio, 3),
        "ratio_throughput": round(throughput_ratio, 3),
        "jwks_fetches_warmup": fetches_warmup,
        "jwks_fetches_measured": fetches_measured,
        "target_p50_ratio": target,
        "target_met": target_ok,
        "jwks_ok": jwks_ok,
    }


# -- main ---------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--launches", type=int, default=300, help="measured launches per tool (300)")
    parser.add_argument("--warmup", type=int, default=20, help="unmeasured launches per tool first (20)")
    parser.add_argument("--concurrency", type=int, default=4, help="concurrent keep-alive clients (4)")
    parser.add_argument(
        "--rounds",
        type=int,
        default=4,
        help="measured launches are split in rounds alternating the tools (4)",
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per tool (2)")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker (4)")
    parser.add_argument(
        "--database-url",
        help="PostgreSQL server to use instead of SQLite, e.g. postgresql://127.0.0.1:5432/test "
        "(a socle_bench_<random> database is created there and dropped afterwards)",
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    if min(args.launches, args.concurrency, args.rounds, args.workers, args.threads) < 1 or args.warmup < 0:
        parser.error("--launches, --concurrency, --rounds, --workers and --threads must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with ExitStack() as cleanup:  # unwinds in reverse: servers stop, then the database goes, then the files
        tmp = Path(tempfile.mkdtemp(prefix="socle-bench-"))
        cleanup.callback(shutil.rmtree, tmp, ignore_errors=True)
        instance = tmp / "instance"
        database_url = cleanup.enter_context(bench_database(args.database_url, instance))
        backend = make_url(database_url).get_backend_name()
        socle_port, bare_port = free_port(), free_port()
        socle_url, bare_url = f"http://127.0.0.1:{socle_port}", f"http://127.0.0.1:{bare_port}"
        demo_url = socle_url + "/demo"
        socle_env = {
            **os.environ,
            "LTI_TOOL_INSTANCE_PATH": str(instance),
            "LTI_TOOL_BASE_URL": socle_url,
            "LTI_TOOL_ENV": "development",
            "LTI_TOOL_DATABASE_URL": database_url,
            "LTI_TOOL_LTI_CONFIG_PATH": str(tmp / "no-lti-config.json"),  # the demo platform only
            "LTI_TOOL_DEMO_EXTRA_TOOLS": json.dumps(
                [
                    {
                        "client_id": BARE_CLIENT_ID,
                        "deployment_id": BARE_DEPLOYMENT_ID,
                        "login_url": bare_url + "/login",
                        "redirect_uris": [bare_url + "/launch"],
                        "target_link_uri": bare_url + "/launch",
                    }
                ]
            ),
        }
        bare_env = {
            **os.environ,
            "BARE_ISSUER": demo_url,
            "BARE_CLIENT_ID": BARE_CLIENT_ID,
            "BARE_AUTH_LOGIN_URL": demo_url + "/auth",
            "BARE_AUTH_TOKEN_URL": demo_url + "/token",
            "BARE_KEY_SET_URL": demo_url + "/jwks",
            "BARE_DEPLOYMENT_ID": BARE_DEPLOYMENT_ID,
            "BARE_BASE_URL": bare_url,
            "BARE_SECRET_KEY": os.urandom(32).hex(),  # one secret for every worker's session cookie
        }
        print(f"Socle at {socle_url} ({backend}), bare tool at {bare_url}")
        setup = subprocess.run(
            [str(BIN / "flask"), "--app", "lti_tool", "setup"],
            cwd=REPO, env=socle_env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        if setup.returncode != 0:
            print(setup.stdout, setup.stderr, sep="\n", file=sys.stderr)
            return 2
        socle = start_gunicorn("socle", "lti_tool:create_app()", socle_port, socle_env, REPO, tmp, args)
        cleanup.callback(socle.stop)
        bare = start_gunicorn("bare", "bare_tool:create_app()", bare_port, bare_env, BENCH, tmp, args)
        cleanup.callback(bare.stop)
        wait_ready(socle, socle_url + "/health")
        wait_ready(bare, bare_url + "/")

        socle_target = Target("socle", demo_url + "/start?as=learner", socle_url, SOCLE_MARKER)
        bare_target = Target(
            "bare", demo_url + f"/start?as=learner&client_id={BARE_CLIENT_ID}", bare_url, BARE_MARKER
        )
        watch = (
            CpuWatch({"Socle's gunicorn": socle.process.pid, "bare tool's gunicorn": bare.process.pid})
            if os.path.isdir("/proc")
            else None
        )
        fetches_before = jwks_fetch_count(database_url)
        for target in (socle_target, bare_target) if args.warmup else ():
            warm = run_launches(target, args.warmup, args.concurrency)
            if warm.failures:
                print(f"warm-up of {target.name}: {warm.failures} failure(s): {warm.errors}", file=sys.stderr)
        fetches_warm = jwks_fetch_count(database_url)
        socle_run, bare_run = measure(socle_target, bare_target, args, watch)
        fetches_after = jwks_fetch_count(database_url)

        figures = report(
            socle_run, bare_run, fetches_warm - fetches_before, fetches_after - fetches_warm, backend
        )
        figures.update(database=backend, workers=args.workers, threads=args.threads)
        if args.json:
            strict = json.loads(json.dumps(figures), parse_constant=lambda _: None)  # NaN -> null
            args.json.write_text(json.dumps(strict, indent=2) + "\n", encoding="utf-8")
            print(f"Figures written to {args.json}")
        for server, run in ((socle, socle_run), (bare, bare_run)):
            if run.failures:
                print(f"\nLast lines of {server.name}'s log:\n{server.log_tail()}", file=sys.stderr)
        failed = socle_run.failures or bare_run.failures or not figures["jwks_ok"]
        return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
