"""The product's Prometheus metrics: defined here, at the bottom layer, so every app can count.

An observation is one call where the thing happens (``RESPONSE_CACHE_LOOKUPS.labels(result=
"hit").inc()``, ``turn_observe(...)``). Labels take values from small fixed sets (routes,
stages, PII types, reason codes): never a customer, conversation, message or workspace id, so
the number of series stays bounded however many customers and workspaces there are.

Several processes (the web server's workers, a Celery worker's pool) each count in files under
``PROMETHEUS_MULTIPROC_DIR`` when it is set (``apps.core.metrics_process``), and a scrape adds
them up; without it a process counts in memory (the embedded default, tests). What is counted
from the database at scrape time (the agents' queue, unanswered messages) is in
``cs_platform.metrics``, which serves ``/metrics``. README "Operations" lists every metric.
"""

import time
from collections.abc import Callable, Mapping
from typing import Any

from django.db.backends.signals import connection_created
from django_prometheus.db import metrics as database_metrics
from prometheus_client import Counter, Gauge, Histogram

# Seconds: a stage takes milliseconds, a generated answer seconds.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
# Characters of a customer's message (MESSAGE_MAX_CHARS is 4000 by default) or an answer.
LENGTH_BUCKETS = (10, 25, 50, 100, 200, 400, 800, 1600, 3200, 6400)

# --- turns -------------------------------------------------------------------------------------

TURNS = Counter(
    "cs_turns",
    "Bot turns stored, by route and outcome (replied, not_found, blocked).",
    ["route", "outcome"],
)
TURN_STAGE_SECONDS = Histogram(
    "cs_turn_stage_seconds",
    "Time a bot turn spent in each stage (the stage names of the turn trace's latency_ms).",
    ["stage"],
    buckets=LATENCY_BUCKETS,
)
TURN_FIRST_CHUNK_SECONDS = Histogram(
    "cs_turn_first_chunk_seconds",
    "From the start of a bot turn to the first reply text released to the customer.",
    buckets=LATENCY_BUCKETS,
)
TURN_SECONDS = Histogram(
    "cs_turn_seconds",
    "A whole bot turn, from its start to the stored reply.",
    buckets=LATENCY_BUCKETS,
)
NLU_INPUT_CHARS = Histogram(
    "cs_nlu_input_chars",
    "Length in characters of the customer messages the bot answered (the NLU model's input).",
    buckets=LENGTH_BUCKETS,
)
GENERATED_ANSWER_CHARS = Histogram(
    "cs_generated_answer_chars",
    "Length in characters of the answers the generator chain wrote (vLLM, in process or "
    "extractive); vLLM's own vllm:request_generation_tokens counts its tokens.",
    ["path"],
    buckets=LENGTH_BUCKETS,
)
ANSWERS = Counter(
    "cs_answers",
    "Knowledge answers by the path of the generator chain that wrote them.",
    ["path"],
)
GUARD_BLOCKS = Counter(
    "cs_guard_blocks",
    "Replies the output guard blocked, by reason (pii, system_prompt, blocked_term).",
    ["reason"],
)

# --- response cache (apps.dialogue) ------------------------------------------------------------

RESPONSE_CACHE_LOOKUPS = Counter(
    "cs_response_cache_lookups",
    "Response cache lookups by stage (nlu, retrieval, answer): hit, miss, joined (waited for "
    "the same computation already running), or skip (the text may not be cached).",
    ["stage", "result"],
)
RESPONSE_CACHE_SAVED_SECONDS = Counter(
    "cs_response_cache_saved_seconds",
    "Seconds saved by cache hits, by stage (each hit saves what computing its entry took).",
    ["stage"],
)

# --- chat and safety ----------------------------------------------------------------------------

WEBSOCKETS_OPEN = Gauge(
    "cs_websockets_open",
    "WebSockets open now, by socket (customer, agent).",
    ["socket"],
    # Summed over the live worker processes: a dead worker's sockets are gone with it.
    multiprocess_mode="livesum",
)
CONVERSATIONS_STARTED = Counter(
    "cs_conversations_started", "Conversations started by customers (the bot answers first)."
)
CSAT_SCORES = Counter(
    "cs_csat_scores",
    "Satisfaction ratings customers gave their conversation, by score (1 to 5; 4 and 5 count as "
    "satisfied, as in analytics' csat_satisfied).",
    ["score"],
)
HANDOFFS = Counter(
    "cs_handoffs",
    "Conversations handed to the agents' queue, by reason: customer_request, prompt_injection, "
    "bot_error, or dialogue (the dialogue policy's own rules; analytics breaks those down).",
    ["reason"],
)
REDACTIONS = Counter(
    "cs_redactions",
    "Personal data redacted, by source (customer, knowledge) and PII type.",
    ["source", "type"],
)
INJECTIONS_FLAGGED = Counter(
    "cs_injections_flagged",
    "Texts the prompt-injection detector flagged, by source (customer, document).",
    ["source"],
)

# --- Celery -------------------------------------------------------------------------------------

CELERY_TASKS = Counter(
    "cs_celery_tasks",
    "Celery tasks finished, by task name and state (succeeded, failed, retried).",
    ["task", "state"],
)
CELERY_TASK_SECONDS = Histogram(
    "cs_celery_task_seconds",
    "Run time of Celery tasks, by task name.",
    ["task"],
    buckets=LATENCY_BUCKETS,
)

# --- bounding label values ----------------------------------------------------------------------

# The turn trace's latency keys: the engine's stages, then the turn's own (``generate`` runs from
# the turn's start to the end of the reply stream, so it includes the stages before it).
TURN_STAGES = (
    "safety_in",
    "load",
    "nlu",
    "state",
    "policy",
    "retrieval",
    "handler",
    "generation",
    "guard",
    "generate",
)
ROUTES = ("faq", "flow", "smalltalk", "clarify", "decline", "handoff", "refuse", "answer")
ANSWER_PATHS = ("vllm", "transformers", "extractive")
HANDOFF_CODES = ("customer_request", "prompt_injection", "bot_error")


def _one_of(value: str, allowed: tuple[str, ...]) -> str:
    return value if value in allowed else "other"


def handoff_observe(reason: str) -> None:
    """A handoff: chat's and safety's reason codes as they are, the dialogue policy's worded
    reasons (free text) as ``dialogue``."""
    HANDOFFS.labels(reason=reason if reason in HANDOFF_CODES else "dialogue").inc()


def redactions_observe(source: str, counts: Mapping[str, int]) -> None:
    for entity, count in counts.items():
        REDACTIONS.labels(source=source, type=entity).inc(count)


def turn_observe(*, trace: Mapping[str, Any], customer_text: str, reply_text: str) -> None:
    """A stored bot turn, from the trace it is stored with (``apps.dialogue.services``): its
    route and outcome, each stage's latency, the first chunk, the answer's path and length, and
    the guard's reasons."""
    route = str((trace.get("route") or {}).get("name") or "")
    guard = trace.get("guard") or {}
    handler = trace.get("handler") or {}
    if guard.get("blocked"):
        outcome = "blocked"
    elif handler.get("unanswered"):
        outcome = "not_found"
    else:
        outcome = "replied"
    TURNS.labels(route=_one_of(route, ROUTES), outcome=outcome).inc()
    latency: Mapping[str, float] = trace.get("latency_ms") or {}
    for stage in TURN_STAGES:
        if stage in latency:
            TURN_STAGE_SECONDS.labels(stage=stage).observe(latency[stage] / 1000)
    if "first_chunk" in latency:
        TURN_FIRST_CHUNK_SECONDS.observe(latency["first_chunk"] / 1000)
    if "total" in latency:
        TURN_SECONDS.observe(latency["total"] / 1000)
    NLU_INPUT_CHARS.observe(len(customer_text))
    # The generator chain's path; a reply no generator wrote has its replier's class name there.
    path = str((trace.get("generator") or {}).get("engine") or "")
    if path in ANSWER_PATHS:
        ANSWERS.labels(path=path).inc()
        GENERATED_ANSWER_CHARS.labels(path=path).observe(len(reply_text))
    for reason in guard.get("reasons") or ():
        GUARD_BLOCKS.labels(reason=str(reason).split(":", 1)[0]).inc()


# --- the database: django-prometheus' metrics, without its database backends -------------------
# Its backends would replace DATABASES' ENGINE (and with it the psycopg pool setup in settings):
# the same counters are kept here by an execute wrapper on every connection instead.


def _database_execute(
    execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]
) -> Any:
    connection = context["connection"]
    labels = (connection.alias, connection.vendor)
    if many:
        database_metrics.execute_many_total.labels(*labels).inc()
    database_metrics.execute_total.labels(*labels).inc()
    started = time.perf_counter()
    try:
        return execute(sql, params, many, context)
    except Exception as exc:
        database_metrics.errors_total.labels(*labels, type(exc).__name__).inc()
        raise
    finally:
        database_metrics.query_duration_seconds.labels(*labels).observe(
            time.perf_counter() - started
        )


def _database_connected(sender: Any, connection: Any, **kwargs: Any) -> None:
    """A connection opened (on PostgreSQL: borrowed from the pool, once per request)."""
    database_metrics.connections_total.labels(connection.alias, connection.vendor).inc()
    if _database_execute not in connection.execute_wrappers:
        connection.execute_wrappers.append(_database_execute)


# Connected here rather than in an AppConfig: every process that counts imports this module.
connection_created.connect(_database_connected, dispatch_uid="cs_metrics_database")
