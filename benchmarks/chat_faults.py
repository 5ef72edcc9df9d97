"""Fault benchmark: the real bot keeps answering while Redis, PostgreSQL and its own process fail.

    .venv/bin/python -m benchmarks.chat_faults [--sessions 30] [--rounds 2] [--timeout 600]

Production-shaped, on loopback only: PostgreSQL (a fresh ``cs_faults`` database), Redis as the
channel layer (db 12) and as the Celery broker (db 11) with a Celery worker, and
``cs_platform.serve`` (uvicorn under its supervisor). The process layout is the one the embedded
vector store allows (no Qdrant server is installable here): one web worker holding Qdrant's
local folder. The bot is the demo shop's, built as ``make demo`` builds it (intents, knowledge,
flows, a trained NLU model; ``--epochs``), answering with the dialogue engine.

``--sessions`` customers are in conversation at any time. Each plays one of the scripted shop
conversations (``benchmarks/data/conversations/shop.json``) as the widget does: it sends a
message, waits for the reply, and after a dropped socket reconnects, syncs and resends what has
no reply yet (same ``client_message_id``); when it is done, a new customer takes its place.
Meanwhile, ``--rounds`` times, ``FAULT_SPACING_S`` apart: every Redis client is killed, every
database backend of the run's database is terminated, and the web worker is killed with SIGKILL
(its supervisor starts a new one). After the last fault, the customers finish their
conversations and the run waits (bounded) for the bot to catch up, then counts from the
database:

- sent: distinct client message ids the customers sent; acknowledged: those the server
  acknowledged; stored: customer messages in the database;
- answered: stored messages with the bot's reply, or, where the bot handed the conversation to a
  person, stored after that (a person answers those; counted apart as ``for_agents``);
- duplicated: client ids stored more than once, bot replies beyond one per message, and messages
  a customer's history shows twice.

Writes ``benchmarks/results/chat_faults.json``. Bounded: ``--timeout`` seconds for the
conversations, then at most ``--settle`` seconds of waiting.
"""

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import redis
import websockets

from benchmarks.chat_load import (
    PG_ADMIN_URL,
    fresh_database,
    process_tree,
    rss_mb,
    session_token,
    wait_for_health,
)
from benchmarks.common import free_port, machine, percentile

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
BROKER_URL = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/11")
BUILT_DB = "cs_faults_built"
CONVERSATIONS = ROOT / "benchmarks" / "data" / "conversations" / "shop.json"
# How long a customer waits for a reply before it asks for what it missed (the widget's watch).
REPLY_WAIT_S = 20.0
# Seconds between two faults.
FAULT_SPACING_S = 6.0


@dataclass
class Customer:
    script: list[str] = field(default_factory=list)
    token: str = ""
    conversations: int = 0
    sent: set[str] = field(default_factory=set)
    acked: set[str] = field(default_factory=set)
    replied: set[str] = field(default_factory=set)
    reconnects: int = 0
    resends: int = 0
    syncs: int = 0
    first_chunk_ms: list[float] = field(default_factory=list)
    history_duplicates: int = 0
    errors: list[str] = field(default_factory=list)


def _env(database_url: str, var_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="cs_platform.settings.local",
        DJANGO_DEBUG="0",
        DATABASE_URL=database_url,
        REDIS_URL=REDIS_URL,
        CELERY_BROKER_URL=BROKER_URL,
        CS_VAR_DIR=str(var_dir),
        LOG_LEVEL="WARNING",
        CHAT_RATE_MESSAGES_PER_IP="100000/60",
        WIDGET_RATE_TOKENS_PER_IP="100000/60",
        # Shorter than production's 30 s / 5 s so a run takes minutes, not the same mechanism.
        TURN_LEASE_SECONDS="10",
        TURN_RECOVERY_INTERVAL_SECONDS="2",
        TURN_RETRY_BACKOFF_SECONDS="1",
    )
    env.pop("QDRANT_URL", None)
    return env


def _build_bot(env: dict[str, str], epochs: int) -> None:
    """Migrates, seeds the demo and builds the shop bot."""
    manage = [sys.executable, "manage.py"]
    # The build indexes inline (no broker): the worker isn't up yet and it would wait for it.
    inline = {k: v for k, v in env.items() if k != "CELERY_BROKER_URL"}
    steps = [
        ["migrate", "--noinput"],
        ["demo_seed", "--password", "faults-password"],
        ["demo_bots", "--only", "retail", "--epochs", str(epochs)],
    ]
    for step in steps:
        started = time.perf_counter()
        subprocess.run([*manage, *step], cwd=ROOT, env=inline, check=True, capture_output=True)
        print(f"  {step[0]}: {time.perf_counter() - started:.0f} s", flush=True)


def _demo_key(database_url: str) -> str:
    with psycopg.connect(database_url) as db:
        row = db.execute("SELECT public_key FROM accounts_workspace WHERE slug = 'demo'").fetchone()
    assert row is not None, "the demo shop was not built"
    return str(row[0])


async def _open(base: str, key: str, origin: str, customer: Customer, after: int) -> Any:
    uri = base.replace("http", "ws", 1) + f"/ws/widget/{key}/"
    ws = await websockets.connect(uri, origin=origin, open_timeout=20, max_size=2**20)
    await ws.send(json.dumps({"v": 1, "type": "auth", "token": customer.token}))
    await ws.send(json.dumps({"v": 1, "type": "sync", "after": after}))
    return ws


async def _customer_slot(
    base: str,
    key: str,
    customer: Customer,
    scripts: list[list[str]],
    slot: int,
    faults: "asyncio.Task[None]",
    deadline: float,
) -> None:
    """One of the concurrent customers: when a conversation ends, a new customer (a new widget
    session) takes the slot, until the faults are over."""
    turn = slot
    while time.monotonic() < deadline:
        try:
            customer.token = await asyncio.to_thread(session_token, base, key, base)
        except OSError as exc:  # the server is restarting: the page is loaded again
            customer.errors.append(f"session: {type(exc).__name__}")
            await asyncio.sleep(1)
            continue
        customer.script = scripts[turn % len(scripts)]
        customer.conversations += 1
        await _converse(base, key, customer, deadline)
        turn += len(scripts) // 3 + 1
        if faults.done():
            return


async def _converse(base: str, key: str, customer: Customer, deadline: float) -> None:
    """Plays the script as the widget does: after a drop, reconnect, sync, resend."""
    ws = None
    seen: set[int] = set()
    reply_for: dict[int, str] = {}  # customer message id -> its client id
    last_id = 0
    handed_off = False
    for index, text in enumerate(customer.script):
        client_id = f"faults-{random.getrandbits(48):012x}-{index}"
        customer.sent.add(client_id)
        sent_at = time.perf_counter()
        first_chunk: float | None = None
        resend = True
        waited_since = time.monotonic()
        while time.monotonic() < deadline and not (
            client_id in customer.replied or (handed_off and client_id in customer.acked)
        ):
            try:
                if ws is None:
                    ws = await _open(base, key, base, customer, last_id)
                    resend = True
                if resend:
                    payload = {"v": 1, "type": "message.send", "client_message_id": client_id}
                    await ws.send(json.dumps({**payload, "text": text}))
                    resend = False
                    waited_since = time.monotonic()
                raw = await asyncio.wait_for(ws.recv(), timeout=2.0)
            except TimeoutError:
                if time.monotonic() - waited_since > REPLY_WAIT_S:
                    # As the widget does: ask for what was missed.
                    customer.syncs += 1
                    waited_since = time.monotonic()
                    await ws.send(json.dumps({"v": 1, "type": "sync", "after": last_id}))
                continue
            except (websockets.ConnectionClosed, websockets.InvalidHandshake, OSError) as exc:
                customer.errors.append(type(exc).__name__)
                customer.reconnects += 1
                if ws is not None:
                    await ws.close()
                ws = None
                await asyncio.sleep(0.5 + random.random())  # noqa: S311 (backoff jitter)
                continue
            event = json.loads(raw)
            kind = event.get("type")
            messages: list[dict[str, Any]] = []
            if kind == "message.new":
                messages = [event["message"]]
            elif kind == "history":
                messages = event["messages"]
                status = (event.get("conversation") or {}).get("status")
                handed_off = handed_off or status in ("waiting_for_agent", "with_agent")
                ids = [m["id"] for m in messages]
                customer.history_duplicates += len(ids) - len(set(ids)) + len(seen & set(ids))
            elif kind == "message.done":
                messages = [event["message"]]
            elif kind == "message.delta" and first_chunk is None:
                first_chunk = (time.perf_counter() - sent_at) * 1000
            elif kind in ("handoff.requested", "handoff.accepted"):
                handed_off = True  # a person answers from here on (counted from the database)
            elif kind == "error":
                customer.errors.append(str(event.get("code")))
                if event.get("ref") == client_id:  # not stored, or not known to be: again
                    customer.resends += 1
                    await asyncio.sleep(1)
                    resend = True
            for message in messages:
                seen.add(message["id"])
                last_id = max(last_id, message["id"])
                cid = message.get("client_message_id") or ""
                if message["sender"] == "customer" and cid in customer.sent:
                    customer.acked.add(cid)
                    reply_for[message["id"]] = cid
                elif cid.startswith("reply-"):
                    answered = reply_for.get(int(cid.removeprefix("reply-")))
                    if answered:
                        customer.replied.add(answered)
        if first_chunk is not None:
            customer.first_chunk_ms.append(first_chunk)
    if ws is not None:
        await ws.close()


def _redis_clients_kill() -> int:
    admin = redis.Redis.from_url(REDIS_URL)
    killed = 0
    for client in admin.client_list():
        if client.get("name") != "faults-admin":
            try:
                killed += int(admin.client_kill_filter(_id=client["id"]))
            except redis.RedisError:
                continue
    return killed


def _database_backends_terminate(database_url: str) -> int:
    with psycopg.connect(database_url, autocommit=True) as db:
        rows = db.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    return len(rows)


def _web_worker_kill(server_pid: int) -> int | None:
    """SIGKILLs the supervisor's worker process (not its multiprocessing resource tracker)."""
    for pid in process_tree(server_pid):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if pid != server_pid and b"multiprocessing.spawn" in command:
            os.kill(pid, signal.SIGKILL)
            return pid
    return None


async def _faults(database_url: str, server_pid: int, rounds: int, log: list[str]) -> None:
    began = time.monotonic()
    for round_ in range(rounds):
        await asyncio.sleep(FAULT_SPACING_S)
        n = await asyncio.to_thread(_redis_clients_kill)
        log.append(f"{time.monotonic() - began:.0f}s round {round_ + 1}: killed {n} Redis clients")
        await asyncio.sleep(FAULT_SPACING_S)
        n = await asyncio.to_thread(_database_backends_terminate, database_url)
        log.append(f"{time.monotonic() - began:.0f}s: terminated {n} database backends")
        await asyncio.sleep(FAULT_SPACING_S)
        pid = _web_worker_kill(server_pid)
        log.append(f"{time.monotonic() - began:.0f}s: SIGKILL web worker {pid}")
        if pid is None:
            raise RuntimeError("no web worker process to kill")
    # Traffic goes on a little after the last fault (the new worker takes over).
    await asyncio.sleep(2 * FAULT_SPACING_S)


def _counts(database_url: str) -> dict[str, int]:
    with psycopg.connect(database_url) as db:

        def one(sql: str) -> int:
            row = db.execute(sql).fetchone()
            return int(row[0]) if row else 0

        return {
            "stored": one("SELECT COUNT(*) FROM chat_message WHERE sender = 'customer'"),
            "replied": one(
                "SELECT COUNT(*) FROM chat_message c WHERE c.sender = 'customer' AND EXISTS ("
                "SELECT 1 FROM chat_message r WHERE r.conversation_id = c.conversation_id "
                "AND r.client_message_id = 'reply-' || c.id)"
            ),
            # Stored while a person had the conversation: no bot turn, a person answers.
            "for_agents": one(
                "SELECT COUNT(*) FROM chat_message c WHERE c.sender = 'customer' AND NOT EXISTS ("
                "SELECT 1 FROM chat_botturn t WHERE t.customer_message_id = c.id "
                "AND t.state IN ('pending', 'running', 'done'))"
            ),
            "turns_open": one(
                "SELECT COUNT(*) FROM chat_botturn WHERE state IN ('pending', 'running')"
            ),
            "turns_handed_off": one("SELECT COUNT(*) FROM chat_botturn WHERE state = 'handed_off'"),
            "turn_attempts_beyond_first": one(
                "SELECT COALESCE(SUM(attempts - 1), 0) FROM chat_botturn WHERE attempts > 1"
            ),
            "duplicate_rows": one(
                "SELECT COUNT(*) - COUNT(DISTINCT (conversation_id, client_message_id)) "
                "FROM chat_message WHERE client_message_id IS NOT NULL"
            ),
        }


def _database_copy(source: str, target: str) -> str:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {target} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {target} TEMPLATE {source}")
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{target}"


async def _run(args: argparse.Namespace) -> dict[str, Any]:
    var_dir = ROOT / "var" / "faults"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # The bot is built once (about 8 minutes) into a template database and var/faults; each run
    # starts from a copy of that database, with no conversation in it.
    with psycopg.connect(PG_ADMIN_URL) as admin:
        built = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [BUILT_DB]).fetchone()
    if args.rebuild or not built or not var_dir.is_dir():
        shutil.rmtree(var_dir, ignore_errors=True)
        database_url = fresh_database(BUILT_DB)
        print("building the demo shop bot", flush=True)
        _build_bot(_env(database_url, var_dir), args.epochs)
    database_url = _database_copy(BUILT_DB, "cs_faults")
    env = _env(database_url, var_dir)
    key = _demo_key(database_url)
    subprocess.run(
        [sys.executable, "manage.py", "demo_seed", "--port", str(port)],
        cwd=ROOT,
        env={k: v for k, v in env.items() if k != "CELERY_BROKER_URL"},
        check=True,
        capture_output=True,
    )
    redis.Redis.from_url(REDIS_URL).flushdb()
    redis.Redis.from_url(BROKER_URL).flushdb()
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "cs_platform", "worker", "-c", "1", "-l", "WARNING"],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    server = subprocess.Popen(
        [sys.executable, "-m", "cs_platform.serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env={**env, "UVICORN_LOG_LEVEL": "warning"},
        start_new_session=True,
    )
    fault_log: list[str] = []
    try:
        await wait_for_health(base)
        scripts = [
            [step["say"] for step in conversation["steps"] if "say" in step]
            for conversation in json.loads(CONVERSATIONS.read_text())["conversations"]
        ]
        customers = [Customer() for _ in range(args.sessions)]
        deadline = time.monotonic() + args.timeout
        began = time.perf_counter()
        faults = asyncio.create_task(_faults(database_url, server.pid, args.rounds, fault_log))
        await asyncio.gather(
            *(
                _customer_slot(base, key, c, scripts, slot, faults, deadline)
                for slot, c in enumerate(customers)
            )
        )
        elapsed = time.perf_counter() - began
        await faults
        settle_until = time.monotonic() + args.settle
        counts = _counts(database_url)
        while counts["turns_open"] and time.monotonic() < settle_until:
            await asyncio.sleep(2)
            counts = _counts(database_url)
        rss = rss_mb(process_tree(server.pid))
    finally:
        for process in (server, worker):
            os.killpg(process.pid, signal.SIGTERM)
        for process in (server, worker):
            process.wait(timeout=60)

    sent = {cid for c in customers for cid in c.sent}
    acked = {cid for c in customers for cid in c.acked}
    latencies = [ms for c in customers for ms in c.first_chunk_ms]
    answered = counts["replied"] + counts["for_agents"]
    return {
        "faults_sessions": args.sessions,
        "faults_rounds": args.rounds,
        "faults_messages_sent": len(sent),
        "faults_messages_acknowledged": len(acked),
        "faults_messages_stored": counts["stored"],
        "faults_messages_answered": answered,
        "faults_messages_answered_by_bot": counts["replied"],
        "faults_messages_for_agents": counts["for_agents"],
        "faults_messages_duplicated": counts["duplicate_rows"]
        + sum(c.history_duplicates for c in customers),
        "faults_turns_retried": counts["turn_attempts_beyond_first"],
        "faults_turns_handed_off_after_failing": counts["turns_handed_off"],
        "faults_turns_still_open": counts["turns_open"],
        "faults_customers": sum(c.conversations for c in customers),
        "faults_client_reconnects": sum(c.reconnects for c in customers),
        "faults_client_resends_after_errors": sum(c.resends for c in customers),
        "faults_client_syncs_after_waiting": sum(c.syncs for c in customers),
        "faults_replies_seen_by_customers": sum(len(c.replied) for c in customers),
        "faults_first_chunk_p50_ms": percentile(latencies, 0.50, digits=1),
        "faults_first_chunk_p95_ms": percentile(latencies, 0.95, digits=1),
        "faults_duration_s": round(elapsed, 1),
        "faults_server_rss_end_mb": rss,
        "faults_log": fault_log,
        "faults_client_errors_sample": sorted({e for c in customers for e in c.errors})[:8],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=2, help="fault rounds (each: 3 faults)")
    parser.add_argument("--epochs", type=int, default=2, help="the shop bot's NLU epochs")
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--settle", type=float, default=120)
    parser.add_argument("--rebuild", action="store_true", help="build the bot again")
    args = parser.parse_args()
    random.seed(19)
    metrics = asyncio.run(_run(args))
    result = {
        "name": "chat_faults",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join(["python -m benchmarks.chat_faults", *sys.argv[1:]]),
        "machine": machine(),
        "setup": "cs_platform.serve (uvicorn supervisor, 1 worker: embedded Qdrant allows one "
        "process) + Celery worker on PostgreSQL + Redis (channel layer and broker); the demo "
        "shop bot (dialogue engine, trained NLU, knowledge base); faults: Redis clients killed, "
        "database backends terminated, web worker SIGKILLed and restarted by its supervisor; "
        "client and server on the same 2 cores, traffic on 127.0.0.1",
        "metrics": {k: v for k, v in metrics.items() if not isinstance(v, list)},
        "fault_log": metrics["faults_log"],
        "client_errors_sample": metrics["faults_client_errors_sample"],
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "chat_faults.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
