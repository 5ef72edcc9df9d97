"""Blind conversations with the demo bots, graded turn by turn through the real WebSocket.

    .venv/bin/python -m benchmarks.conversations_blind --set before [--reuse]
    .venv/bin/python -m benchmarks.conversations_blind --set fresh --reuse

The sets in ``benchmarks/data/conversations/blind/<set>/{shop,bank}.json`` were written by
writers who had read nothing but ``blind/BRIEF.md`` (the companies' public description, their
help-centre index, the bots' actions and policies): never the bots' code, training data or
articles. Each set is frozen once written: ``before`` was written and run before the
conversation-control work; ``after_1`` after most of it, by a second writer who never saw
``before`` (run once, then its failures were read and a few classes fixed, so it is no longer
blind); ``fresh`` after the last change, by a third writer who saw neither.

The product is built on its embedded default exactly as ``benchmarks.conversations_eval`` builds
it (SQLite, in-memory channel layer, Qdrant local mode, extractive answers) and served by daphne
on loopback. Every conversation gets its own widget session; every customer turn is graded from
what the customer received and the turn trace the server stored:

- ``answer`` + ``topic``: the knowledge base answered (route ``faq``) and the passage it answered
  from (the first source shown) belongs to the topic: for the bank, the article with that title;
  for the shop, an article of the topic's intents (``SHOP_TOPICS``, fixed before any run);
- ``flow`` + ``flow`` + ``step``: route ``flow``, that flow, and the step (``ask``, ``confirm``,
  ``done``: the action ran, ``cancelled``);
- ``handoff``: the turn handed the chat to a person;
- ``smalltalk``: answered as conversation (route ``smalltalk``);
- ``decline``: no article and no flow: the bot asked to rephrase, said it can't help, offered a
  person or handed over.

On every reply, in every set: no ``{{...}}`` template slot, and no redaction placeholder
(``<PERSON_1>``) that the customer's own stored messages don't contain; in a Chinese
conversation every reply contains Chinese. A conversation passes when every turn does.

Writes ``benchmarks/results/conversations_blind.json``: the metrics of each set under its prefix
(``blind_`` for ``fresh``, ``blind_after_1_``, ``blind_before_``), keeping the other sets'
entries, with the commit each set was run on and every turn's transcript. Bounded by
``--timeout``; traffic goes to 127.0.0.1 only.
"""

import argparse
import asyncio
import json
import re
import sqlite3
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import websockets

from benchmarks.common import machine, percentile
from benchmarks.conversations_eval import (
    RESULTS,
    ROOT,
    SCRIPTS,
    VAR,
    Conversation,
    Server,
    _workspace_key,
    build,
)

SETS = SCRIPTS / "blind"
OUTPUT = RESULTS / "conversations_blind.json"
PREFIX = {"fresh": "blind_", "after_1": "blind_after_1_", "before": "blind_before_"}
SLUG = {"demo-shop": "shop", "demo-bank": "bank"}
DATABASE_SLUG = {"demo-shop": "demo", "demo-bank": "demo-bank"}  # the shop was made first
# The shop's help-centre topics (BRIEF.md) and the intents whose articles answer each.
SHOP_TOPICS: dict[str, set[str]] = {
    "cancel order": {"cancel_order"},
    "change order": {"change_order"},
    "change shipping address": {"change_shipping_address"},
    "cancellation fee": {"check_cancellation_fee"},
    "invoice": {"check_invoice", "get_invoice"},
    "payment methods": {"check_payment_methods"},
    "payment problem": {"payment_issue"},
    "refund policy": {"check_refund_policy", "get_refund"},
    "get refund": {"get_refund", "check_refund_policy"},
    "track refund": {"track_refund"},
    "contact customer service": {"contact_customer_service"},
    "create account": {"create_account"},
    "delete account": {"delete_account"},
    "edit account": {"edit_account"},
    "switch account": {"switch_account"},
    "recover password": {"recover_password"},
    "registration problem": {"registration_problems"},
    "delivery options": {"delivery_options"},
    "delivery time": {"delivery_period"},
    "set up shipping address": {"set_up_shipping_address"},
    "newsletter": {"newsletter_subscription"},
    "place order": {"place_order"},
    "review": {"review"},
}
STEPS = {"ask": "ask", "confirm": "confirm", "done": "act", "cancelled": "cancelled"}
SLOT = re.compile(r"\{\{|\}\}")
PLACEHOLDER = re.compile(r"<[A-Z]+(?:_[A-Z]+)*_\d+>")
CHINESE = re.compile(r"[\u4e00-\u9fff]")
WAIT_S = 60.0


@dataclass
class Graded:
    name: str
    language: str
    turns: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(t["ok"] for t in self.turns)


def _source_article(db: sqlite3.Connection, chunk_id: str) -> tuple[str, list[str]] | None:
    row = db.execute(
        "SELECT a.title, a.intents FROM knowledge_knowledgechunk c "
        "JOIN knowledge_article a ON a.id = c.article_id WHERE c.chunk_id = ?",
        (chunk_id,),
    ).fetchone()
    return (str(row[0]), list(json.loads(row[1]))) if row else None


def _trace(db: sqlite3.Connection, conversation_id: int, text: str, nth: int) -> dict[str, Any]:
    """The stored trace of the ``nth`` customer message with this (redacted) text."""
    rows = db.execute(
        "SELECT t.route, t.intent, t.data FROM dialogue_turntrace t "
        "JOIN chat_message m ON m.id = t.customer_message_id "
        "WHERE t.conversation_id = ? AND m.text = ? ORDER BY t.id",
        (conversation_id, text),
    ).fetchall()
    if len(rows) <= nth:
        return {}
    route, intent, data = rows[nth]
    stored = json.loads(data)
    return {**stored, "route": route, "intent": intent, "reason": stored.get("route", {})}


def grade(
    turn: dict[str, Any],
    reply: dict[str, Any],
    trace: dict[str, Any],
    *,
    workspace: str,
    language: str,
    customer_texts: list[str],
    db: sqlite3.Connection,
) -> list[str]:
    """What is wrong with one bot turn (empty when it passes)."""
    problems = []
    text = str(reply.get("text", ""))
    route = trace.get("route", "")
    sources = list(reply.get("sources") or [])
    expect = turn["expect"]
    if expect == "answer":
        found = _source_article(db, str(sources[0].get("id"))) if sources else None
        if route != "faq" or found is None:
            problems.append(f"expected an answer about {turn['topic']!r}: route {route}")
        else:
            title, intents = found
            wanted = SHOP_TOPICS.get(turn["topic"], set())
            right = (
                title == turn["topic"] if workspace == "demo-bank" else bool(wanted & {*intents})
            )
            if not right:
                problems.append(f"expected {turn['topic']!r}, answered from {title!r} {intents}")
    elif expect == "flow":
        handler = trace.get("handler", {})
        step = handler.get("step")
        if route != "flow" or handler.get("flow") != turn["flow"]:
            problems.append(f"expected flow {turn['flow']}: route {route} {handler.get('flow')}")
        elif "step" in turn and step != STEPS[turn["step"]]:
            problems.append(f"expected flow step {turn['step']}, got {step}")
    elif expect == "handoff":
        if route != "handoff":
            problems.append(f"expected a handoff: route {route}")
    elif expect == "smalltalk":
        if route != "smalltalk":
            problems.append(f"expected small talk: route {route}")
    elif expect == "decline":
        if route == "flow" or (route == "faq" and sources):
            problems.append(f"expected a decline: route {route} with {len(sources)} sources")
    else:
        problems.append(f"unknown expectation {expect!r}")
    if SLOT.search(text):
        problems.append("the reply shows a template slot")
    own = {m for t in customer_texts for m in PLACEHOLDER.findall(t)}
    if stray := set(PLACEHOLDER.findall(text)) - own:
        problems.append(f"the reply shows placeholders the customer didn't cause: {sorted(stray)}")
    if language == "zh" and not CHINESE.search(text):
        problems.append("a Chinese conversation got a reply without Chinese")
    return problems


async def _send(chat: Conversation, text: str) -> tuple[dict[str, Any], float]:
    assert chat.customer is not None
    client_id = f"blind-{uuid.uuid4().hex[:12]}"
    sent = time.perf_counter()
    first: float | None = None

    def done(event: dict[str, Any]) -> bool:
        nonlocal first
        if event["type"] == "message.delta" and first is None:
            first = (time.perf_counter() - sent) * 1000
        return event["type"] in ("message.done", "error")

    await chat.customer.send("message.send", client_message_id=client_id, text=text)
    event = await chat.customer.until(done, timeout=WAIT_S)
    elapsed = first if first is not None else (time.perf_counter() - sent) * 1000
    if event["type"] == "error":
        return {"text": "", "error": event.get("code")}, elapsed
    return dict(event["message"]), elapsed


async def play(base: str, key: str, workspace: str, script: dict[str, Any]) -> Graded:
    graded = Graded(name=script["name"], language=script.get("language", "en"))
    chat = Conversation(base, key, workspace, cookie="")
    database = VAR / "db.sqlite3"
    seen: dict[str, int] = {}
    try:
        await chat.connect()
        conversation_id = 0  # the conversation starts with the first message
        for turn in script["turns"]:
            reply, first_ms = await _send(chat, turn["say"])
            conversation_id = conversation_id or await chat.conversation_id()
            with sqlite3.connect(database) as db:
                stored = [
                    str(r[0])
                    for r in db.execute(
                        "SELECT text FROM chat_message WHERE conversation_id = ? "
                        "AND sender = 'customer' ORDER BY id",
                        (conversation_id,),
                    )
                ]
                text = stored[-1] if stored else turn["say"]
                nth = seen.get(text, 0)
                seen[text] = nth + 1
                trace = _trace(db, conversation_id, text, nth)
                problems = grade(
                    turn,
                    reply,
                    trace,
                    workspace=workspace,
                    language=graded.language,
                    customer_texts=stored,
                    db=db,
                )
            graded.turns.append(
                {
                    "say": turn["say"],
                    "expect": {k: v for k, v in turn.items() if k != "say"},
                    "reply": str(reply.get("text", ""))[:400],
                    "route": trace.get("route"),
                    "intent": trace.get("intent"),
                    "reason": (trace.get("route") and trace.get("reason", {}).get("reason", "")),
                    "sources": [s.get("title") for s in reply.get("sources") or []][:3],
                    "first_chunk_ms": round(first_ms, 1),
                    "ok": not problems,
                    "problems": problems,
                }
            )
            if trace.get("route") == "handoff":
                break
    except (TimeoutError, OSError, websockets.ConnectionClosed) as exc:
        graded.turns.append({"say": "", "ok": False, "problems": [f"broke off: {exc!r}"]})
    finally:
        await chat.close()
    return graded


async def run_set(base: str, set_name: str, deadline: float) -> dict[str, Any]:
    database = VAR / "db.sqlite3"
    workspaces: dict[str, Any] = {}
    for path in sorted((SETS / set_name).glob("*.json")):
        spec = json.loads(path.read_text())
        workspace = spec["workspace"]
        key = _workspace_key(database, DATABASE_SLUG[workspace])
        graded: list[Graded] = []
        for script in spec["conversations"]:
            if time.monotonic() > deadline:
                late = Graded(name=script["name"], language=script.get("language", "en"))
                late.turns.append({"say": "", "ok": False, "problems": ["not run: time ran out"]})
                graded.append(late)
                continue
            graded.append(await play(base, key, workspace, script))
            print(f"{SLUG[workspace]}: {'ok  ' if graded[-1].ok else 'FAIL'} {graded[-1].name}")
            for turn in graded[-1].turns:
                for problem in turn["problems"]:
                    print(f"    {turn['say']!r}: {problem}")
        turns = [t for g in graded for t in g.turns]
        workspaces[SLUG[workspace]] = {
            "workspace": workspace,
            "file": str(path.relative_to(ROOT)),
            "written_by": spec.get("written_by"),
            "conversations": len(graded),
            "conversations_passed": sum(g.ok for g in graded),
            "turns": len(turns),
            "turns_passed": sum(t["ok"] for t in turns),
            "placeholder_violations": sum(
                any("slot" in p or "placeholder" in p for p in t["problems"]) for t in turns
            ),
            "first_chunk_ms": {
                "p50": percentile(
                    [t["first_chunk_ms"] for t in turns if "first_chunk_ms" in t], 0.5
                ),
                "p95": percentile(
                    [t["first_chunk_ms"] for t in turns if "first_chunk_ms" in t], 0.95
                ),
            },
            "transcripts": [
                {"name": g.name, "language": g.language, "ok": g.ok, "turns": g.turns}
                for g in graded
            ],
        }
    return workspaces


def _metrics(prefix: str, workspaces: dict[str, Any]) -> dict[str, float | int]:
    conversations = sum(w["conversations"] for w in workspaces.values())
    turns = sum(w["turns"] for w in workspaces.values())
    metrics: dict[str, float | int] = {
        f"{prefix}conversation_pass_rate": round(
            sum(w["conversations_passed"] for w in workspaces.values()) / max(conversations, 1), 4
        ),
        f"{prefix}turn_pass_rate": round(
            sum(w["turns_passed"] for w in workspaces.values()) / max(turns, 1), 4
        ),
        f"{prefix}placeholder_violations": sum(
            w["placeholder_violations"] for w in workspaces.values()
        ),
    }
    for slug, w in workspaces.items():
        metrics[f"{prefix}{slug}_conversation_pass_rate"] = round(
            w["conversations_passed"] / max(w["conversations"], 1), 4
        )
        metrics[f"{prefix}{slug}_turn_pass_rate"] = round(w["turns_passed"] / max(w["turns"], 1), 4)
    return metrics


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--set", choices=sorted(PREFIX), required=True)
    parser.add_argument("--reuse", action="store_true", help="keep an earlier demo build")
    parser.add_argument("--timeout", type=float, default=2400, help="seconds for the whole run")
    args = parser.parse_args()
    started = time.monotonic()
    build_seconds = build(args.reuse)
    with Server() as server:
        workspaces = asyncio.run(run_set(server.base, args.set, started + args.timeout))
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    previous = json.loads(OUTPUT.read_text()) if OUTPUT.exists() else {"sets": {}}
    sets = {
        **previous.get("sets", {}),
        args.set: {
            "command": " ".join(["python -m benchmarks.conversations_blind", *sys.argv[1:]]),
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "code": commit,
            "demo_bots_seconds": build_seconds,
            "metrics": _metrics(PREFIX[args.set], workspaces),
            "workspaces": workspaces,
        },
    }
    result = {
        "name": "conversations_blind",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "mode": "embedded default (SQLite, in-memory channel layer, extractive answers), daphne",
        "metrics": {k: v for s in sets.values() for k, v in s["metrics"].items()},
        "sets": sets,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    print(json.dumps(sets[args.set]["metrics"], indent=1))


if __name__ == "__main__":
    main()
