"""Scripted conversations with the demo bots, end to end through the real WebSocket.

    .venv/bin/python -m benchmarks.conversations_eval [--reuse] [--only bank,shop]

Builds the product on its embedded default in ``var/bench-conversations`` (SQLite, in-memory
channel layer, Qdrant local mode, no generation model, so knowledge answers take the extractive
path): ``migrate``, ``demo_seed``, ``demo_bots`` (timed: the first run trains both NLU models;
``--reuse`` keeps an earlier build). Then it serves the ASGI app with daphne on a free loopback
port, exactly as ``make demo`` does, and plays every conversation in
``benchmarks/data/conversations/<bank|shop>.json`` one at a time: a customer socket with a widget
token, and, where a script hands over, an agent socket signed in through the login page that
claims the chat, answers and hands it back.

A conversation succeeds when every step does: the reply contains the words the script expects,
sources are shown where asked, the conversation's status is right after a handoff, the agent's
messages reach the customer, and each bot turn took the route the script expects (read from the
turn traces the server stored). Reported: task success per workspace, the failures with what was
expected and what came, the customer's latency from sending a message to the first reply chunk
(p50/p95), and each pipeline stage's latency from the traces (p50/p95). Writes
``benchmarks/results/<--output>.json``. Bounded by ``--timeout``; traffic goes to 127.0.0.1 only.
"""

import argparse
import asyncio
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any

import websockets
from websockets.typing import Origin

from benchmarks.common import free_port, machine, percentile

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
SCRIPTS = ROOT / "benchmarks" / "data" / "conversations"
VAR = ROOT / "var" / "bench-conversations"
ORIGIN = "http://127.0.0.1:8000"  # one of the demo workspaces' allowed origins
PASSWORD = "bench-conversations-password"  # noqa: S105 (the throwaway demo agent)
STAGES = ("safety_in", "load", "nlu", "state", "policy", "handler", "first_chunk", "total")
WAIT_S = 30.0


def _env() -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key
        not in {
            "DATABASE_URL",
            "REDIS_URL",
            "CELERY_BROKER_URL",
            "QDRANT_URL",
            "VLLM_BASE_URL",
            "DIALOGUE_REPLIER",
        }
    }
    env.update(
        DJANGO_SETTINGS_MODULE="cs_platform.settings.local",
        CS_VAR_DIR=str(VAR),
        LOG_LEVEL="WARNING",
        # Every scripted customer comes from 127.0.0.1, one message after another.
        CHAT_RATE_MESSAGES_PER_IP="100000/60",
        CHAT_RATE_MESSAGES_PER_SESSION="100000/60",
        WIDGET_RATE_TOKENS_PER_IP="100000/60",
    )
    return env


def _manage(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def build(reuse: bool) -> float | None:
    """The demo bots on a fresh embedded install; seconds for ``demo_bots`` (None when reused)."""
    if not reuse and VAR.exists():
        shutil.rmtree(VAR)
    VAR.mkdir(parents=True, exist_ok=True)
    _manage("migrate", "--noinput")
    _manage("demo_seed", "--password", PASSWORD)
    started = time.perf_counter()
    output = _manage("demo_bots")
    print(output.strip())
    built = "training the NLU model" in output
    return round(time.perf_counter() - started, 1) if built else None


def _http(
    url: str,
    *,
    opener: urllib.request.OpenerDirector | None = None,
    data: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> bytes:
    """One request to the loopback server."""
    request = urllib.request.Request(url, data=data, headers=headers or {})  # noqa: S310
    with (opener or urllib.request.build_opener()).open(request, timeout=30) as response:
        return bytes(response.read())


class Server:
    def __init__(self) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> "Server":
        daphne = Path(sys.executable).parent / "daphne"
        self.process = subprocess.Popen(
            [str(daphne), "-b", "127.0.0.1", "-p", str(self.port), "cs_platform.asgi:application"],
            cwd=ROOT,
            env=_env(),
            stdout=subprocess.DEVNULL,
            stderr=(VAR / "server.log").open("wb"),
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                _http(self.base + "/readyz")
                return self
            except OSError:
                time.sleep(0.5)
        raise SystemExit(f"the server did not become ready; see {VAR / 'server.log'}")

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)


def widget_token(base: str, key: str) -> str:
    answer = _http(
        f"{base}/api/v1/widget/{key}/session/",
        data=b"{}",
        headers={"Content-Type": "application/json", "Origin": ORIGIN},
    )
    return str(json.loads(answer)["token"])


def agent_cookie(base: str) -> str:
    """Signs the demo agent in through the login page; the session cookie for its socket."""
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    login = f"{base}/accounts/login/"
    _http(login, opener=opener)
    csrf = next(c.value for c in jar if c.name == "csrftoken")
    form = urllib.parse.urlencode(
        {"username": "agent", "password": PASSWORD, "csrfmiddlewaretoken": csrf}
    ).encode()
    _http(login, opener=opener, data=form, headers={"Referer": login})
    session = next((c.value for c in jar if c.name == "sessionid"), None)
    if session is None:
        raise SystemExit("the demo agent could not sign in")
    return f"sessionid={session}; csrftoken={csrf}"


class Socket:
    """One side of the chat: sends events, and waits for the ones a step needs."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.seen: list[dict[str, Any]] = []

    async def send(self, kind: str, **fields: Any) -> None:
        await self.connection.send(json.dumps({"v": 1, "type": kind, **fields}))

    async def until(self, match: Any, timeout: float = WAIT_S) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("no matching event")
            event = json.loads(await asyncio.wait_for(self.connection.recv(), timeout=remaining))
            self.seen.append(event)
            if match(event):
                return dict(event)

    async def close(self) -> None:
        await self.connection.close()


@dataclass
class Outcome:
    name: str
    ok: bool = True
    failures: list[str] = field(default_factory=list)
    first_chunk_ms: list[float] = field(default_factory=list)
    conversation_id: int | None = None
    expected_routes: list[tuple[int, Any, str]] = field(default_factory=list)  # step, route, text

    def fail(self, message: str) -> None:
        self.ok = False
        self.failures.append(message)


def _contains(text: str, expect: str | list[str] | None) -> bool:
    wanted = [expect] if isinstance(expect, str) else list(expect or [])
    return all(w.lower() in text.lower() for w in wanted)


class Conversation:
    def __init__(self, base: str, key: str, slug: str, cookie: str) -> None:
        self.base, self.key, self.slug, self.cookie = base, key, slug, cookie
        self.ws_base = base.replace("http", "ws", 1)
        self.token = ""
        self.customer: Socket | None = None
        self.agent: Socket | None = None
        self.last_id = 0

    async def connect(self) -> Socket:
        if not self.token:
            self.token = await asyncio.to_thread(widget_token, self.base, self.key)
        connection = await websockets.connect(
            f"{self.ws_base}/ws/widget/{self.key}/", origin=Origin(ORIGIN)
        )
        self.customer = Socket(connection)
        await self.customer.send("auth", token=self.token)
        for message in (await self.history())["messages"]:
            self.last_id = max(self.last_id, int(message["id"]))
        return self.customer

    async def history(self) -> dict[str, Any]:
        """The conversation and its messages after the last one seen (a ``sync``)."""
        assert self.customer is not None
        await self.customer.send("sync", after=self.last_id)
        return await self.customer.until(lambda e: e["type"] == "history")

    async def conversation_id(self) -> int:
        return int((await self.history())["conversation"]["id"])

    async def agent_socket(self) -> Socket:
        if self.agent is None:
            connection = await websockets.connect(
                f"{self.ws_base}/ws/agent/{self.slug}/",
                origin=Origin(ORIGIN),
                additional_headers={"Cookie": self.cookie},
            )
            self.agent = Socket(connection)
        return self.agent

    async def close(self) -> None:
        for side in (self.customer, self.agent):
            if side is not None:
                await side.close()


async def _say(chat: Conversation, step: dict[str, Any], index: int, outcome: Outcome) -> None:
    assert chat.customer is not None
    customer = chat.customer
    client_id = f"conv-{uuid.uuid4().hex[:12]}"
    sent = time.perf_counter()
    await customer.send("message.send", client_message_id=client_id, text=step["say"])
    if step.get("to_agent"):
        await customer.until(
            lambda e: (
                e["type"] == "message.new" and e["message"].get("client_message_id") == client_id
            )
        )
        outcome.expected_routes.append((index, None, step["say"]))
        return
    first: float | None = None

    def done_or_delta(event: dict[str, Any]) -> bool:
        nonlocal first
        if event["type"] == "message.delta" and first is None:
            first = (time.perf_counter() - sent) * 1000
        return event["type"] in ("message.done", "error")

    event = await customer.until(done_or_delta)
    if event["type"] == "error":
        outcome.fail(f"step {index} {step['say']!r}: error {event.get('code')}")
        return
    outcome.first_chunk_ms.append(
        first if first is not None else (time.perf_counter() - sent) * 1000
    )
    message = event["message"]
    chat.last_id = max(chat.last_id, int(message["id"]))
    text = str(message["text"])
    if not _contains(text, step.get("expect")):
        outcome.fail(f"step {index} {step['say']!r}: expected {step['expect']!r}, got {text!r}")
    if step.get("sources") and not message.get("sources"):
        outcome.fail(f"step {index} {step['say']!r}: no sources shown")
    if "route" in step:
        outcome.expected_routes.append((index, step["route"], step["say"]))
    if "status" in step:
        status = (await chat.history())["conversation"]["status"]
        if status != step["status"]:
            outcome.fail(f"step {index} {step['say']!r}: status {status}, not {step['status']}")


async def _agent(chat: Conversation, step: dict[str, Any], index: int, outcome: Outcome) -> None:
    agent = await chat.agent_socket()
    assert chat.customer is not None
    conversation_id = outcome.conversation_id or await chat.conversation_id()
    outcome.conversation_id = conversation_id
    if "agent_say" in step:
        await agent.send(
            "message.send",
            conversation_id=conversation_id,
            client_message_id=f"agent-{uuid.uuid4().hex[:12]}",
            text=step["agent_say"],
        )
        event = await chat.customer.until(
            lambda e: e["type"] == "message.new" and e["message"]["sender"] == "agent"
        )
        if event["message"]["text"] != step["agent_say"]:
            outcome.fail(f"step {index}: the agent's message arrived as {event['message']!r}")
        return
    action = step["agent"]
    expected = {"claim": "handoff.accepted", "release": "handoff.released"}[action]
    await agent.send(f"conversation.{action}", conversation_id=conversation_id)
    try:
        await chat.customer.until(lambda e: e["type"] == expected, timeout=20)
    except TimeoutError:
        outcome.fail(f"step {index}: agent {action}: the customer never saw {expected}")


async def play(base: str, key: str, slug: str, cookie: str, script: dict[str, Any]) -> Outcome:
    outcome = Outcome(name=script["name"])
    chat = Conversation(base, key, slug, cookie)
    try:
        await chat.connect()
        for index, step in enumerate(script["steps"]):
            if step.get("reconnect"):
                assert chat.customer is not None
                await chat.customer.close()
                await chat.connect()
            elif "say" in step:
                await _say(chat, step, index, outcome)
                if outcome.conversation_id is None:
                    outcome.conversation_id = await chat.conversation_id()
            else:
                await _agent(chat, step, index, outcome)
    except (TimeoutError, OSError, websockets.ConnectionClosed) as exc:
        outcome.fail(f"the conversation broke off: {exc!r}")
    finally:
        await chat.close()
    return outcome


def check_routes(database: Path, outcome: Outcome) -> list[dict[str, Any]]:
    """Compares each bot turn's stored route with the script; returns the turns' traces."""
    with sqlite3.connect(database) as db:
        rows = db.execute(
            "SELECT t.route, t.intent, t.data, m.text FROM dialogue_turntrace t "
            "JOIN chat_message m ON m.id = t.customer_message_id "
            "WHERE t.conversation_id = ? ORDER BY t.id",
            (outcome.conversation_id,),
        ).fetchall()
    by_text: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
    for route, intent, data, text in rows:
        by_text.setdefault(text, []).append((route, intent, json.loads(data)))
    traces = []
    for index, expected, text in outcome.expected_routes:
        turns = by_text.get(text, [])
        if expected is None:  # a message to the agent: no bot turn
            if turns:
                outcome.fail(f"step {index} {text!r}: the bot answered a message to the agent")
            continue
        if not turns:
            outcome.fail(f"step {index} {text!r}: no turn trace stored")
            continue
        route, intent, data = turns.pop(0)
        traces.append(data)
        allowed = expected if isinstance(expected, list) else [expected]
        if route not in allowed:
            reason = data.get("route", {}).get("reason", "")
            outcome.fail(
                f"step {index} {text!r}: route {route} (intent {intent}; {reason}), "
                f"not {'/'.join(allowed)}"
            )
    return traces


def _workspace_key(database: Path, slug: str) -> str:
    with sqlite3.connect(database) as db:
        row = db.execute("SELECT public_key FROM accounts_workspace WHERE slug = ?", (slug,))
        found = row.fetchone()
    if found is None:
        raise SystemExit(f"no workspace {slug!r}: the demo build did not make it")
    return str(found[0])


async def run_workspace(base: str, cookie: str, name: str, deadline: float) -> dict[str, Any]:
    spec = json.loads((SCRIPTS / f"{name}.json").read_text())
    database = VAR / "db.sqlite3"
    key = _workspace_key(database, spec["workspace"])
    outcomes: list[Outcome] = []
    traces: list[dict[str, Any]] = []
    for script in spec["conversations"]:
        if time.monotonic() > deadline:
            outcome = Outcome(name=script["name"])
            outcome.fail("not run: the benchmark's time ran out")
            outcomes.append(outcome)
            continue
        outcome = await play(base, key, spec["workspace"], cookie, script)
        if outcome.conversation_id is not None:
            traces += check_routes(database, outcome)
        outcomes.append(outcome)
        print(f"{name}: {'ok  ' if outcome.ok else 'FAIL'} {outcome.name}")
        for failure in outcome.failures:
            print(f"    {failure}")
    first_chunk = [ms for o in outcomes for ms in o.first_chunk_ms]
    stages = {
        stage: [float(t["latency_ms"][stage]) for t in traces if stage in t.get("latency_ms", {})]
        for stage in STAGES
    }
    succeeded = sum(o.ok for o in outcomes)
    return {
        "workspace": spec["workspace"],
        "conversations": len(outcomes),
        "succeeded": succeeded,
        "task_success_rate": round(succeeded / len(outcomes), 4),
        "bot_turns": len(first_chunk),
        "first_chunk_ms": {
            "p50": percentile(first_chunk, 0.5),
            "p95": percentile(first_chunk, 0.95),
        },
        "stage_latency_ms": {
            stage: {"p50": percentile(v, 0.5), "p95": percentile(v, 0.95)}
            for stage, v in stages.items()
            if v
        },
        "failures": {o.name: o.failures for o in outcomes if not o.ok},
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", default="bank,shop", help="comma-separated script files")
    parser.add_argument("--reuse", action="store_true", help="keep an earlier demo build")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds for the whole run")
    parser.add_argument("--output", default="conversations")
    args = parser.parse_args()
    started = time.monotonic()
    build_seconds = build(args.reuse)
    with Server() as server:
        cookie = agent_cookie(server.base)
        deadline = started + args.timeout
        workspaces = {
            name: asyncio.run(run_workspace(server.base, cookie, name, deadline))
            for name in args.only.split(",")
            if name
        }
    result = {
        "name": "conversations",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join(["python -m benchmarks.conversations_eval", *sys.argv[1:]]),
        "machine": machine(),
        "mode": "embedded default (SQLite, in-memory channel layer, extractive answers), daphne",
        "demo_bots_seconds": build_seconds,
        "metrics": {
            f"{name}_task_success_rate": w["task_success_rate"] for name, w in workspaces.items()
        }
        | {
            f"{name}_first_chunk_p95_ms": w["first_chunk_ms"]["p95"]
            for name, w in workspaces.items()
        },
        "workspaces": workspaces,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.output}.json").write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result["metrics"], indent=1))


if __name__ == "__main__":
    main()
