"""API cycle benchmark: the JSON API over real HTTP, one case after another, as a client integration would drive it.

    .venv/bin/python bench/api_cycle.py                      # 200 cases; `civicflow serve` subprocess, fresh SQLite
    .venv/bin/python bench/api_cycle.py -n 500 --server thread   # uvicorn in a thread of this process, no access log
    .venv/bin/python bench/api_cycle.py --profile            # thread server under cProfile: server-side hotspots
    .venv/bin/python bench/api_cycle.py --url http://127.0.0.1:8000 --user th_clerk --password ...  # existing server

Per case (sequential, one keep-alive httpx.Client):
  POST /api/v1/instances (two_user_tasks) → GET /api/v1/tasks?mine=true → POST /tasks/{A}/complete
  → GET /api/v1/tasks?mine=true → POST /tasks/{B}/complete (the case ends).

Own server (default): a temp dir holds a fresh SQLite file, migrated and seeded here (the tests' tiny org tree, one
township_clerk user), bench/two_user_tasks.bpmn + bench/forms/ deployed; then the server is started on a free port
(`--server serve`: `python -m web.cli serve --no-scheduler` with CIVICFLOW_DATA_DIR / CIVICFLOW_BPMN_DIR, i.e. the
production command with uvicorn's access log; `--server thread`: uvicorn.Server in a daemon thread, access log off).
With --url the target must already have two_user_tasks deployed and the user must be a township_clerk.

Figures are printed, nothing is asserted. The first --warmup cases are not counted.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import os
import pstats
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

BENCH_DIR = ROOT / "bench"
BPMN_FILE = "two_user_tasks.bpmn"
PROCESS_KEY = "two_user_tasks"
ORGS = [  # the tiny tree of tests/conftest.py
    ("511400", "眉山市", "city", None),
    ("511402", "东坡区", "county", "511400"),
    ("511402001", "通惠街道", "township", "511402"),
]
CASE_ORG = "511402001"
BENCH_USER = "bench_clerk"
TARGET = "target: task completion <= 5 ms p50, <= 15 ms p95 on SQLite (complete_a / complete_b rows)"
CALLS = ("start", "list_a", "complete_a", "list_b", "complete_b")


# -- figures ---------------------------------------------------------------------------------------------------------


@dataclass
class Timings:
    samples: dict[str, list[float]] = field(default_factory=lambda: {c: [] for c in CALLS})

    @contextmanager
    def measure(self, call: str, record: bool) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            if record:
                self.samples[call].append(time.perf_counter() - t0)

    @staticmethod
    def _line(label: str, seconds: list[float]) -> str:
        if not seconds:
            return f"  {label:<12} n=0"
        ms = sorted(s * 1000 for s in seconds)
        p95 = ms[min(len(ms) - 1, int(round(0.95 * (len(ms) - 1))))]
        return (f"  {label:<12} n={len(ms):<5} p50 {statistics.median(ms):6.2f}  p95 {p95:6.2f}  "
                f"max {ms[-1]:7.2f}  mean {statistics.fmean(ms):6.2f} ms")

    def report(self) -> list[str]:
        lines = [self._line(c, self.samples[c]) for c in CALLS]
        lines.append(self._line("complete_*", self.samples["complete_a"] + self.samples["complete_b"]))
        lines.append(self._line("list_*", self.samples["list_a"] + self.samples["list_b"]))
        return lines

    def verdict(self) -> str:
        ms = sorted(s * 1000 for s in self.samples["complete_a"] + self.samples["complete_b"])
        if not ms:
            return "no completions measured"
        p50, p95 = statistics.median(ms), ms[min(len(ms) - 1, int(round(0.95 * (len(ms) - 1))))]
        ok = p50 <= 5 and p95 <= 15
        return f"completion p50 {p50:.2f} ms / p95 {p95:.2f} ms: {'within' if ok else 'OUTSIDE'} target"


# -- own server ------------------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _prepare(database_url: str, password: str) -> None:
    from engine.clock import Clock
    from engine.db import close_database, init_database, migrate_database
    from engine.models import OrgUnit, User
    from engine.specs import SpecRegistry, read_directory, validate_bundle
    from web.composition import db_config
    from web.security import hash_password

    config = db_config(database_url)  # every package's tables, as `civicflow migrate` does
    await migrate_database(config)
    await init_database(config)
    try:
        paths: dict[str, str] = {}
        for code, name, level, parent in ORGS:
            paths[code] = (paths[parent] if parent else "/") + code + "/"
            await OrgUnit.create(code=code, name=name, level=level, parent_id=parent, path=paths[code])
        await User.create(username=BENCH_USER, display_name="基准测试经办", org_unit_id=CASE_ORG,
                          roles=["township_clerk"], password_hash=hash_password(password))
        bpmn, dmn, forms = read_directory(BENCH_DIR)
        await SpecRegistry().deploy(validate_bundle(BPMN_FILE, bpmn[BPMN_FILE], dmn, forms), clock=Clock(),
                                    actor="bench")
    finally:
        await close_database()


class OwnServer:
    """A fresh database and a server on it: a `civicflow serve` subprocess or uvicorn in a thread."""

    def __init__(self, kind: str, profile: bool) -> None:
        self.kind, self.profile = kind, profile
        self.tmp = tempfile.TemporaryDirectory(prefix="civicflow-bench-")
        self.data_dir = Path(self.tmp.name)
        self.database_url = f"sqlite://{self.data_dir / 'bench.db'}"
        self.password = secrets.token_urlsafe(12)
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.server: Any = None
        self.thread: threading.Thread | None = None
        self.profiler: cProfile.Profile | None = None

    def start(self) -> None:
        asyncio.run(_prepare(self.database_url, self.password))
        if self.kind == "serve":
            env = {**os.environ, "CIVICFLOW_DATA_DIR": str(self.data_dir), "CIVICFLOW_BPMN_DIR": str(BENCH_DIR),
                   "CIVICFLOW_DATABASE_URL": self.database_url, "CIVICFLOW_SECRET_KEY": secrets.token_urlsafe(32)}
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "web.cli", "serve", "--no-scheduler", "--port", str(self.port)],
                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        else:
            import uvicorn

            from engine.config import Settings
            from web.app import create_app

            settings = Settings(data_dir=self.data_dir, database_url=self.database_url, bpmn_dir=BENCH_DIR,
                                secret_key_value=secrets.token_urlsafe(32))
            self.server = uvicorn.Server(uvicorn.Config(create_app(settings, scheduler_interval=None),
                                                        host="127.0.0.1", port=self.port, log_level="warning",
                                                        access_log=False))
            self.profiler = cProfile.Profile() if self.profile else None
            target = self.server.run if self.profiler is None else (
                lambda: self.profiler.runcall(self.server.run))  # type: ignore[union-attr]
            self.thread = threading.Thread(target=target, name="bench-server", daemon=True)
            self.thread.start()
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise SystemExit(f"server exited with code {self.proc.returncode}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise SystemExit("server did not come up within 30 s")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        if self.server is not None and self.thread is not None:
            self.server.should_exit = True
            self.thread.join(timeout=10)
        self.tmp.cleanup()


# -- the cycle -------------------------------------------------------------------------------------------------------


def _check(response: httpx.Response, status: int, what: str) -> Any:
    if response.status_code != status:
        raise SystemExit(f"{what}: HTTP {response.status_code}: {response.text[:500]}")
    return response.json()


def _ready_task(client: httpx.Client, instance_id: str, bpmn_id: str, fallback: list[dict[str, Any]]) -> str:
    """The task's id as the inbox lists it (GET /tasks?mine=true); falls back to the start/complete response."""
    body = _check(client.get("/api/v1/tasks", params={"mine": "true", "process_key": PROCESS_KEY}), 200, "list")
    for item in body["items"]:
        if item["instance_id"] == instance_id and item["bpmn_id"] == bpmn_id:
            return str(item["id"])
    for item in fallback:  # an existing server's backlog may push ours beyond the first page
        if item["bpmn_id"] == bpmn_id:
            return str(item["id"])
    raise SystemExit(f"task {bpmn_id} of {instance_id} is in no list")


def run_cycle(client: httpx.Client, n: int, warmup: int) -> tuple[Timings, float]:
    timings = Timings()
    run_id = secrets.token_hex(3)
    t_start = 0.0
    for i in range(warmup + n):
        record = i >= warmup
        if i == warmup:
            t_start = time.perf_counter()
        with timings.measure("start", record):
            body = _check(client.post("/api/v1/instances", json={"process_key": PROCESS_KEY,
                                                                 "business_key": f"API-{run_id}-{i:05d}"}),
                          201, "start")
        instance_id = body["id"]
        with timings.measure("list_a", record):
            task_a = _ready_task(client, instance_id, "Task_a", body["ready_tasks"])
        with timings.measure("complete_a", record):
            body = _check(client.post(f"/api/v1/tasks/{task_a}/complete",
                                      json={"data": {"a_text": f"case {i}: 申请材料已收到"}}), 200, "complete A")
        with timings.measure("list_b", record):
            task_b = _ready_task(client, instance_id, "Task_b", body["ready_tasks"])
        with timings.measure("complete_b", record):
            body = _check(client.post(f"/api/v1/tasks/{task_b}/complete", json={"data": {"b_text": "已办结"}}),
                          200, "complete B")
        if body["status"] != "completed":
            raise SystemExit(f"case {instance_id} did not end: status {body['status']}")
    return timings, time.perf_counter() - t_start


def _print_profile(profiler: cProfile.Profile, limit: int) -> None:
    for key in ("cumulative", "tottime"):
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.strip_dirs().sort_stats(key).print_stats(limit)
        text = out.getvalue()
        print(f"\n-- server profile, top {limit} by {key} --")
        print(text[text.find("   ncalls"):].rstrip())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--cases", type=int, default=200, help="measured cases (default 200)")
    parser.add_argument("--warmup", type=int, default=10, help="cases run first and not measured (default 10)")
    parser.add_argument("--server", choices=("serve", "thread"), default="serve",
                        help="own server: `civicflow serve` subprocess (default) or uvicorn in a thread")
    parser.add_argument("--profile", action="store_true", help="thread server under cProfile; print hotspots")
    parser.add_argument("--profile-limit", type=int, default=35)
    parser.add_argument("--url", help="use this running server instead of starting one")
    parser.add_argument("--user", default=None, help="with --url: a township_clerk of the case org")
    parser.add_argument("--password", default=None)
    args = parser.parse_args(argv)

    own: OwnServer | None = None
    if args.url:
        if not args.user or args.password is None:
            parser.error("--url needs --user and --password")
        base, user, password, where = args.url.rstrip("/"), args.user, args.password, f"existing server {args.url}"
    else:
        own = OwnServer("thread" if args.profile else args.server, args.profile)
        own.start()
        base, user, password = own.url, BENCH_USER, own.password
        where = ("`civicflow serve --no-scheduler` subprocess (uvicorn, access log on)" if own.kind == "serve"
                 else "uvicorn in a thread of this process (access log off)"
                 + (", under cProfile" if args.profile else ""))
        where += f", fresh SQLite {own.database_url.split('://', 1)[1]}"
    try:
        with httpx.Client(base_url=base, timeout=30) as client:
            token = _check(client.post("/api/v1/auth/token", json={"username": user, "password": password}),
                           201, "token")["token"]
            client.headers["Authorization"] = f"Bearer {token}"
            timings, wall = run_cycle(client, args.cases, args.warmup)
    finally:
        if own is not None:
            own.stop()

    print(f"API cycle benchmark: {args.cases} cases of {PROCESS_KEY} (+{args.warmup} warm-up), sequential, "
          f"one keep-alive httpx.Client")
    print(f"  server: {where}")
    print(f"  python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    print(f"  cases/s  {args.cases / wall:7.1f}   (wall {wall:.2f} s, {5 * args.cases} requests, "
          f"{5 * args.cases / wall:.0f} req/s)")
    print("  per call (client-side wall time, HTTP round trip included):")
    for line in timings.report():
        print("  " + line)
    print(f"  {TARGET}")
    print(f"  -> {timings.verdict()}")
    if own is not None and own.profiler is not None:
        _print_profile(own.profiler, args.profile_limit)
    return 0


if __name__ == "__main__":
    sys.exit(main())
