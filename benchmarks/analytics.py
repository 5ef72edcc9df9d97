"""Analytics at scale on PostgreSQL: the dashboard API, drill-down and exports over one
workspace with 1,000,000 turns in 200,000 conversations over 90 days, beside 9 other workspaces.

    .venv/bin/python -m benchmarks.analytics [--conversations 200000] [--turns 1000000]
        [--others 9] [--other-conversations 2000] [--repeat 20] [--reuse] [--generate-only]

``--reuse`` keeps the data an earlier run generated (same arguments; the run's ``now`` is kept
in the database's ``bench_meta`` table) and goes straight to step 1; without it, or when there
is no such data, the database is made afresh. ``--generate-only`` stops after generating.

The rows are BULK-GENERATED, not real traffic: random conversations, turns, traces, feedback,
handoffs and CSAT (seeded, ``random.Random(20)``) written with COPY into a fresh database
(``cs_bench_analytics``), shaped like what the bot stores (see ``_conversations``). Then:

1. ``analytics_rebuild`` of the big workspace, timed (``analytics_rollup_rebuild_s``);
2. the dashboard API for the last 30 days as an analyst calls it, in process (DRF test client,
   middleware included): summary, series, intents, models; p50/p95 over ``--repeat`` calls;
3. drill-down: a page of the conversations behind the handoff rate, and one conversation;
4. the same summary numbers without rollups: SQL over the raw tables (turn counts from the
   traces' JSON, latency percentiles, conversation counts and handoffs by reason; the resolution
   outcome needs each conversation's message gaps and is not computed raw);
5. the CSV export of every conversation (200,000) and of a tenth of them, each in a fresh
   process, reporting peak RSS (flat memory: the two peaks are close).

Writes ``benchmarks/results/analytics.json``.
"""

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

from benchmarks.common import machine, percentile

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
DB_NAME = "cs_bench_analytics"
DB_URL = f"postgres://postgres@127.0.0.1:5432/{DB_NAME}"
DAYS = 90
INTENTS = [f"intent_{i:02d}" for i in range(60)]
HANDOFF_REASONS = [
    "the customer asked for a person (the words)",
    "intent report_fraud (0.97) is marked sensitive",
    "low confidence (0.31 < 0.5), 2 turns in a row",
    "negative sentiment (0.91) for 2 turns in a row",
    "prompt_injection",
    "bot_error",
]


def _setup_django() -> None:
    os.environ["DATABASE_URL"] = DB_URL
    os.environ["DJANGO_SETTINGS_MODULE"] = "cs_platform.settings.local"
    for name in ("REDIS_URL", "CELERY_BROKER_URL", "QDRANT_URL", "VLLM_BASE_URL"):
        os.environ.pop(name, None)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def stored_run(args: argparse.Namespace) -> dict[str, Any] | None:
    """What an earlier run generated with these arguments, if the database still holds it."""
    try:
        with psycopg.connect(DB_URL) as connection:
            row = connection.execute(
                "SELECT args, now, generated, generate_s FROM bench_meta"
            ).fetchone()
    except psycopg.Error:
        return None
    if row is None or row[0] != _data_args(args):
        return None
    return {"now": row[1], "generated": row[2], "generate_s": row[3]}


def _data_args(args: argparse.Namespace) -> dict[str, int]:
    return {
        "conversations": args.conversations,
        "turns": args.turns,
        "others": args.others,
        "other_conversations": args.other_conversations,
    }


def fresh_database() -> None:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {DB_NAME}")


# --- bulk generation ---------------------------------------------------------------------------


def _turn_counts(rng: random.Random, conversations: int, turns: int) -> list[int]:
    """Turns per conversation, 1 to 9, adding up to exactly ``turns``."""
    counts = [rng.randint(1, 9) for _ in range(conversations)]
    while (total := sum(counts)) != turns:
        i = rng.randrange(conversations)
        if total > turns and counts[i] > 1:
            counts[i] -= 1
        elif total < turns and counts[i] < 9:
            counts[i] += 1
    return counts


def _trace(rng: random.Random, intent: str, route: str, reason: str) -> dict[str, Any]:
    engine = rng.choices(["vllm", "transformers", "extractive"], [80, 15, 5])[0]
    return {
        "version": 1,
        "nlu": {
            "intents": [{"name": intent, "score": round(rng.uniform(0.3, 1), 3)}],
            "oos": route == "clarify" and rng.random() < 0.5,
            "oos_score": round(rng.random(), 3),
            "slots": [],
            "sentiment": "neutral",
            "model": rng.choices(["nlu-v1", "nlu-v2"], [70, 30])[0],
        },
        "handler": {"unanswered": True} if route == "faq" and rng.random() < 0.05 else {},
        "inbound": {
            "redactions": {"EMAIL": 1} if rng.random() < 0.03 else {},
            "injection": {"flagged": rng.random() < 0.01},
        },
        "guard": {"blocked": rng.random() < 0.005, "reasons": []},
        "route": {"name": route, "reason": reason},
        "sources": [],
        "generator": (
            {"engine": engine, "adapter": "bench@3", "fallbacks": [], "broken": ""}
            if route == "faq"
            else {"engine": "EngineReplier"}
        ),
        "latency_ms": {
            "nlu": round(rng.lognormvariate(2.5, 0.4), 2),
            "handler": round(rng.lognormvariate(4, 0.6), 2),
            "first_chunk": round(rng.lognormvariate(5, 0.5), 2),
            "total": round(rng.lognormvariate(6, 0.6), 2),
        },
    }


class _Ids:
    def __init__(self) -> None:
        self.conversation = 0
        self.message = 0
        self.trace = 0
        self.feedback = 0


def _copy(cursor: Any, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _conversations(
    cursor: Any,
    rng: random.Random,
    ids: _Ids,
    *,
    workspace_id: int,
    agent_id: int,
    conversations: int,
    turns: int,
    now: datetime,
) -> None:
    """Writes one workspace's bulk-generated traffic, 5,000 conversations per COPY batch: 15%
    handed off (reasons spread evenly), 70% of those answered by an agent, 35% of conversations
    closed, 20% rated, 10% of replies thumbed (30% down), 15% from a returning customer."""
    counts = _turn_counts(rng, conversations, turns)
    start = now - timedelta(days=DAYS)
    sessions: list[uuid.UUID] = []
    for first in range(0, conversations, 5000):
        batch = counts[first : first + 5000]
        session_rows, conversation_rows, message_rows, agent_rows, trace_rows, feedback_rows = (
            [],
            [],
            [],
            [],
            [],
            [],
        )
        for n_turns in batch:
            ids.conversation += 1
            cid = ids.conversation
            created = start + timedelta(seconds=rng.uniform(0, DAYS * 86400 - 3600))
            if sessions and rng.random() < 0.15:
                session = rng.choice(sessions[-200:])
            else:
                session = uuid.UUID(int=rng.getrandbits(128))
                sessions.append(session)
                session_rows.append((session, workspace_id, "", created, created))
            handed = rng.random() < 0.15
            reason = rng.choice(HANDOFF_REASONS) if handed else ""
            when = created
            intent = rng.choice(INTENTS)
            for index in range(n_turns):
                route = "faq"
                route_reason = f"intent {intent} is answered from the knowledge base"
                if handed and index == n_turns - 1:
                    route, route_reason = "handoff", reason
                elif rng.random() < 0.08:
                    route, route_reason = "clarify", "low confidence (0.31 < 0.5)"
                ids.message += 2
                question, reply = ids.message - 1, ids.message
                message_rows.append(
                    (
                        question,
                        cid,
                        "customer",
                        f"question {index} about {intent}",
                        when,
                        "{}",
                        "[]",
                    )
                )
                message_rows.append(
                    (reply, cid, "bot", "an answer", when + timedelta(seconds=1), "{}", "[]")
                )
                data = _trace(rng, intent, route, route_reason)
                ids.trace += 1
                trace_rows.append(
                    (
                        ids.trace,
                        workspace_id,
                        cid,
                        question,
                        reply,
                        intent,
                        0.9,
                        route,
                        data["latency_ms"]["total"],
                        json.dumps(data),
                        when,
                    )
                )
                if rng.random() < 0.10:
                    ids.feedback += 1
                    rating = "down" if rng.random() < 0.3 else "up"
                    feedback_rows.append(
                        (ids.feedback, workspace_id, reply, rating, "", when, when)
                    )
                when += timedelta(seconds=rng.randint(10, 300))
            handoff_at = when if handed else None
            closed = None
            if handed and rng.random() < 0.7:
                ids.message += 1
                agent_at = when + timedelta(seconds=rng.randint(30, 900))
                agent_rows.append(
                    (ids.message, cid, "agent", "hello", agent_at, "{}", "[]", agent_id)
                )
                when = agent_at
            if rng.random() < 0.35:
                closed = when + timedelta(seconds=rng.randint(60, 3600))
            csat = rng.randint(1, 5) if rng.random() < 0.2 else None
            conversation_rows.append(
                (
                    cid,
                    workspace_id,
                    session,
                    "closed" if closed else "bot",
                    created,
                    when,
                    when,
                    closed,
                    csat,
                    "",
                    reason,
                    handoff_at,
                    "{}",
                )
            )
        _copy(
            cursor,
            "accounts_customersession",
            ("id", "workspace_id", "origin", "created_at", "last_seen_at"),
            session_rows,
        )
        _copy(
            cursor,
            "chat_conversation",
            (
                "id",
                "workspace_id",
                "customer_session_id",
                "status",
                "created_at",
                "updated_at",
                "last_message_at",
                "closed_at",
                "csat_score",
                "csat_comment",
                "handoff_reason",
                "handoff_requested_at",
                "pii_placeholders",
            ),
            conversation_rows,
        )
        _copy(
            cursor,
            "chat_message",
            ("id", "conversation_id", "sender", "text", "created_at", "pii_found", "sources"),
            message_rows,
        )
        _copy(
            cursor,
            "chat_message",
            (
                "id",
                "conversation_id",
                "sender",
                "text",
                "created_at",
                "pii_found",
                "sources",
                "agent_id",
            ),
            agent_rows,
        )
        _copy(
            cursor,
            "dialogue_turntrace",
            (
                "id",
                "workspace_id",
                "conversation_id",
                "customer_message_id",
                "reply_message_id",
                "intent",
                "intent_score",
                "route",
                "latency_ms",
                "data",
                "created_at",
            ),
            trace_rows,
        )
        _copy(
            cursor,
            "feedback_messagefeedback",
            ("id", "workspace_id", "message_id", "rating", "reason", "created_at", "updated_at"),
            feedback_rows,
        )


def generate(args: argparse.Namespace, now: datetime) -> dict[str, int]:
    from django.core.management import call_command

    call_command("migrate", "--noinput", verbosity=0)
    from apps.accounts.models import Membership, Role, User, Workspace

    main = Workspace.objects.create(name="Bench", slug="bench")
    others = [
        Workspace.objects.create(name=f"Other {i}", slug=f"other-{i}") for i in range(args.others)
    ]
    agent = User.objects.create_user("bench-agent")
    analyst = User.objects.create_user("bench-analyst")
    Membership.objects.create(user=analyst, workspace=main, role=Role.ANALYST)
    rng = random.Random(20)  # noqa: S311 (seeded bulk data, not secrets)
    ids = _Ids()
    with psycopg.connect(DB_URL) as connection, connection.cursor() as cursor:
        _conversations(
            cursor,
            rng,
            ids,
            workspace_id=main.id,
            agent_id=agent.id,
            conversations=args.conversations,
            turns=args.turns,
            now=now,
        )
        for other in others:
            _conversations(
                cursor,
                rng,
                ids,
                workspace_id=other.id,
                agent_id=agent.id,
                conversations=args.other_conversations,
                turns=args.other_conversations * 5,
                now=now,
            )
        for table in (
            "chat_conversation",
            "chat_message",
            "dialogue_turntrace",
            "feedback_messagefeedback",
        ):
            sequence = f"pg_get_serial_sequence('{table}', 'id')"
            cursor.execute(f"SELECT setval({sequence}, (SELECT max(id) FROM {table}))")  # noqa: S608 (our table names)
        connection.commit()
    with psycopg.connect(DB_URL, autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")
    return {"traces": ids.trace, "messages": ids.message, "conversations": ids.conversation}


def remember(
    args: argparse.Namespace, now: datetime, generated: dict[str, int], seconds: float
) -> None:
    with psycopg.connect(DB_URL) as connection:
        connection.execute(
            "CREATE TABLE bench_meta"
            " (args jsonb, now timestamptz, generated jsonb, generate_s float)"
        )
        connection.execute(
            "INSERT INTO bench_meta VALUES (%s, %s, %s, %s)",
            (
                json.dumps(_data_args(args)),
                now,
                json.dumps(generated),
                seconds,
            ),
        )


# --- measuring ---------------------------------------------------------------------------------


def _timed(call: Any, repeat: int) -> dict[str, float]:
    call()  # warm
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return {"p50": round(statistics.median(times), 1), "p95": percentile(times, 0.95, 1)}


RAW_SUMMARY = """
WITH t AS (
  SELECT tt.route, tt.data, tt.reply_message_id
  FROM dialogue_turntrace tt
  WHERE tt.workspace_id = %(ws)s AND tt.created_at >= %(start)s AND tt.created_at < %(end)s
)
SELECT count(*),
  count(*) FILTER (WHERE route = 'clarify'),
  count(*) FILTER (WHERE (data->'nlu'->>'oos')::boolean),
  count(*) FILTER (WHERE (data->'guard'->>'blocked')::boolean),
  count(*) FILTER (WHERE (data->'inbound'->'injection'->>'flagged')::boolean),
  count(*) FILTER (WHERE route = 'faq' AND data->'generator'->>'engine' = 'vllm'),
  count(*) FILTER (WHERE route = 'faq' AND data->'generator'->>'engine' = 'transformers'),
  count(*) FILTER (WHERE route = 'faq' AND data->'generator'->>'engine' = 'extractive'),
  (SELECT count(*) FROM t JOIN feedback_messagefeedback f ON f.message_id = t.reply_message_id
     WHERE f.rating = 'down'),
  percentile_disc(ARRAY[0.5, 0.9, 0.99])
    WITHIN GROUP (ORDER BY (data->'latency_ms'->>'total')::float),
  percentile_disc(ARRAY[0.5, 0.9, 0.99])
    WITHIN GROUP (ORDER BY (data->'latency_ms'->>'first_chunk')::float)
FROM t;
"""
RAW_CONVERSATIONS = """
SELECT count(*), count(*) FILTER (WHERE c.handoff_requested_at IS NOT NULL),
  count(*) FILTER (WHERE c.handoff_reason = 'bot_error'),
  count(*) FILTER (WHERE c.csat_score IS NOT NULL), avg(c.csat_score),
  count(*) FILTER (WHERE c.handoff_requested_at IS NULL AND NOT EXISTS (
    SELECT 1 FROM chat_message m WHERE m.conversation_id = c.id AND m.sender = 'agent'))
FROM chat_conversation c
WHERE c.workspace_id = %(ws)s AND c.created_at >= %(start)s AND c.created_at < %(end)s
  AND EXISTS (
    SELECT 1 FROM chat_message m WHERE m.conversation_id = c.id AND m.sender = 'customer');
"""


def measure(args: argparse.Namespace, now: datetime) -> dict[str, Any]:
    from rest_framework.test import APIClient

    from apps.accounts.models import User, Workspace
    from apps.analytics.services import analytics_rebuild

    main = Workspace.objects.get(slug="bench")
    started = time.perf_counter()
    rebuilt = analytics_rebuild(workspace=main, now=now)
    rebuild_s = round(time.perf_counter() - started, 1)
    for other in Workspace.objects.exclude(id=main.id):
        analytics_rebuild(workspace=other, now=now)
    with psycopg.connect(DB_URL, autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")

    client = APIClient(HTTP_HOST="127.0.0.1")
    client.force_authenticate(User.objects.get(username="bench-analyst"))
    end = (now + timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
    window = {"start": (end - timedelta(days=30)).isoformat(), "end": end.isoformat()}
    base = "/api/v1/workspaces/bench/analytics/"

    def get(path: str, **params: Any) -> Any:
        response = client.get(base + path, {**window, **params})
        assert response.status_code == 200, response.content[:300]
        return response

    summary = _timed(lambda: get("summary/"), args.repeat)
    series = _timed(
        lambda: get("series/", metric="automated_resolution", bucket="day"), args.repeat
    )
    series_hour = _timed(lambda: get("series/", metric="turns", bucket="hour"), args.repeat)
    intents = _timed(lambda: get("intents/"), args.repeat)
    models = _timed(lambda: get("models/"), args.repeat)
    filtered = _timed(lambda: get("summary/", intent="intent_07", handed_off="false"), args.repeat)
    drill = _timed(lambda: get("conversations/", metric="handoff", limit=50), args.repeat)
    drill_bucket = _timed(
        lambda: get(
            "conversations/",
            metric="thumbs_down",
            bucket="day",
            bucket_start=(end - timedelta(days=3)).isoformat(),
            limit=50,
        ),
        args.repeat,
    )
    some = json.loads(get("conversations/", metric="handoff", limit=1).content)["results"][0]
    detail = _timed(lambda: get(f"conversations/{some['conversation_id']}/"), args.repeat)
    body = json.loads(get("summary/").content)

    params = {"ws": main.id, "start": end - timedelta(days=30), "end": end}
    with psycopg.connect(DB_URL) as connection:
        raw_turns = _timed(
            lambda: connection.execute(RAW_SUMMARY, params).fetchall(), max(3, args.repeat // 4)
        )
        raw_conversations = _timed(
            lambda: connection.execute(RAW_CONVERSATIONS, params).fetchall(),
            max(3, args.repeat // 4),
        )
        raw = connection.execute(RAW_SUMMARY, params).fetchone()
    return {
        "rebuild_s": rebuild_s,
        "rebuilt": rebuilt.__dict__,
        "summary": summary,
        "series_day": series,
        "series_hour": series_hour,
        "intents": intents,
        "models": models,
        "summary_filtered": filtered,
        "drill": drill,
        "drill_bucket": drill_bucket,
        "detail": detail,
        "raw_turns": raw_turns,
        "raw_conversations": raw_conversations,
        "check": {
            "rollup_turns_30d": body["metrics"]["turns"]["current"]["value"],
            "raw_turns_30d": raw[0],
            "rollup_clarify": body["metrics"]["clarify"]["current"]["k"],
            "raw_clarify": raw[1],
            "rollup_latency_total_p50": body["latency"]["total"]["current"]["p50"],
            "raw_latency_total_p50": raw[9][0],
            "conversations_30d": body["metrics"]["conversations"]["current"]["value"],
        },
    }


def export_child(days: int) -> None:
    """In a fresh process: stream the conversation CSV of the last ``days`` days, print the rows
    and the peak RSS."""
    _setup_django()
    from rest_framework.test import APIClient

    from apps.accounts.models import User

    client = APIClient(HTTP_HOST="127.0.0.1")
    client.force_authenticate(User.objects.get(username="bench-analyst"))
    end = datetime.now(UTC) + timedelta(hours=1)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    response = client.get(
        "/api/v1/workspaces/bench/analytics/export/conversations.csv",
        {"start": (end - timedelta(days=days)).isoformat(), "end": end.isoformat()},
    )
    rows = -1
    size = 0
    for chunk in response.streaming_content:
        rows += chunk.count(b"\n")
        size += len(chunk)
    print(
        json.dumps(
            {
                "rows": rows,
                "mb": round(size / 1e6, 1),
                "seconds": round(time.perf_counter() - started, 1),
                "rss_before_mb": round(before / 1024, 1),
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            }
        )
    )


def export(days: int) -> dict[str, Any]:
    output = subprocess.run(
        [sys.executable, "-m", "benchmarks.analytics", "--export-child", str(days)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--conversations", type=int, default=200_000)
    parser.add_argument("--turns", type=int, default=1_000_000)
    parser.add_argument("--others", type=int, default=9)
    parser.add_argument("--other-conversations", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--export-child", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--output", default="analytics")
    parser.add_argument("--reuse", action="store_true", help="keep an earlier run's data")
    parser.add_argument("--generate-only", action="store_true")
    args = parser.parse_args()
    if args.export_child:
        export_child(args.export_child)
        return
    stored = stored_run(args) if args.reuse else None
    if stored is not None:
        now, generated, generate_s = stored["now"], stored["generated"], stored["generate_s"]
        _setup_django()
        from django.core.management import call_command

        call_command("migrate", "--noinput", verbosity=0)
        print(f"reusing the data generated at {now.isoformat()}: {generated}", flush=True)
    else:
        now = datetime.now(UTC)
        fresh_database()
        _setup_django()
        started = time.perf_counter()
        generated = generate(args, now)
        generate_s = round(time.perf_counter() - started, 1)
        remember(args, now, generated, generate_s)
        print(f"generated {generated} in {generate_s}s", flush=True)
    if args.generate_only:
        return
    measured = measure(args, now)
    print(json.dumps(measured, indent=1), flush=True)
    export_all = export(DAYS + 1)
    export_tenth = export(9)
    result = {
        "name": "analytics",
        "when": now.isoformat(timespec="seconds"),
        "command": " ".join([".venv/bin/python -m benchmarks.analytics", *sys.argv[1:]]),
        "machine": machine(),
        "data": {
            "bulk_generated": True,
            "reused": stored is not None,
            "generated": generated,
            "generate_s": generate_s,
            "other_workspaces": args.others,
            "other_workspace_conversations": args.other_conversations,
            "window_days": 30,
            "database": "PostgreSQL 15 (local, default settings)",
        },
        "metrics": {
            "analytics_turns": args.turns,
            "analytics_conversations": args.conversations,
            "analytics_dashboard_p95_ms": measured["summary"]["p95"],
            "analytics_dashboard_p50_ms": measured["summary"]["p50"],
            "analytics_dashboard_filtered_p95_ms": measured["summary_filtered"]["p95"],
            "analytics_series_day_p95_ms": measured["series_day"]["p95"],
            "analytics_series_hour_p95_ms": measured["series_hour"]["p95"],
            "analytics_intents_p95_ms": measured["intents"]["p95"],
            "analytics_models_p95_ms": measured["models"]["p95"],
            "analytics_drilldown_p95_ms": measured["drill"]["p95"],
            "analytics_drilldown_bucket_p95_ms": measured["drill_bucket"]["p95"],
            "analytics_conversation_detail_p95_ms": measured["detail"]["p95"],
            "analytics_rollup_rebuild_s": measured["rebuild_s"],
            "analytics_dashboard_no_rollup_p95_ms": round(
                measured["raw_turns"]["p95"] + measured["raw_conversations"]["p95"], 1
            ),
            "analytics_no_rollup_turn_metrics_p95_ms": measured["raw_turns"]["p95"],
            "analytics_no_rollup_conversation_counts_p95_ms": measured["raw_conversations"]["p95"],
            "analytics_export_rows": export_all["rows"],
            "analytics_export_peak_rss_mb": export_all["peak_rss_mb"],
            "analytics_export_tenth_peak_rss_mb": export_tenth["peak_rss_mb"],
            "analytics_export_seconds": export_all["seconds"],
        },
        "details": {"measured": measured, "export_all": export_all, "export_tenth": export_tenth},
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.output}.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result["metrics"], indent=2))


if __name__ == "__main__":
    main()
