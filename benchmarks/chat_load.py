"""Chat load benchmark: many concurrent widget sessions against the server.

    .venv/bin/python -m benchmarks.chat_load [--sessions 200] [--messages 5] [--workers 1]
        [--layout production|embedded] [--bot]

``--layout production`` (default) starts the production web server (``cs_platform.serve``:
uvicorn under its supervisor) on PostgreSQL and the Redis channel layer (a fresh ``cs_bench``
database and Redis db 13). ``--layout embedded`` starts what ``make demo`` starts: daphne, one
process, SQLite, the in-memory channel layer, tasks inline (a fresh ``var/bench-embedded``).
Both use Qdrant's local mode, so one server process. With ``--bot`` the demo shop bot is built
as ``make demo`` builds it (intents, knowledge, flows, a trained NLU model) and customers send
the shop conversations' phrasings; without it, the seeded workspace answers a fixed question
from an empty knowledge base. Opens the sessions at once, sends the messages one after another
per session (each waits for the bot's reply), then counts from the database what was lost or
stored twice. Bounded: every session has a deadline and the run stops after ``--timeout``
seconds. Writes ``benchmarks/results/<--output>.json`` (default ``chat_load``).

Traffic goes to 127.0.0.1 only.
"""

import argparse
import asyncio
import json
import os
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import redis
import websockets

from benchmarks.common import free_port, machine, percentile

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
PG_BENCH_DB = "cs_bench"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
RESYNC_S = 20.0  # the widget asks for missed messages after this long without an answer


@dataclass
class SessionResult:
    sent: list[str] = field(default_factory=list)
    acked: set[str] = field(default_factory=set)
    refused: set[str] = field(default_factory=set)
    replies: int = 0
    first_chunk_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    history_ids: list[int] = field(default_factory=list)
    resyncs: int = 0
    finished: float = 0.0  # perf_counter() when the last message had its answer


def fresh_database(name: str = PG_BENCH_DB) -> str:
    """An empty PostgreSQL database of that name (dropped first if it exists); its URL."""
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {name}")
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def _server_env(database_url: str | None) -> dict[str, str]:
    """The server's environment: production services, or (no ``database_url``) the embedded
    default with nothing set, as ``make demo`` runs."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "QDRANT_URL")
    }
    env.update(
        DJANGO_SETTINGS_MODULE="cs_platform.settings.local",
        DJANGO_DEBUG="0",
        CS_VAR_DIR=str(ROOT / "var" / ("bench" if database_url else "bench-embedded")),
        LOG_LEVEL="WARNING",
        # Every simulated customer comes from 127.0.0.1: lift the per-IP limits for this run.
        CHAT_RATE_MESSAGES_PER_IP="100000/60",
        WIDGET_RATE_TOKENS_PER_IP="100000/60",
    )
    if database_url:
        env.update(DATABASE_URL=database_url, REDIS_URL=REDIS_URL)
    return env


def rss_mb(pids: list[int]) -> float:
    total_kb = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kb += int(line.split()[1])
        except OSError:
            continue
    return round(total_kb / 1024, 1)


def process_tree(root_pid: int) -> list[int]:
    pids = [root_pid]
    for path in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(path.read_text().split(") ", 1)[1].split()[1]) == root_pid:
                pids.append(int(path.parent.name))
        except (OSError, IndexError, ValueError):
            continue
    return pids


def session_token(base: str, key: str, origin: str) -> str:
    request = urllib.request.Request(  # noqa: S310 (loopback only)
        f"{base}/api/v1/widget/{key}/session/",
        data=b"{}",
        headers={"Content-Type": "application/json", "Origin": origin},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        return str(json.loads(response.read())["token"])


async def wait_for_health(base: str, timeout: float = 120) -> None:
    """Waits for the server's liveness probe to answer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{base}/healthz", timeout=1)  # noqa: S310 (loopback)
            return
        except OSError:
            await asyncio.sleep(0.25)
    raise RuntimeError("the server did not start")


async def _session(
    base: str,
    key: str,
    origin: str,
    token: str,
    texts: list[str],
    messages: int,
    deadline: float,
) -> SessionResult:
    result = SessionResult()
    try:
        await _converse(base, key, origin, token, texts, messages, deadline, result)
    except (websockets.ConnectionClosed, TimeoutError, OSError) as exc:
        # What this session sent before the failure still counts (lost if never answered).
        result.errors.append(repr(exc))
    return result


async def _converse(
    base: str,
    key: str,
    origin: str,
    token: str,
    texts: list[str],
    messages: int,
    deadline: float,
    result: SessionResult,
) -> None:
    uri = base.replace("http", "ws", 1) + f"/ws/widget/{key}/"
    async with websockets.connect(uri, origin=origin, open_timeout=30, max_size=2**20) as ws:
        await ws.send(json.dumps({"v": 1, "type": "auth", "token": token}))
        handed_off = False  # a person answers from then on (the bot sends no reply)
        for index in range(messages):
            client_id = f"bench-{uuid.uuid4().hex}-{index}"
            sent = time.perf_counter()
            result.sent.append(client_id)
            payload = {"v": 1, "type": "message.send", "client_message_id": client_id}
            await ws.send(json.dumps({**payload, "text": texts[index % len(texts)]}))
            first_chunk = None
            stored_id = 0
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    result.errors.append("deadline")
                    return
                try:
                    raw = await asyncio.wait_for(ws.recv(), timeout=min(remaining, RESYNC_S))
                except TimeoutError:
                    # As the widget does: a stored message without an answer for 20 s, ask for
                    # what was missed (a live event can be lost; the stored reply is not).
                    result.resyncs += 1
                    after = max(0, stored_id - 1)  # our message and what came after it
                    await ws.send(json.dumps({"v": 1, "type": "sync", "after": after}))
                    continue
                event = json.loads(raw)
                kind = event["type"]
                if kind == "history":
                    # The answer to a resync: our message (its acknowledgement may have been
                    # the event that was lost) and its reply, if stored.
                    ids = {m.get("client_message_id"): m["id"] for m in event["messages"]}
                    if client_id in ids:
                        result.acked.add(client_id)
                        stored_id = int(ids[client_id])
                        if f"reply-{stored_id}" in ids or handed_off:
                            result.replies += 0 if handed_off else 1
                            break
                if kind == "message.new" and event["message"]["client_message_id"] == client_id:
                    result.acked.add(client_id)
                    stored_id = int(event["message"]["id"])
                    if handed_off:
                        break
                elif kind == "handoff.requested":
                    handed_off = True
                elif kind == "message.delta" and first_chunk is None:
                    first_chunk = (time.perf_counter() - sent) * 1000
                elif kind == "message.done":
                    result.replies += 1
                    break
                elif kind == "error":
                    result.errors.append(event["code"])
                    if event.get("ref") == client_id:
                        result.refused.add(client_id)
                    break
            if first_chunk is not None:
                result.first_chunk_ms.append(first_chunk)
        result.finished = time.perf_counter()
        await ws.send(json.dumps({"v": 1, "type": "sync", "after": 0}))
        while True:
            event = json.loads(await asyncio.wait_for(ws.recv(), timeout=30))
            if event["type"] == "history":
                result.history_ids = [m["id"] for m in event["messages"]]
                break


def _stored(database_url: str | None, env: dict[str, str]) -> tuple[list[str], int, int]:
    """Client ids of the stored customer messages, those answered (by a bot reply, or stored
    while a person had the conversation: no bot turn, a person answers), and the number of extra
    rows (one client id stored more than once)."""
    queries = (
        "SELECT client_message_id FROM chat_message WHERE sender = 'customer'",
        "SELECT COUNT(*) FROM chat_message c WHERE c.sender = 'customer' AND (EXISTS ("
        "SELECT 1 FROM chat_message r WHERE r.conversation_id = c.conversation_id "
        "AND r.client_message_id = 'reply-' || c.id) OR NOT EXISTS (SELECT 1 FROM chat_botturn t "
        "WHERE t.customer_message_id = c.id AND t.state IN ('pending', 'running', 'done')))",
        "SELECT COUNT(*) - (SELECT COUNT(*) FROM (SELECT DISTINCT conversation_id, "
        "client_message_id FROM chat_message) AS d) FROM chat_message",
    )
    db: Any = (
        psycopg.connect(database_url)
        if database_url
        else sqlite3.connect(Path(env["CS_VAR_DIR"]) / "db.sqlite3")
    )
    with closing(db):
        customer = [row[0] for row in db.execute(queries[0]).fetchall()]
        (answered,) = db.execute(queries[1]).fetchone()
        (extra,) = db.execute(queries[2]).fetchone()
    return customer, int(answered), int(extra)


def _phrasings() -> list[str]:
    """What customers say in the scripted shop conversations, in order."""
    path = ROOT / "benchmarks" / "data" / "conversations" / "shop.json"
    conversations = json.loads(path.read_text())["conversations"]
    return [
        step["say"]
        for conversation in conversations
        for step in conversation["steps"]
        if "say" in step
    ]


async def _run(args: argparse.Namespace) -> dict[str, Any]:
    embedded = args.layout == "embedded"
    database_url = None if embedded else fresh_database()
    env = _server_env(database_url)
    var_dir = Path(env["CS_VAR_DIR"])
    # The embedded bot is built once (about 8 minutes) and copied for each run.
    built = var_dir.with_name(var_dir.name + "-built")
    reuse = embedded and args.bot and built.is_dir() and not args.rebuild
    if embedded:
        shutil.rmtree(var_dir, ignore_errors=True)
        if reuse:
            shutil.copytree(built, var_dir)
    else:
        redis.Redis.from_url(REDIS_URL).flushdb()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    manage = [sys.executable, "manage.py"]
    steps = [
        ["migrate", "--noinput"],
        ["demo_seed", "--password", "bench-password", "--port", str(port)],
    ]
    if args.bot and not reuse:
        steps.append(["demo_bots", "--only", "retail", "--epochs", str(args.epochs)])
        steps[-1] += ["--port", str(port)]
    outputs = [
        subprocess.run(
            [*manage, *step], cwd=ROOT, env=env, check=True, capture_output=True, text=True
        ).stdout
        for step in steps
    ]
    if embedded and args.bot and not reuse:
        shutil.rmtree(built, ignore_errors=True)
        shutil.copytree(var_dir, built)
    key = next(line.split()[-1] for line in outputs[1].splitlines() if "widget key" in line)
    texts = _phrasings() if args.bot else ["where is my order?"]
    if embedded:
        # What `make demo` runs.
        command = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port)]
        command.append("cs_platform.asgi:application")
    else:
        command = [sys.executable, "-m", "cs_platform.serve", "--host", "127.0.0.1"]
        command += ["--port", str(port), "--workers", str(args.workers), "--log-level", "warning"]
    server = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
    try:
        await wait_for_health(base)
        await asyncio.sleep(2)  # let every worker finish importing
        pids = process_tree(server.pid)
        idle_rss = rss_mb(pids)
        peak_rss = idle_rss

        async def watch_memory() -> None:
            nonlocal peak_rss
            while True:
                peak_rss = max(peak_rss, rss_mb(pids))
                await asyncio.sleep(0.5)

        watcher = asyncio.create_task(watch_memory())
        # Session tokens first (HTTP), then every session opens its socket at once.
        tokens = await asyncio.gather(
            *(asyncio.to_thread(session_token, base, key, base) for _ in range(args.sessions))
        )
        deadline = time.monotonic() + args.timeout
        began = time.perf_counter()
        results = await asyncio.gather(
            *(
                _session(base, key, base, token, texts[i::7] or texts, args.messages, deadline)
                for i, token in enumerate(tokens)
            ),
            return_exceptions=True,
        )
        elapsed = time.perf_counter() - began
        watcher.cancel()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)

    sessions = [r for r in results if isinstance(r, SessionResult)]
    failures = [repr(r) for r in results if not isinstance(r, SessionResult)]
    expected = args.sessions * args.messages
    stored_ids, answered, extra_rows = _stored(database_url, env)
    stored = set(stored_ids)
    sent = [cid for r in sessions for cid in r.sent]
    acked = {cid for r in sessions for cid in r.acked}
    refused = {cid for r in sessions for cid in r.refused}
    latencies = [ms for r in sessions for ms in r.first_chunk_ms]
    history_duplicates = sum(len(r.history_ids) - len(set(r.history_ids)) for r in sessions)
    # Lost: acknowledged but not stored, sent and never answered (neither ack nor error), or
    # stored without the bot's reply. Messages refused with an error event are not lost.
    lost = (
        len(acked - stored)
        + sum(1 for cid in sent if cid not in acked and cid not in refused)
        + (len(stored) - answered)
    )
    duplicated = extra_rows + history_duplicates
    return {
        "chat_sessions": args.sessions,
        "chat_messages_sent": expected,
        "chat_messages_acknowledged": len(acked),
        "chat_messages_refused": len(refused),
        "chat_replies_received": sum(r.replies for r in sessions),
        "chat_messages_lost": lost,
        "chat_messages_duplicated": duplicated,
        "chat_first_chunk_p50_ms": percentile(latencies, 0.50, digits=1),
        "chat_first_chunk_p95_ms": percentile(latencies, 0.95, digits=1),
        "chat_first_chunk_mean_ms": round(statistics.fmean(latencies), 1) if latencies else 0.0,
        "chat_duration_s": round(elapsed, 1),
        "chat_messages_per_s": round(expected / elapsed, 1),
        "chat_server_workers": args.workers,
        "chat_server_rss_idle_mb": idle_rss,
        "chat_server_rss_peak_mb": peak_rss,
        "chat_session_errors": sum(len(r.errors) for r in sessions) + len(failures),
        "chat_failures_sample": failures[:3] + [e for r in sessions for e in r.errors][:3],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--messages", type=int, default=5)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--layout", choices=("production", "embedded"), default="production")
    parser.add_argument("--bot", action="store_true", help="build and talk to the demo shop bot")
    parser.add_argument("--epochs", type=int, default=2, help="the shop bot's NLU epochs")
    parser.add_argument("--rebuild", action="store_true", help="build the embedded bot again")
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--output", default="chat_load", help="result file name (no .json)")
    args = parser.parse_args()
    metrics = asyncio.run(_run(args))
    server = (
        "daphne, one process, SQLite, in-memory channel layer (make demo)"
        if args.layout == "embedded"
        else f"cs_platform.serve (uvicorn), {args.workers} worker(s), PostgreSQL + Redis channel "
        "layer"
    )
    replier = (
        "the demo shop bot (dialogue engine, trained NLU, knowledge base, flows)"
        if args.bot
        else "the dialogue engine on a workspace with no knowledge"
    )
    result = {
        "name": args.output,
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join(["python -m benchmarks.chat_load", *sys.argv[1:]]),
        "machine": machine(),
        "setup": f"{server}; {replier}; client and server on the same 2 cores, traffic on "
        "127.0.0.1",
        "metrics": metrics,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.output}.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
