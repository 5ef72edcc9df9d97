"""Load of the real bot: many concurrent widget customers against the production-shaped stack.

    .venv/bin/python -m benchmarks.chat_load_bot [--sessions 200] [--messages 5]
        [--server-root PATH] [--before-root PATH] [--output chat_load_bot] [--rebuild]

The layout the vector store allows on this machine (embedded Qdrant, no Qdrant server is
installable here): ``cs_platform.serve`` with one web worker (it holds Qdrant and runs the bot
turns), a Celery worker, PostgreSQL (a copy of a template database) and Redis (channel layer and
broker). The replier is the dialogue engine with the demo shop bot that ``make demo`` builds:
trained NLU model, knowledge base, flows, handoffs. Each customer plays one of the scripted shop
conversations (``benchmarks/data/conversations/shop.json``: knowledge questions, order tracking
flows, out-of-scope questions, requests for a person), its lines repeated until it has sent
``--messages``, each waiting for the answer before the next.

``--server-root`` runs the server, the worker and ``manage.py`` from another checkout of the
project (the client stays this one). ``--before-root`` runs the same load first against that
checkout (the code before a change), on the same machine in the same invocation, writes it as
``<output>_before.json`` and puts ``chat_load_bot_throughput_ratio`` (after / before) in the
main result.

Counts come from the database: stored customer messages, answered (a bot reply stored for it,
or stored after a handoff, for a person), duplicated (a client id stored twice, or shown twice
in the history). Bounded: every customer has a deadline (``--timeout``). Traffic goes to
127.0.0.1 only.
"""

import argparse
import asyncio
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import redis
from prometheus_client.parser import text_string_to_metric_families

from benchmarks.chat_load import (
    PG_ADMIN_URL,
    SessionResult,
    _session,
    process_tree,
    rss_mb,
    session_token,
    wait_for_health,
)
from benchmarks.common import free_port, machine, percentile

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
CONVERSATIONS = ROOT / "benchmarks" / "data" / "conversations" / "shop.json"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
BROKER_URL = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/14")
METRICS_TOKEN = secrets.token_urlsafe(16)  # this run's only
BUILT_DB = "cs_bench_bot_built"
RUN_DB = "cs_bench_bot"
BUILT_VAR = ROOT / "var" / "bench-bot-built"
RUN_VAR = ROOT / "var" / "bench-bot"


def _database_url(name: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def _env(var_dir: Path, database: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "QDRANT_URL"}
    env.update(
        DJANGO_SETTINGS_MODULE="cs_platform.settings.local",
        DJANGO_DEBUG="0",
        DATABASE_URL=_database_url(database),
        REDIS_URL=REDIS_URL,
        CELERY_BROKER_URL=BROKER_URL,
        CS_VAR_DIR=str(var_dir),
        LOG_LEVEL="WARNING",
        UVICORN_LOG_LEVEL="warning",
        # The run reads the server's own counters at the end (response cache, queries).
        METRICS_TOKEN=METRICS_TOKEN,
        # Every simulated customer comes from 127.0.0.1: lift the per-IP limits for this run.
        CHAT_RATE_MESSAGES_PER_IP="100000/60",
        WIDGET_RATE_TOKENS_PER_IP="100000/60",
    )
    return env


def _manage(root: Path, env: dict[str, str], *args: str) -> str:
    # Without the broker: the build indexes inline (no worker is up yet).
    inline = {k: v for k, v in env.items() if k != "CELERY_BROKER_URL"}
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=root,
        env=inline,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout


def _build(root: Path, epochs: int) -> None:
    """The demo shop bot, built once into a template database and a var folder (8 minutes)."""
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {BUILT_DB} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {BUILT_DB}")
    shutil.rmtree(BUILT_VAR, ignore_errors=True)
    env = _env(BUILT_VAR, BUILT_DB)
    for step in (
        ["migrate", "--noinput"],
        ["demo_seed", "--password", "bench-password"],
        ["demo_bots", "--only", "retail", "--epochs", str(epochs)],
    ):
        started = time.perf_counter()
        _manage(root, env, *step)
        print(f"  {step[0]}: {time.perf_counter() - started:.0f} s", flush=True)


def _fresh_copy(root: Path, port: int) -> tuple[dict[str, str], str]:
    """A copy of the built bot (database and var folder), migrated by ``root``'s code, seeded for
    this port's origin; the run's environment and the demo shop's widget key."""
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {RUN_DB} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {RUN_DB} TEMPLATE {BUILT_DB}")
    shutil.rmtree(RUN_VAR, ignore_errors=True)
    shutil.copytree(BUILT_VAR, RUN_VAR)
    env = _env(RUN_VAR, RUN_DB)
    _manage(root, env, "migrate", "--noinput")
    _manage(root, env, "demo_seed", "--port", str(port))
    with psycopg.connect(env["DATABASE_URL"]) as db:
        row = db.execute("SELECT public_key FROM accounts_workspace WHERE slug = 'demo'").fetchone()
    assert row is not None, "the demo shop was not built"
    redis.Redis.from_url(REDIS_URL).flushdb()
    redis.Redis.from_url(BROKER_URL).flushdb()
    return env, str(row[0])


def _scripts() -> list[list[str]]:
    conversations = json.loads(CONVERSATIONS.read_text())["conversations"]
    return [[step["say"] for step in c["steps"] if "say" in step] for c in conversations]


def _counts(database_url: str) -> dict[str, Any]:
    with psycopg.connect(database_url) as db:

        def one(sql: str) -> int:
            row = db.execute(sql).fetchone()
            return int(row[0]) if row else 0

        span = db.execute(
            "SELECT EXTRACT(EPOCH FROM MAX(created_at) - MIN(created_at)) FROM chat_message"
        ).fetchone()
        routes = db.execute(
            "SELECT route, COUNT(*) FROM dialogue_turntrace GROUP BY route ORDER BY 2 DESC"
        ).fetchall()
        customer_ids = [
            row[0]
            for row in db.execute(
                "SELECT client_message_id FROM chat_message WHERE sender = 'customer'"
            ).fetchall()
        ]
        return {
            "customer_ids": customer_ids,
            "stored": one("SELECT COUNT(*) FROM chat_message WHERE sender = 'customer'"),
            "by_bot": one(
                "SELECT COUNT(*) FROM chat_message c WHERE c.sender = 'customer' AND EXISTS ("
                "SELECT 1 FROM chat_message r WHERE r.conversation_id = c.conversation_id "
                "AND r.client_message_id = 'reply-' || c.id)"
            ),
            # Stored while a person had the conversation: no bot turn, a person answers.
            "for_person": one(
                "SELECT COUNT(*) FROM chat_message c WHERE c.sender = 'customer' AND NOT EXISTS ("
                "SELECT 1 FROM chat_botturn t WHERE t.customer_message_id = c.id "
                "AND t.state IN ('pending', 'running', 'done'))"
            ),
            "turns_open": one(
                "SELECT COUNT(*) FROM chat_botturn WHERE state IN ('pending', 'running')"
            ),
            "duplicate_rows": one(
                "SELECT COUNT(*) - COUNT(DISTINCT (conversation_id, client_message_id)) "
                "FROM chat_message WHERE client_message_id IS NOT NULL"
            ),
            "routes": {route or "unrouted": int(n) for route, n in routes},
            # From the first stored message to the last reply: the server's own pace, without
            # the clients' connecting and the tail of the slowest customer.
            "span_s": float(span[0]) if span and span[0] is not None else 0.0,
        }


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time the processes have used so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()
        except (OSError, IndexError):
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def _server_counters(base: str) -> dict[str, float]:
    """The server's own counters of the run, from its /metrics (empty where it has none):
    response cache lookups by stage and result, the seconds hits saved, database statements,
    and turns."""
    request = urllib.request.Request(  # noqa: S310 (loopback only)
        f"{base}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            text = response.read().decode()
    except OSError:
        return {}
    wanted = (
        "cs_response_cache_lookups_total",
        "cs_response_cache_saved_seconds_total",
        "django_db_execute_total",
        "cs_turns_total",
    )
    counters: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name not in wanted:
                continue
            labels = ",".join(
                f"{k}={v}" for k, v in sorted(sample.labels.items()) if k in ("stage", "result")
            )
            name = f"{sample.name}{{{labels}}}" if labels else sample.name
            counters[name] = round(counters.get(name, 0.0) + sample.value, 3)
    return counters


def _rss_by_role(server_pid: int, worker_pid: int) -> dict[str, float]:
    web = process_tree(server_pid)
    return {
        "web_supervisor": rss_mb(web[:1]),
        "web_workers": rss_mb(web[1:]),
        "celery_worker": rss_mb(process_tree(worker_pid)),
    }


async def _load(
    root: Path, args: argparse.Namespace, overrides: dict[str, str] | None = None
) -> dict[str, Any]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env, key = _fresh_copy(root, port)
    env.update(overrides or {})
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "cs_platform", "worker", "-c", "1", "-l", "WARNING"],
        cwd=root,
        env=env,
        start_new_session=True,
    )
    server = subprocess.Popen(
        [sys.executable, "-m", "cs_platform.serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=root,
        env=env,
        start_new_session=True,
    )
    try:
        await wait_for_health(base, timeout=180)
        await asyncio.sleep(3)  # let the worker finish importing
        idle = _rss_by_role(server.pid, worker.pid)
        peak = dict(idle)

        async def watch_memory() -> None:
            while True:
                for role, mb in _rss_by_role(server.pid, worker.pid).items():
                    peak[role] = max(peak[role], mb)
                await asyncio.sleep(0.5)

        watcher = asyncio.create_task(watch_memory())
        tokens = await asyncio.gather(
            *(asyncio.to_thread(session_token, base, key, base) for _ in range(args.sessions))
        )
        scripts = _scripts()
        deadline = time.monotonic() + args.timeout
        web_workers = process_tree(server.pid)[1:]
        cpu_before = _cpu_seconds(web_workers)
        began = time.perf_counter()
        results = await asyncio.gather(
            *(
                _session(base, key, base, token, scripts[i % len(scripts)], args.messages, deadline)
                for i, token in enumerate(tokens)
            ),
            return_exceptions=True,
        )
        # Until the last customer had the answer to their last message (the final history
        # request and the settling below are not part of the load).
        finished = [r.finished for r in results if isinstance(r, SessionResult) and r.finished]
        elapsed = (max(finished) if finished else time.perf_counter()) - began
        # How many of the cores the web worker kept busy (torch lets go of the GIL).
        cores = (_cpu_seconds(web_workers) - cpu_before) / elapsed
        watcher.cancel()
        counts = _counts(env["DATABASE_URL"])
        settle = time.monotonic() + 30
        while counts["turns_open"] and time.monotonic() < settle:
            await asyncio.sleep(2)
            counts = _counts(env["DATABASE_URL"])
        server_counters = await asyncio.to_thread(_server_counters, base)
    finally:
        for process in (server, worker):
            os.killpg(process.pid, signal.SIGTERM)
        for process in (server, worker):
            process.wait(timeout=60)
    return {
        **_metrics(args, results, counts, elapsed, idle, peak),
        "web_cpu_cores_busy": round(cores, 2),
        "server_counters": server_counters,
    }


def _metrics(
    args: argparse.Namespace,
    results: list[Any],
    counts: dict[str, Any],
    elapsed: float,
    idle: dict[str, float],
    peak: dict[str, float],
) -> dict[str, Any]:
    sessions = [r for r in results if isinstance(r, SessionResult)]
    failures = [repr(r) for r in results if not isinstance(r, SessionResult)]
    sent = [cid for r in sessions for cid in r.sent]
    acked = {cid for r in sessions for cid in r.acked}
    refused = {cid for r in sessions for cid in r.refused}
    stored_ids = set(counts["customer_ids"])
    answered = counts["by_bot"] + counts["for_person"]
    latencies = [ms for r in sessions for ms in r.first_chunk_ms]
    history_duplicates = sum(len(r.history_ids) - len(set(r.history_ids)) for r in sessions)
    # Lost: acknowledged but not stored, sent and neither stored nor refused, or stored without
    # an answer. (An acknowledgement event lost in transit loses nothing: the database has it.)
    lost = (
        len(acked - stored_ids)
        + len(set(sent) - stored_ids - refused)
        + (counts["stored"] - answered)
    )
    prefix = "chat_load_bot_"
    metrics: dict[str, Any] = {
        "sessions": args.sessions,
        "messages_sent": len(sent),
        "messages_acknowledged": len(acked),
        "messages_refused": len(refused),
        "messages_stored": counts["stored"],
        "messages_answered": answered,
        "messages_answered_by_bot": counts["by_bot"],
        "messages_for_a_person": counts["for_person"],
        "messages_lost": lost,
        "messages_duplicated": counts["duplicate_rows"] + history_duplicates,
        "first_chunk_p50_ms": percentile(latencies, 0.50, digits=1),
        "first_chunk_p90_ms": percentile(latencies, 0.90, digits=1),
        "first_chunk_p95_ms": percentile(latencies, 0.95, digits=1),
        "first_chunk_p99_ms": percentile(latencies, 0.99, digits=1),
        "duration_s": round(elapsed, 1),
        "messages_per_s": round(len(sent) / elapsed, 2) if elapsed else 0.0,
        "server_messages_per_s": (
            round(counts["stored"] / counts["span_s"], 2) if counts["span_s"] else 0.0
        ),
        "session_errors": sum(len(r.errors) for r in sessions) + len(failures),
        "resyncs": sum(r.resyncs for r in sessions),
    }
    return {
        **{prefix + k: v for k, v in metrics.items()},
        "routes": counts["routes"],
        "rss_idle_mb": idle,
        "rss_peak_mb": peak,
        "failures_sample": failures[:3] + [e for r in sessions for e in r.errors][:3],
    }


def _commit(root: Path) -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True
    )
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        cwd=root,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip() + ("+changes" if dirty.stdout.strip() else "")


def _result(name: str, root: Path, args: argparse.Namespace, metrics: dict[str, Any]) -> dict:
    return {
        "name": name,
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join(["python -m benchmarks.chat_load_bot", *sys.argv[1:]]),
        "server_code": _commit(root),
        "machine": machine(),
        "setup": "cs_platform.serve (uvicorn supervisor, 1 web worker: embedded Qdrant allows "
        "one process) + a Celery worker on PostgreSQL + Redis (channel layer and broker); the "
        "demo shop bot (dialogue engine, trained NLU, knowledge base, flows, handoffs); each "
        "customer plays a scripted shop conversation; load client on the same 2 cores; "
        "traffic on 127.0.0.1",
        "metrics": metrics,
    }


def _write(result: dict[str, Any]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{result['name']}.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--messages", type=int, default=5)
    parser.add_argument("--server-root", type=Path, default=ROOT)
    parser.add_argument("--before-root", type=Path, help="measure this checkout first")
    parser.add_argument("--epochs", type=int, default=2, help="the shop bot's NLU epochs")
    parser.add_argument("--rebuild", action="store_true", help="build the bot again")
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--output", default="chat_load_bot", help="result file name (no .json)")
    parser.add_argument(
        "--off",
        metavar="NAME=VALUE",
        help="then the same load with this setting (RESPONSE_CACHE=0, say): <output>_off.json",
    )
    args = parser.parse_args()
    with psycopg.connect(PG_ADMIN_URL) as admin:
        built = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [BUILT_DB]).fetchone()
    if args.rebuild or not built or not BUILT_VAR.is_dir():
        print("building the demo shop bot", flush=True)
        _build(args.before_root or args.server_root, args.epochs)
    before = None
    if args.before_root:
        before = _result(
            f"{args.output}_before",
            args.before_root,
            args,
            asyncio.run(_load(args.before_root, args)),
        )
        _write(before)
    after = _result(args.output, args.server_root, args, asyncio.run(_load(args.server_root, args)))
    if before:
        rate = "chat_load_bot_messages_per_s"
        ratio = after["metrics"][rate] / max(before["metrics"][rate], 1e-9)
        after["metrics"]["chat_load_bot_throughput_ratio"] = round(ratio, 2)
        served = "chat_load_bot_server_messages_per_s"
        server_ratio = after["metrics"][served] / max(before["metrics"][served], 1e-9)
        after["metrics"]["chat_load_bot_server_throughput_ratio"] = round(server_ratio, 2)
        after["before"] = {"file": f"{before['name']}.json", "server_code": before["server_code"]}
    _write(after)
    if args.off:
        name, _, value = args.off.partition("=")
        off = _result(
            f"{args.output}_off",
            args.server_root,
            args,
            asyncio.run(_load(args.server_root, args, {name: value})),
        )
        rate = "chat_load_bot_messages_per_s"
        off["metrics"]["chat_load_bot_on_off_throughput_ratio"] = round(
            after["metrics"][rate] / max(off["metrics"][rate], 1e-9), 2
        )
        off["off"] = args.off
        _write(off)


if __name__ == "__main__":
    main()
